"""``make gpu-check`` on a machine without CUDA: it says so and exits 0, running nothing."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the script runs the whole check (make gpu-check)")
def test_gpu_check_skips_cleanly_without_cuda(tmp_path):
    result = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                            env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "gpu-check: skipped, no CUDA device" in result.stdout
    assert not (tmp_path / "out").exists()
