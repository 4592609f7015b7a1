"""W&B is offline by default, and setting that up loads neither Lightning nor W&B."""

import os
import subprocess
import sys
from pathlib import Path

from neuralsolvers.wandb_defaults import configure_wandb_defaults


def test_offline_unless_user_chose_a_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert configure_wandb_defaults() == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert configure_wandb_defaults() == "disabled"


def test_generate_starts_without_lightning():
    code = "import sys; from neuralsolvers.cli import main; main(['generate', '--list']); print('pytorch_lightning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_a_report_from_a_script_logs_offline(monkeypatch, tmp_path):
    """Benchmark scripts call ``Report.log_to_wandb`` without the CLI: still offline, no prompt."""
    from neuralsolvers.evaluate.report import Report

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    Report("a script's table", [{"method": "cg", "iterations": 3}], {"device": "cpu"}, {}).log_to_wandb(tmp_path)
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_wandb_files_default_under_runs_and_the_users_choice_wins(monkeypatch, tmp_path):
    """W&B's data (artifact staging) and cache folders are below ``runs/`` of the working directory,
    followed when the command runs from another directory; a folder the user set is kept."""
    for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR"):
        monkeypatch.setenv(name, "")  # recorded, so restored after the test
        monkeypatch.delenv(name)
    for folder in (tmp_path / "a", tmp_path / "b"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        configure_wandb_defaults()
        assert os.environ["WANDB_DATA_DIR"] == str(Path.cwd() / "runs/wandb-data")
        assert os.environ["WANDB_CACHE_DIR"] == str(Path.cwd() / "runs/wandb-cache")
    monkeypatch.setenv("WANDB_CACHE_DIR", "/scratch/wandb-cache")
    configure_wandb_defaults()
    assert os.environ["WANDB_CACHE_DIR"] == "/scratch/wandb-cache"
