"""Learned preconditioners of sparse SPD matrices against the classical ones, on finite-element systems.

Each ``fe_diffusion`` or ``fe_elasticity`` dataset split (unstructured P1/P2 meshes; for elasticity
the stored rigid-body modes are smoothed aggregation's ``B``) or ``pyamg_examples`` split (PyAMG's
own SPD example matrices) is solved to every relative true residual of ``rtol`` by every method of
`neuralsolvers.evaluate.matrix_methods`: plain CG with the
learned AMG's V-cycle (``learned_amg``) and the learned incomplete Cholesky factor (``learned_ic``),
each from its checkpoint; the learned AMG's classical start (``l1amg``: PyAMG's hierarchy with
ℓ1-Jacobi, what learning started from); Jacobi-, IC(0)-, AMG-PCG (torch V-cycle; PyAMG's smoothed
aggregation and Ruge–Stüben), CG and SuperLU. Per split, tolerance and method the table gives the
systems converged, median and largest iterations, median set-up (the network's pass included),
solve and total seconds (each system's median over ``repeats`` timed runs after one warm-up), the
largest true residual, the median peak memory, the iterations as a ratio to PyAMG's smoothed
aggregation and Ruge–Stüben on the same systems, the total time as a ratio to the fastest classical
method, the training device-hours and the break-even. One verdict line per split and tolerance
naming the fastest method; figures: iterations against unknowns per method and the residual
histories of the first system, both at the tightest tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neuralsolvers.data_gen.fe_elasticity import FiniteElementElasticity, load_elasticity
from neuralsolvers.data_gen.finite_elements import load_systems
from neuralsolvers.data_gen.pyamg_examples import PyAMGExamples, load_pyamg_examples
from neuralsolvers.data_gen.store import ShardedDataset, progress
from neuralsolvers.errors import CheckpointError, ConfigError
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_preconditioner, training_cost
from neuralsolvers.evaluate.figures import residual_figure
from neuralsolvers.evaluate.matrix_methods import (
    CHECKPOINT_OF,
    CYCLE_PRECISION,
    MATRIX_LEARNED,
    NAMES,
    matrix_system,
    method,
)
from neuralsolvers.evaluate.methods import Method, SolveRun, converged_all, median_runs, summary_row
from neuralsolvers.evaluate.stencil_methods import StencilSystem

__all__ = ["FiniteElementEvaluation", "load_fe_systems", "size_figure"]

# the classical references of the iteration ratios: column → method
REFERENCES = {"iterations_vs_pyamg_sa": "pyamg", "iterations_vs_pyamg_rs": "pyamg_rs"}
BREAKDOWNS = (ValueError, ArithmeticError, np.linalg.LinAlgError)  # what a method that breaks down raises (IC(0)'s pivot, NaN in a coarse solve)
# one stored system: A (SciPy CSR), b (n,) float64, the near null space (n, k) or None
FESystem = tuple[Any, np.ndarray, np.ndarray | None]


def load_fe_systems(directory: str | Path, count: int) -> list[FESystem]:
    """The first ``count`` systems of a ``fe_diffusion``, ``fe_elasticity`` or ``pyamg_examples`` split
    as ``(A, b, B)``: ``B`` the stored rigid-body modes (elasticity; PyAMG's ``bar`` where stored),
    None for diffusion (the constants)."""
    made_by = ShardedDataset(directory).metadata["generator"]
    if made_by == FiniteElementElasticity.name:
        return [(system.matrix, system.b, system.modes) for system in load_elasticity(directory, count)]
    if made_by == PyAMGExamples.name:
        return load_pyamg_examples(directory, count)
    return [(A, b, None) for A, b in load_systems(directory, count, generator="fe_diffusion")]


class FiniteElementEvaluation(Evaluation):
    """Learned AMG- and learned IC-PCG against classical preconditioners on finite-element systems.

    Args:
        systems: directories of ``fe_diffusion``, ``fe_elasticity`` or ``pyamg_examples`` dataset
            splits (e.g. the held-out test split of ``configs/data/fe_diffusion_2d_heldout.yaml``).
        checkpoints: ``{learned method: checkpoint}``: ``learned_amg`` (a ``LearnedAMG``, ``neuralsolvers fit
            --config configs/learned_amg_fe2d.yaml``; also needed by ``l1amg``, its classical start) and
            ``learned_ic`` (a ``LearnedIncompleteCholesky``); each optional, each read once.
        num_systems: systems solved per split (the first ones).
        methods: any of ``cg``, ``jacobi``, ``ic0``, ``amg`` (torch V-cycle), ``pyamg`` (smoothed
            aggregation), ``pyamg_rs`` (Ruge–Stüben), ``direct`` (SuperLU), ``l1amg``, ``learned_amg``, ``learned_ic``.
        rtol: relative true residual(s) every solve must reach (one block of rows each; default 1e-6 and 1e-8).
        maxiter: iteration cap of the PCG methods (PyAMG's included).
        repeats: timed runs per system and method (median reported), after one warm-up per block.
        precision: of the AMG cycles (``learned_amg``, ``l1amg``) inside the float64 CG: ``float32``
            (the default) or None (float64).
        device: ``cpu``, ``cuda`` or ``auto``.
        skip: ``{method: unknowns}``: leave ``method`` out of a split whose largest system has more
            unknowns (e.g. ``direct: 400000`` in 3D, where SuperLU's fill takes minutes and gigabytes).
    """

    component = "Learned AMG (finite elements)"

    def __init__(
        self,
        systems: list[str],
        checkpoints: dict[str, str] | None = None,
        num_systems: int = 4,
        methods: list[str] | None = None,
        rtol: float | list[float] | None = None,
        maxiter: int = 5000,
        repeats: int = 1,
        precision: str | None = CYCLE_PRECISION,
        device: str = "auto",
        skip: dict[str, int] | None = None,
    ):
        self.methods = ["jacobi", "ic0", "pyamg", "pyamg_rs", "direct"] if methods is None else list(methods)
        self.checkpoints = dict(checkpoints or {})
        rtol = [1e-6, 1e-8] if rtol is None else [rtol] if isinstance(rtol, int | float) else rtol
        self.rtols = [float(value) for value in rtol]
        unknown = [name for name in self.methods if name not in NAMES]
        if unknown or not systems or not self.methods:
            raise ConfigError(f"need systems directories and methods from {list(NAMES)}; unknown methods {unknown}")
        foreign = [name for name in self.checkpoints if name not in MATRIX_LEARNED]
        if foreign:
            raise ConfigError(f"checkpoints are given per learned method, {list(MATRIX_LEARNED)}; got {foreign}")
        missing = [name for name in self.methods if name in CHECKPOINT_OF and CHECKPOINT_OF[name] not in self.checkpoints]
        if missing:
            raise ConfigError(f"methods {missing} need checkpoints: {sorted({CHECKPOINT_OF[name] for name in missing})}")
        if num_systems < 1 or repeats < 1 or maxiter < 1 or not self.rtols or not all(0 < value < 1 for value in self.rtols):
            raise ConfigError(f"need num_systems, repeats, maxiter ≥ 1 and every 0 < rtol < 1; got {num_systems}, {repeats}, {maxiter}, {self.rtols}")
        if precision not in (None, "float32", "float64"):
            raise ConfigError(f"precision must be float32, float64 or None, got {precision!r}")
        self.systems, self.num_systems, self.maxiter, self.repeats = list(systems), num_systems, maxiter, repeats
        self.precision, self.device = precision, resolve_device(device)
        self.skip = dict(skip or {})
        if any(name not in self.methods for name in self.skip) or any(int(limit) < 1 for limit in self.skip.values()):
            raise ConfigError(f"skip takes {{method: unknowns}} of the chosen methods {self.methods}, limits ≥ 1; got {self.skip}")

    def _methods(self) -> list[tuple[Method, dict | None]]:
        """``(method, training clock)`` per row, in the order of ``methods``; each checkpoint read once."""
        read = {name: trained_preconditioner(path, self.device) for name, path in self.checkpoints.items()
                if any(CHECKPOINT_OF.get(chosen) == name for chosen in self.methods)}  # fmt: skip
        entries = []
        for name in self.methods:
            learned, clock = read.get(CHECKPOINT_OF.get(name), (None, None))
            chosen = method(name, learned, precision=self.precision)
            entries.append((chosen, clock if chosen.learned else None))
        return entries

    def _runs(self, chosen: Method, systems: list[StencilSystem]) -> tuple[list[SolveRun], dict[int, str]]:
        """One run per system: the median-time one of ``repeats`` after a warm-up solve; a method that
        breaks down on a system (IC(0)'s pivot, NaN in PyAMG's coarse solve) gives a failed run there
        and its message (by system), and the evaluation goes on."""
        breakdowns: dict[int, str] = {}

        def solver(index: int, system: StencilSystem) -> Callable[[], SolveRun]:
            def once() -> SolveRun:
                try:
                    return chosen.run(system)
                except BREAKDOWNS as error:
                    if isinstance(error, ConfigError | CheckpointError):  # the set-up's own mistakes stay errors
                        raise
                    breakdowns[index] = f"{type(error).__name__}: {error}"
                    return SolveRun(chosen.label, 0, False, math.nan, math.nan, np.array([math.nan]), math.nan, 0)

            return once

        return median_runs([solver(index, system) for index, system in enumerate(systems)], self.repeats), breakdowns

    def evaluate(self) -> Outcome:
        entries = self._methods()
        learned = {chosen.label for chosen, _ in entries if chosen.learned}
        rows, headline, verdicts, points, first = [], [], [], {}, {}
        for directory in self.systems:
            loaded = load_fe_systems(directory, self.num_systems)
            dataset = "/".join(Path(directory).parts[-2:])
            sizes = [A.shape[0] for A, _, _ in loaded]
            unknowns = f"{min(sizes):,}" if min(sizes) == max(sizes) else f"{min(sizes):,}–{max(sizes):,}"
            here = [(chosen, clock) for chosen, clock in entries if max(sizes) <= self.skip.get(chosen.name, math.inf)]
            for rtol in self.rtols:
                systems = [matrix_system(A, b, rtol, self.maxiter, B, self.device) for A, b, B in loaded]
                block, histories, iterations = [], {}, []
                for chosen, _ in progress(here, len(here), f"{dataset} to {rtol:g}: methods"):
                    runs, breakdowns = self._runs(chosen, systems)
                    histories[chosen.label] = runs[0]
                    iterations.append(None if breakdowns else [run.iterations for run in runs])
                    if rtol == min(self.rtols) and not breakdowns:
                        points.setdefault(chosen.label, []).extend(zip(sizes, iterations[-1], strict=True))
                    block.append({"dataset": dataset, "unknowns": unknowns, "rtol": f"{rtol:g}", "method": chosen.label, **summary_row(runs),
                                  "breakdown": "; ".join(f"system {index}: {text}" for index, text in sorted(breakdowns.items())) or "–"})  # fmt: skip
                self._ratios_and_cost(block, here, iterations, learned)
                rows += block
                if rtol == min(self.rtols):
                    first = {"runs": histories, "where": f"{dataset}, {sizes[0]:,} unknowns"}
                scope = f"on {dataset} ({unknowns} unknowns) to {rtol:g} (set-up included)"
                headline.append(compare(block, itemgetter("total_s"), lambda row: row["method"] in learned, valid=converged_all,
                                        where=f"finite-element systems {scope}", iterations=itemgetter("iterations")))  # fmt: skip
                verdicts.append(verdict_text(headline[-1], scope))
        config = {"systems": self.systems, "checkpoints": self.checkpoints, "num_systems": self.num_systems, "methods": self.methods,
                  "rtol": self.rtols, "maxiter": self.maxiter, "repeats": self.repeats, "precision": self.precision, "skip": self.skip,
                  "training_time": {chosen.label: clock for chosen, clock in entries if clock is not None}}  # fmt: skip
        figures = {"iterations_by_size": size_figure(points, min(self.rtols)),
                   "residuals": residual_figure(first["runs"], min(self.rtols), first["where"])}  # fmt: skip
        title = f"Learned preconditioners on finite-element systems (rtol {', '.join(f'{value:g}' for value in self.rtols)})"
        return Outcome(title, rows, self.device, config, figures, "\n".join(verdicts), headline)

    @staticmethod
    def _ratios_and_cost(block: list[dict], entries: list[tuple[Method, dict | None]], iterations: list[list[int] | None], learned: set[str]) -> None:
        """Per row: iterations (per system) over PyAMG SA's and RS's on the same systems (mean of per-system
        ratios; None without that method or for a direct solve), total seconds over the fastest converged
        classical method's, training device-hours and break-even against that method."""
        counts_of = {chosen.name: counts for (chosen, _), counts in zip(entries, iterations, strict=True)}  # None: broke down somewhere
        fastest = min((row["total_s"] for row in block if row["method"] not in learned and converged_all(row)), default=None)
        for row, (chosen, clock), counts in zip(block, entries, iterations, strict=True):
            for column, reference in REFERENCES.items():
                theirs = counts_of.get(reference)
                ratios = None if theirs is None or counts is None or not any(counts) else [mine / max(other, 1) for mine, other in zip(counts, theirs, strict=True)]
                row[column] = None if ratios is None else float(np.mean(ratios))
            row["total_vs_fastest_classical"] = None if fastest is None else row["total_s"] / fastest
            row.update(training_cost(clock if chosen.learned else None, row["total_s"], fastest))


def size_figure(points: dict[str, list[tuple[int, int]]], rtol: float) -> Figure:
    """Iterations to ``rtol`` against unknowns, every system a point, one series per iterative method."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, pairs in points.items():
        unknowns, iterations = zip(*sorted(pairs), strict=True)
        if not any(iterations):  # a direct solve
            continue
        axis.plot(unknowns, iterations, marker="o", label=name)
    axis.set(xscale="log", yscale="log", xlabel="unknowns", ylabel=f"iterations to {rtol:g}", title="Iterations per finite-element system")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure

