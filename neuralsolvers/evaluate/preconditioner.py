"""Learned preconditioners against classical ones on held-out obstacle Poisson systems.

Every method solves the same systems (the first ``num_systems`` of a ``poisson_obstacles`` dataset,
scenes never seen in training) to the same relative true residual; the table gives per method the
systems converged, the median and largest iteration count, median set-up and solve seconds (each the
median over ``repeats`` timed runs, after one warm-up solve), the largest final true residual and
the median peak memory beyond what was held before the method started (CUDA allocator peak, or the
process's resident set on the CPU). The figure draws the relative residual of the first system against
iteration and against time for every method.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import median
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from neuralsolvers.checkpoints import break_even_cell, device_hours, load, training_time
from neuralsolvers.data_gen.poisson import PoissonSystem, load_systems
from neuralsolvers.data_gen.store import progress
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.report import compare, verdict_text
from neuralsolvers.evaluate.solver_runs import (
    FALLBACKS,
    FIELD_NETWORKS,
    LABELS,
    LEARNED,
    METHODS,
    SolveRun,
    median_runs,
    solve_system,
)

__all__ = ["PreconditionerEvaluation", "converged_all", "residual_figure"]


def converged_all(row: dict[str, Any]) -> bool:
    """Whether a row's ``converged`` cell (``"k/n"``) counts every system."""
    done, total = row["converged"].split("/")
    return done == total


class PreconditionerEvaluation(Evaluation):
    """CG, Jacobi-, IC(0)- and AMG-PCG against DCDM and FCG + network on held-out systems.

    Args:
        systems: directory of a ``poisson_obstacles`` dataset split (held-out scenes).
        checkpoint: a DCDM network checkpoint (``neuralsolvers fit --config
            configs/dcdm_poisson2d.yaml``); without one only the classical methods run.
        num_systems: systems solved (the first ones of the split).
        methods: any of ``cg``, ``jacobi``, ``ic0``, ``amg``, ``pyamg``, ``dcdm``, ``fcg``.
        rtol: relative true residual every solve must reach.
        maxiter: iteration cap of the classical methods.
        network_maxiter: iteration cap (network calls) of the learned methods.
        keep: directions kept by FCG.
        repeats: timed solves per system and method (the median is reported), after one warm-up.
        device: ``cpu``, ``cuda`` or ``auto``.
        fallback: finish a failed learned solve (NaN, no progress, not converged) with this classical
            PCG (``cg``, ``jacobi``, ``ic0``, ``amg``) from its last iterate; the table counts the
            systems that fell back. None: a failed learned solve is reported as failed.
    """

    component = "DCDM"

    def __init__(
        self,
        systems: str,
        checkpoint: str | None = None,
        num_systems: int = 8,
        methods: list[str] | None = None,
        rtol: float = 1e-6,
        maxiter: int = 10_000,
        network_maxiter: int = 500,
        keep: int = 2,
        repeats: int = 1,
        device: str = "auto",
        fallback: str | None = None,
    ):
        choices = [m for m in METHODS if m not in LEARNED or m in FIELD_NETWORKS]  # nmg: NeuralMultigridEvaluation
        self.methods = choices if methods is None else list(methods)
        unknown = [m for m in self.methods if m not in choices]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; choose from {choices} (the neural multigrid: NeuralMultigridEvaluation)")
        if checkpoint is None and any(m in LEARNED for m in self.methods):
            raise ValueError(f"methods {[m for m in self.methods if m in LEARNED]} need a checkpoint")
        if num_systems < 1 or repeats < 1 or not 0 < rtol < 1:
            raise ValueError("num_systems and repeats must be positive and rtol in (0, 1)")
        if fallback is not None and fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {list(FALLBACKS)} or null, got {fallback!r}")
        self.fallback = fallback
        self.systems, self.checkpoint, self.num_systems = systems, checkpoint, num_systems
        self.rtol, self.maxiter, self.network_maxiter = rtol, maxiter, network_maxiter
        self.keep, self.repeats = keep, repeats
        self.device = resolve_device(device)

    def _runs(self, method: str, network: torch.nn.Module | None) -> list[SolveRun]:
        """One run per system: the median-time one of ``repeats`` after a warm-up solve."""
        def solver(system: PoissonSystem) -> Callable[[], SolveRun]:
            return lambda: solve_system(method, system.operator, system.b, system.mask, network, rtol=self.rtol, maxiter=self.maxiter,
                                        network_maxiter=self.network_maxiter, keep=self.keep, fallback=self.fallback)  # fmt: skip

        return median_runs([solver(system) for system in self.loaded], self.repeats)

    def _training_cost(self, rows: list[dict], clock: dict | None) -> None:
        """Training device-hours of the checkpoint's run and, per learned row, the solves after which
        it pays for itself against the fastest classical method (set-up and solve counted)."""
        classical = [row["total_s"] for row, method in zip(rows, self.methods, strict=True) if method not in LEARNED]
        for row, method in zip(rows, self.methods, strict=True):
            learned = method in LEARNED and clock is not None
            row["training_device_h"] = device_hours(clock) if learned else None
            row["break_even_solves"] = break_even_cell(clock, row["total_s"], min(classical, default=None)) if learned else None

    def evaluate(self) -> Outcome:
        self.loaded = load_systems(self.systems, self.num_systems, self.device)
        network = None if self.checkpoint is None else load(self.checkpoint, map_location=self.device).eval()
        rows, first = [], {}
        for method in progress(self.methods, len(self.methods), "methods"):
            runs = self._runs(method, network)
            first[runs[0].label] = runs[0]
            rows.append(
                {
                    "method": runs[0].label,
                    "converged": f"{sum(run.converged for run in runs)}/{len(runs)}",
                    "iterations": median(run.iterations for run in runs),
                    "max_iterations": max(run.iterations for run in runs),
                    "setup_s": median(run.setup_s for run in runs),
                    "solve_s": median(run.solve_s for run in runs),
                    "total_s": median(run.setup_s + run.solve_s for run in runs),
                    "max_true_residual": max(run.true_residual for run in runs),
                    "peak_MiB": median(run.peak_bytes for run in runs) / 2**20,
                    "fell_back": f"{sum(run.fallback for run in runs)}/{len(runs)}" if method in LEARNED and self.fallback else "–",
                }
            )
        clock = training_time(self.checkpoint) if self.checkpoint is not None else None
        self._training_cost(rows, clock)
        grid = tuple(self.loaded[0].mask.shape)
        config = {
            "systems": self.systems, "checkpoint": self.checkpoint, "num_systems": len(self.loaded),
            "grid": grid, "rtol": self.rtol, "repeats": self.repeats, "fallback": self.fallback,
            "training_time": clock,
        }
        figures = {"residuals": residual_figure(first, self.rtol, "×".join(map(str, grid)))}
        title = f"Preconditioners on {len(self.loaded)} held-out {'×'.join(map(str, grid))} obstacle systems (rtol {self.rtol:g})"
        learned = {LABELS[method] for method in LEARNED}
        comparison = compare(rows, lambda row: row["total_s"], lambda row: row["method"] in learned, valid=converged_all,
                             where=f"{len(self.loaded)} held-out {'×'.join(map(str, grid))} obstacle systems (set-up included)", iterations=lambda row: row["iterations"])  # fmt: skip
        verdict = verdict_text(comparison, where="")  # the title names the systems
        return Outcome(title, rows, self.device, config, figures, verdict, [comparison])


def residual_figure(runs: dict[str, SolveRun], rtol: float, grid: str) -> Figure:
    """Relative residual against iteration and against solve time (iterations spread evenly over
    the measured solve time), one line per method."""
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
