"""Importing the solvers loads neither SymPy nor Lightning nor W&B (checked in a fresh interpreter)."""

import subprocess
import sys


def test_solvers_import_without_sympy_or_lightning():
    code = "import sys, neuralsolvers.solvers; print(sorted(m for m in ('sympy', 'pytorch_lightning', 'wandb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
