"""DCDM, the learned preconditioner of obstacle Poisson systems, against classical preconditioners on
held-out systems.

Every method solves the same systems (the first ``num_systems`` of a ``poisson_obstacles`` dataset,
scenes never seen in training) to the same relative true residual; the table gives per method the
systems converged, the median and largest iteration count, median set-up and solve seconds (each the
median over ``repeats`` timed runs, after one warm-up solve), the largest final true residual and
the median peak memory beyond what was held before the method started (CUDA allocator peak, or the
process's resident set on the CPU). The figure draws the relative residual of the first system against
iteration and against time for every method.
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter

from neuralsolvers.data_gen.poisson import load_systems
from neuralsolvers.data_gen.store import progress
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_preconditioner, training_cost
from neuralsolvers.evaluate.figures import residual_figure
from neuralsolvers.evaluate.methods import converged_all, median_runs, summary_row
from neuralsolvers.evaluate.stencil_methods import (
    CLASSICAL,
    FIELD_NETWORKS,
    PCG,
    StencilSystem,
    method,
)

__all__ = ["DCDMEvaluation"]

CHOICES = (*(classical.name for classical in CLASSICAL), *FIELD_NETWORKS)  # nmg: NeuralMultigridEvaluation


class DCDMEvaluation(Evaluation):
    """CG, Jacobi-, IC(0)-, AMG- and GMG-PCG and PyAMG against DCDM and FCG + network on held-out systems.

    Args:
        systems: directory of a ``poisson_obstacles`` dataset split (held-out scenes).
        checkpoint: a DCDM network checkpoint (``neuralsolvers fit --config
            configs/dcdm_poisson2d.yaml``); without one only the classical methods run.
        num_systems: systems solved (the first ones).
        methods: any of ``cg``, ``jacobi``, ``ic0``, ``amg``, ``gmg``, ``bbmg`` (Black Box Multigrid),
            ``pyamg`` (smoothed aggregation),
            ``pyamg_rs`` (Ruge–Stüben), ``direct`` (SuperLU), ``dcdm``, ``fcg``; default all.
        rtol: relative true residual every solve must reach.
        maxiter: iteration cap of the classical methods.
        network_maxiter: iteration cap (network calls) of the learned methods.
        keep: directions kept by FCG.
        repeats: timed solves per system and method (the median is reported), after one warm-up.
        device: ``cpu``, ``cuda`` or ``auto``.
        fallback: finish a failed learned solve (NaN, no progress, not converged) with this classical
            PCG (``cg``, ``jacobi``, ``ic0``, ``amg``, ``gmg``, ``bbmg``) from its last iterate; the table counts
            the systems that fell back. None: a failed learned solve is reported as failed.
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
        self.methods = list(CHOICES) if methods is None else list(methods)
        unknown = [name for name in self.methods if name not in CHOICES]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; choose from {list(CHOICES)} (the neural multigrid: NeuralMultigridEvaluation)")
        if checkpoint is None and any(name in FIELD_NETWORKS for name in self.methods):
            raise ValueError(f"methods {[name for name in self.methods if name in FIELD_NETWORKS]} need a checkpoint")
        if num_systems < 1 or repeats < 1 or not 0 < rtol < 1:
            raise ValueError("num_systems and repeats must be positive and rtol in (0, 1)")
        if fallback is not None and fallback not in (pcg.name for pcg in PCG):
            raise ValueError(f"fallback must be one of {[pcg.name for pcg in PCG]} or null, got {fallback!r}")
        self.fallback = fallback
        self.systems, self.checkpoint, self.num_systems = systems, checkpoint, num_systems
        self.rtol, self.maxiter, self.network_maxiter = rtol, maxiter, network_maxiter
        self.keep, self.repeats = keep, repeats
        self.device = resolve_device(device)

    def evaluate(self) -> Outcome:
        loaded = load_systems(self.systems, self.num_systems, self.device)
        systems = [StencilSystem(system.operator, system.b, system.mask, self.rtol, self.maxiter) for system in loaded]
        network, clock = (None, None) if self.checkpoint is None else trained_preconditioner(self.checkpoint, self.device)
        methods = [method(name, network, network_maxiter=self.network_maxiter, keep=self.keep, fallback=self.fallback) for name in self.methods]
        rows, first = [], {}
        for chosen in progress(methods, len(methods), "methods"):
            runs = median_runs([partial(chosen.run, system) for system in systems], self.repeats)  # after a warm-up solve
            first[chosen.label] = runs[0]
            fell_back = f"{sum(run.fallback for run in runs)}/{len(runs)}" if chosen.learned and self.fallback else "–"
            rows.append({"method": chosen.label, **summary_row(runs), "fell_back": fell_back})
        # training device-hours and the solves after which training pays against the fastest classical method
        fastest = min((row["total_s"] for row, chosen in zip(rows, methods, strict=True) if not chosen.learned), default=None)
        for row, chosen in zip(rows, methods, strict=True):
            row.update(training_cost(clock if chosen.learned else None, row["total_s"], fastest))
        grid = "×".join(map(str, loaded[0].mask.shape))
        config = {
            "systems": self.systems, "checkpoint": self.checkpoint, "num_systems": len(loaded),
            "grid": tuple(loaded[0].mask.shape), "rtol": self.rtol, "repeats": self.repeats, "fallback": self.fallback,
            "training_time": clock,
        }  # fmt: skip
        figures = {"residuals": residual_figure(first, self.rtol, grid)}
        title = f"Preconditioners on {len(loaded)} held-out {grid} obstacle systems (rtol {self.rtol:g})"
        learned = {chosen.label for chosen in methods if chosen.learned}
        comparison = compare(rows, itemgetter("total_s"), lambda row: row["method"] in learned, valid=converged_all,
                             where=f"{len(loaded)} held-out {grid} obstacle systems (set-up included)", iterations=itemgetter("iterations"))  # fmt: skip
        verdict = verdict_text(comparison, where="")  # the title names the systems
        return Outcome(title, rows, self.device, config, figures, verdict, [comparison])
