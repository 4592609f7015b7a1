"""The evaluation template: every task computes an `Outcome`; `Evaluation.run` turns it into a
report (``results.md``, ``results.json``, figures, a W&B run), the same way for all.

An evaluation implements `Evaluation.evaluate` only: run the methods, return the table, the figures,
the verdict line and the headline (`Comparison`s: the best learned method against the best classical
one on the same systems, which ``neuralsolvers evaluate --summary`` gathers into the headline of
BENCHMARKS.md). Nothing here imports torch or matplotlib: ``neuralsolvers evaluate --help`` stays fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.comparison import Comparison

if TYPE_CHECKING:  # torch and the report (matplotlib) load when an evaluation runs, not for `evaluate --help`
    import numpy as np
    import torch
    from matplotlib.figure import Figure

    from neuralsolvers.evaluate.report import Report

__all__ = ["Evaluation", "Outcome", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto``: CUDA when there is one, else the CPU; anything else as given (``cpu``, ``cuda``, ``cuda:1``)
    and checked by `normal_device`: a name torch does not know, or a device the machine lacks, is a ``ConfigError``."""
    import torch

    from neuralsolvers.solvers.operators import normal_device

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:<index> or mps, got {device!r}") from None
    return normal_device(device)


@dataclass
class Outcome:
    """What `Evaluation.evaluate` returns; `Evaluation.run` writes it.

    Args:
        title: the report's heading. rows: the table (dicts with equal keys).
        device: where the methods ran (named in the report with the versions).
        config: the settings recorded with the results. figures: name → figure (``<name>.png``).
        verdict: the line(s) closing the printed report. headline: the comparisons of the headline.
        arrays: name → arrays, written as ``<name>.npz`` (e.g. a cost table).
        threads: the torch CPU threads the timings ran with, where the evaluation set its own.
    """

    title: str
    rows: list[dict[str, Any]]
    device: str | torch.device
    config: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    verdict: str | None = None
    headline: list[Comparison] = field(default_factory=list)
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    threads: int | None = None


class Evaluation(ABC):
    """One evaluation task of ``neuralsolvers evaluate`` (given by ``task.class_path`` in a config).

    A subclass implements `evaluate` and names its ``component``: the learned component whose
    headline table in BENCHMARKS.md its comparisons join.
    """

    component: ClassVar[str] = ""

    @abstractmethod
    def evaluate(self) -> Outcome:
        """Run the methods on the held-out data; the table, figures, verdict and headline."""

    def run(self, out: str | Path, use_wandb: bool = True, command: str | None = None) -> Report:
        """Evaluate, then write ``results.md``, ``results.json`` and the figures under ``out`` and,
        with ``use_wandb``, log them to a W&B run. ``command``: the command line that ran it
        (recorded in the report; None when run from Python)."""
        import numpy as np

        from neuralsolvers.evaluate.report import Report, environment, load_average

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        loads = [load_average()]  # how busy the machine was: at the start and the end of the run
        outcome = self.evaluate()
        loads.append(load_average())
        load = max(loads) if None not in loads else None
        report = Report(outcome.title, outcome.rows, environment(outcome.device, threads=outcome.threads, load=load), outcome.config,
                        outcome.figures, outcome.verdict, component=self.component or None, headline=outcome.headline,
                        command=command)  # fmt: skip
        report.write(out)
        for name, arrays in outcome.arrays.items():
            np.savez_compressed(out / f"{name}.npz", **arrays)
        if use_wandb:
            report.log_to_wandb(out)
        return report
