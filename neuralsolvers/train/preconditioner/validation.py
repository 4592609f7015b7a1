"""What the modules of learned preconditioners that are validated by solving share: the mean CG
iterations of the learned and of the classical preconditioner on the validation systems (``data.val``
at the training size, ``data.large`` at a larger one) and the figure of their residual histories."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from neuralsolvers.solvers.krylov.conjugate_gradient import SolverResult

__all__ = ["SOLVE_SPLITS", "ValidationSolves"]

SOLVE_SPLITS = (("val", ""), ("large", "_large"))  # the validation splits solved, and their metrics' suffix


class ValidationSolves:
    """Mixin of a LightningModule whose ``solve(split, index, method=<learned>)`` solves system
    ``index`` of the data module's split (``splits[split]``) with the learned preconditioner, or with
    the classical one for ``method=classical_method``.

    ``_log_solves(prefix)`` logs ``<prefix>/iterations[_large]`` (learned) and
    ``<prefix>/<classical_metric>[_large]`` (classical, solved once per system and cached in
    ``_classical``), the means over each split; ``_residual_figure`` draws the relative residual
    against the iteration on the first system of each split.
    """

    classical_method: str  # the ``method`` of ``solve`` that gives the classical preconditioner
    classical_metric: str  # the name of its iteration metric
    _classical: dict[tuple[str, int], int]
    trainer: Any
    hparams: Any
    log: Callable[..., None]
    solve: Callable[..., SolverResult]

    def _log_solves(self, prefix: str) -> None:
        """Mean CG iterations of the learned and the classical preconditioner on the validation systems (``data.val``, ``data.large``)."""
        if self.trainer.sanity_checking:
            return
        splits = self.trainer.datamodule.splits
        for split, suffix in SOLVE_SPLITS:
            if split not in splits:
                continue
            learned, classical = [], []
            for index in range(len(splits[split])):
                learned.append(self.solve(split, index).iterations)
                key = (split, index)
                if key not in self._classical:
                    self._classical[key] = self.solve(split, index, self.classical_method).iterations
                classical.append(self._classical[key])
            self.log(f"{prefix}/iterations{suffix}", sum(learned) / len(learned), prog_bar=suffix == "", sync_dist=True)
            self.log(f"{prefix}/{self.classical_metric}{suffix}", sum(classical) / len(classical), sync_dist=True)

    def _residual_figure(self, size: Callable[[str], str], methods: Sequence[tuple[str, str, str]], title: str) -> Figure:
        """Relative true residual against iteration on system 0 of ``val`` and ``large``: a colour per
        split (labelled ``size(split)``), a line per ``(method, style, label)`` of ``methods``."""
        splits = self.trainer.datamodule.splits
        figure, axis = plt.subplots(figsize=(6, 4))
        for colour, name in enumerate(name for name, _ in SOLVE_SPLITS if name in splits):
            for method, style, label in methods:
                history = self.solve(name, 0, method).residuals.cpu().numpy()
                axis.semilogy(history, style, color=f"C{colour}", label=f"{size(name)}: {label}-PCG")
        axis.axhline(self.hparams.val_rtol, color="k", lw=0.5)
        axis.set_xlabel("iteration")
        axis.set_ylabel("relative residual ‖b − Ax‖ / ‖b‖")
        axis.set_title(title)
        axis.legend(fontsize=8)
        figure.tight_layout()
        return figure
