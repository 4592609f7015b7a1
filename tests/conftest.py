"""Test defaults: no W&B network, no progress bars, small thread counts."""

import os

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ["NEURALSOLVERS_NO_PROGRESS"] = "1"
torch.set_num_threads(min(2, torch.get_num_threads()))


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
