"""The evaluation template: every task computes an :class:`Outcome`; :meth:`Evaluation.run` turns it
into a report (``results.md``, ``results.json``, figures, a W&B run), the same way for all.

An evaluation implements :meth:`Evaluation.evaluate` only: run the methods, return the table, the
figures, the verdict line and the headline (:class:`Comparison`: the best learned method against the
best classical one on the same systems, which ``neuralsolvers evaluate --summary`` gathers into the
headline of BENCHMARKS.md). Nothing here imports torch or matplotlib: ``neuralsolvers evaluate
--help`` stays fast.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from neuralsolvers.errors import ConfigError

if TYPE_CHECKING:  # torch and the report (matplotlib) load when an evaluation runs, not for `evaluate --help`
    import numpy as np
    import torch
    from matplotlib.figure import Figure

    from neuralsolvers.evaluate.report import Report

__all__ = ["Comparison", "Evaluation", "Outcome", "resolve_device"]


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


def _load_average() -> float | None:
    """The 1-minute load average of the machine (None where the OS does not give one)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


@dataclass
class Comparison:
    """One line of the headline: on the systems ``where``, the best learned method against the best
    classical one (each: name, seconds, iterations), and the fastest of all.

    ``metric`` names a quality measure where speed is not the whole story (``PSNR [dB]``, ``rel. L2
    error``), with the learned and the classical method's values; ``note`` is a further generated
    fact (e.g. ``no learned method met the tolerance``). The ratios are learned over classical:
    below 1 the learned method is faster (needs fewer iterations).
    """

    where: str
    learned: str | None = None
    learned_s: float | None = None
    classical: str | None = None
    classical_s: float | None = None
    fastest: str | None = None
    fastest_s: float | None = None
    learned_iterations: float | None = None
    classical_iterations: float | None = None
    metric: str | None = None
    learned_metric: float | None = None
    classical_metric: float | None = None
    note: str | None = None

    @property
    def time_ratio(self) -> float | None:
        """Learned seconds over classical seconds (None where either is missing)."""
        return _ratio(self.learned_s, self.classical_s)

    @property
    def iteration_ratio(self) -> float | None:
        """Learned iterations over classical iterations (None where either is missing or zero)."""
        return _ratio(self.learned_iterations, self.classical_iterations)

    def as_dict(self) -> dict[str, Any]:
        """The fields and both ratios, for ``results.json``."""
        return {**asdict(self), "time_ratio": self.time_ratio, "iteration_ratio": self.iteration_ratio}


@dataclass
class Outcome:
    """What :meth:`Evaluation.evaluate` returns; :meth:`Evaluation.run` writes it.

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

    A subclass implements :meth:`evaluate` and names its ``component``: the learned component whose
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

        from neuralsolvers.evaluate.report import Report, environment

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        loads = [_load_average()]  # how busy the machine was: at the start and the end of the run
        outcome = self.evaluate()
        loads.append(_load_average())
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
