"""The evaluation interface: a task runs, then reports a table, a JSON record and figures."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import torch

from neuralsolvers.evaluate.report import Report

__all__ = ["Evaluation", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto``: CUDA when there is one, else the CPU; anything else as given (``cpu``, ``cuda``, ``cuda:1``)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Evaluation(ABC):
    """One evaluation task of ``neuralsolvers evaluate`` (given by ``task.class_path`` in a config)."""

    @abstractmethod
    def run(self, out: str | Path, use_wandb: bool = True) -> Report:
        """Run the task, write ``results.md``, ``results.json`` and figures under ``out``."""
