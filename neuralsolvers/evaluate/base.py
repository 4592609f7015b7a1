"""The evaluation interface: a task runs, then reports a table, a JSON record and figures."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from neuralsolvers.errors import ConfigError

if TYPE_CHECKING:  # torch and the report (matplotlib) load when an evaluation runs, not for `evaluate --help`
    import torch

    from neuralsolvers.evaluate.report import Report

__all__ = ["Evaluation", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto``: CUDA when there is one, else the CPU; anything else as given (``cpu``, ``cuda``, ``cuda:1``).
    A name torch does not know, or CUDA on a machine without it, is a ``ConfigError``."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device must be cpu, cuda, cuda:<index> or auto, got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but this machine has no CUDA device (use cpu or auto)")
    return resolved


class Evaluation(ABC):
    """One evaluation task of ``neuralsolvers evaluate`` (given by ``task.class_path`` in a config)."""

    @abstractmethod
    def run(self, out: str | Path, use_wandb: bool = True) -> Report:
        """Run the task, write ``results.md``, ``results.json`` and figures under ``out``."""
