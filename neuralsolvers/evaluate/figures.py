"""The figure the solver evaluations share: relative residual against iteration and against time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from neuralsolvers.evaluate.methods import SolveRun

__all__ = ["residual_figure"]


def residual_figure(runs: dict[str, SolveRun], rtol: float, grid: str) -> Figure:
    """Relative residual against iteration and against solve time (iterations spread evenly over
    the measured solve time), one line per method (label → run)."""
    figure, (by_iteration, by_time) = plt.subplots(1, 2, figsize=(11, 4))
    for label, run in runs.items():
        steps = np.arange(len(run.residuals))
        by_iteration.semilogy(steps, run.residuals, label=f"{label} ({run.iterations})")
        by_time.semilogy(steps * run.solve_s / max(1, len(steps) - 1), run.residuals, label=label)
    for axis, name in ((by_iteration, "iteration"), (by_time, "solve time [s]")):
        axis.axhline(rtol, color="k", lw=0.5)
        axis.set_xlabel(name)
        axis.set_ylabel("‖b − Ax‖ / ‖b‖")
    by_time.set_xscale("symlog", linthresh=1e-3)
    by_iteration.set_xscale("symlog", linthresh=10)
    by_time.set_xlim(left=0)
    by_iteration.set_xlim(left=0)
    by_iteration.legend(fontsize=7)
    figure.suptitle(f"first held-out system, {grid}")
    figure.tight_layout()
    return figure
