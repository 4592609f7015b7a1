"""The evaluation interface: a task runs, then reports a table, a JSON record and figures."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from neuralsolvers.evaluate.report import Report

__all__ = ["Evaluation"]


class Evaluation(ABC):
    """One evaluation task of ``neuralsolvers evaluate`` (given by ``task.class_path`` in a config)."""

    @abstractmethod
    def run(self, out: str | Path, use_wandb: bool = True) -> Report:
        """Run the task, write ``results.md``, ``results.json`` and figures under ``out``."""
