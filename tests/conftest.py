"""Test defaults: no W&B network, no progress bars, one thread per process.

One thread for torch (OpenMP) and for the OpenBLAS/MKL of NumPy and SciPy, set before any of them
loads and inherited by every subprocess the tests start: the tests' tensors and matrices are small,
and on a 2-core machine shared with other jobs idle threads spinning against each other made single
steps 20–40× slower (measured: an MgNO training step 1.8 s of CPU with two threads, 0.05 s with one).
Set ``OMP_NUM_THREADS`` (and the others) yourself to override.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402  (after the thread settings, which must precede NumPy's and torch's import)
import torch  # noqa: E402

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ["NEURALSOLVERS_NO_PROGRESS"] = "1"
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_wandb():
    """W&B keeps process-wide settings (e.g. the mode) after its first run: reset them per test."""
    import wandb

    wandb.teardown()
    yield
    wandb.teardown()
