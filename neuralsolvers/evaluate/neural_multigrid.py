"""The neural multigrid against classical and learned preconditioners, on held-out scenes of several sizes.

Each ``diffusion_scenes`` split (one per grid size, scene kinds unseen in training) is solved by
every method to the relative true residual ``rtol``: plain CG with the neural multigrid (``nmg``,
trained at one small size), geometric multigrid (``gmg``, the same cycle untrained), PyAMG and our
torch AMG, IC(0), CG, and with a DCDM checkpoint DCDM and FCG + network on the sizes up to
``field_max_cells``. Per size and method the table gives the scenes converged, median and largest
iterations, median set-up, solve and total seconds (the median over ``repeats`` timed runs after one
warm-up), the largest true residual, the median peak memory, the iterations as a ratio to GMG's on
the same scenes, the training device-hours and the break-even (solves after which training has paid
for itself against the fastest classical method at that size). One verdict line per size; figures:
iterations against grid size per method, and the residual histories at the largest size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import itemgetter
from statistics import median

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from neuralsolvers.data_gen.diffusion_scenes import load_scenes, scene_operator
from neuralsolvers.data_gen.store import progress
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_preconditioner, training_cost
from neuralsolvers.evaluate.figures import residual_figure
from neuralsolvers.evaluate.methods import Method, SolveRun, converged_all, median_runs, summary_row
from neuralsolvers.evaluate.stencil_methods import FIELD_NETWORKS, NAMES, StencilSystem, method

__all__ = ["NeuralMultigridEvaluation"]


class NeuralMultigridEvaluation(Evaluation):
    """Neural-multigrid PCG against CG, IC(0), AMG (torch, PyAMG), GMG and DCDM, per grid size.

    Args:
        scenes: directories of ``diffusion_scenes`` splits, one per size (smallest first).
        checkpoint: a neural multigrid checkpoint (``neuralsolvers fit --config
            configs/neural_mg_poisson2d.yaml``), needed by ``nmg``.
        dcdm_checkpoint: a DCDM checkpoint, or a list of them (e.g. the one-level and the multi-level
            network: rows of a multi-level one are marked so), needed by ``dcdm`` and ``fcg``.
        num_scenes: scenes solved per size (the first ones of each split).
        methods: any of ``cg``, ``jacobi``, ``ic0``, ``amg``, ``pyamg`` (smoothed aggregation),
            ``pyamg_rs`` (Ruge–Stüben), ``direct`` (SuperLU), ``gmg``, ``bbmg`` (Black Box Multigrid:
            Galerkin, operator-dependent), ``nmg``, ``dcdm``, ``fcg``.
        rtol: relative true residual every solve must reach.
        maxiter: iteration cap of the PCG methods.
        network_maxiter: iteration cap of DCDM and FCG.
        repeats: timed runs per scene and method (median reported), after one warm-up per size.
        skip: ``{method: cells}``: leave ``method`` out on grids of more cells (e.g. ``cg: 300000``:
            plain CG needs thousands of iterations there); DCDM and FCG stop at ``field_max_cells``.
        field_max_cells: the largest grid DCDM and FCG run on.
        device: ``cpu``, ``cuda`` or ``auto``.
    """

    component = "Neural multigrid"

    def __init__(
        self,
        scenes: list[str],
        checkpoint: str | None = None,
        dcdm_checkpoint: str | list[str] | None = None,
        num_scenes: int = 4,
        methods: list[str] | None = None,
        rtol: float = 1e-6,
        maxiter: int = 20_000,
        network_maxiter: int = 500,
        repeats: int = 1,
        skip: dict[str, int] | None = None,
        field_max_cells: int = 70_000,
        device: str = "auto",
    ):
        self.methods = ["cg", "ic0", "amg", "pyamg", "gmg", "nmg"] if methods is None else list(methods)
        unknown = [name for name in self.methods if name not in NAMES]
        if unknown or not scenes:
            raise ValueError(f"need scene directories and methods from {list(NAMES)}; unknown methods {unknown}")
        if "nmg" in self.methods and checkpoint is None:
            raise ValueError("method nmg needs checkpoint: a neural multigrid checkpoint")
        if any(m in FIELD_NETWORKS for m in self.methods) and not dcdm_checkpoint:
            raise ValueError(f"methods {[m for m in self.methods if m in FIELD_NETWORKS]} need dcdm_checkpoint")
        if num_scenes < 1 or repeats < 1 or not 0 < rtol < 1 or maxiter < 1:
            raise ValueError(f"need num_scenes, repeats, maxiter ≥ 1 and 0 < rtol < 1; got {num_scenes}, {repeats}, {maxiter}, {rtol}")
        self.scenes, self.checkpoint = list(scenes), checkpoint
        self.dcdm_checkpoints = [] if dcdm_checkpoint is None else [dcdm_checkpoint] if isinstance(dcdm_checkpoint, str) else list(dcdm_checkpoint)
        self.num_scenes, self.rtol, self.maxiter, self.network_maxiter = num_scenes, rtol, maxiter, network_maxiter
        self.repeats, self.skip, self.field_max_cells = repeats, dict(skip or {}), field_max_cells
        self.device = resolve_device(device)

    def _here(self, entries: list[tuple[Method, dict | None]], cells: int) -> list[tuple[Method, dict | None]]:
        """The methods run on a grid of ``cells`` cells."""
        return [(chosen, clock) for chosen, clock in entries if cells <= self.skip.get(chosen.name, math.inf)
                and (chosen.name not in FIELD_NETWORKS or cells <= self.field_max_cells)]  # fmt: skip

    def _runs(self, chosen: Method, arrays: dict[str, np.ndarray]) -> list[SolveRun]:
        """One run per scene: the median-time one of ``repeats`` after a warm-up solve."""
        def solver(index: int) -> Callable[[], SolveRun]:
            def once() -> SolveRun:  # the operator is made per run (untimed), so only one scene is held at a time
                operator = scene_operator(arrays, index, torch.float64, self.device)
                b = torch.as_tensor(arrays["b"][index].astype(np.float64).reshape(-1), device=self.device)
                return chosen.run(StencilSystem(operator, b, operator.mask, self.rtol, self.maxiter))

            return once

        return median_runs([solver(index) for index in range(len(arrays["mask"]))], self.repeats)

    def evaluate(self) -> Outcome:
        entries = self._methods()
        learned = {chosen.label for chosen, _ in entries if chosen.learned}
        rows, headline, verdicts, by_size, largest = [], [], [], {}, {}
        for directory in self.scenes:
            arrays = load_scenes(directory, self.num_scenes)
            grid = arrays["mask"].shape[1:]
            label, cells = "×".join(map(str, grid)), math.prod(grid)
            block, histories, iterations = [], {}, []
            here = self._here(entries, cells)
            for chosen, _ in progress(here, len(here), f"{label}: methods"):
                runs = self._runs(chosen, arrays)
                histories[chosen.label] = runs[0]
                iterations.append([run.iterations for run in runs])
                by_size.setdefault(chosen.label, []).append((cells, median(iterations[-1])))
                block.append({"grid": label, "method": chosen.label, **summary_row(runs)})
            self._ratios_and_cost(block, here, iterations, learned)
            rows += block
            largest = histories
            scope = f"at {label} (set-up included)"
            headline.append(compare(block, itemgetter("total_s"), lambda row: row["method"] in learned, valid=converged_all,
                                    where=f"held-out scenes {scope}", iterations=itemgetter("iterations")))  # fmt: skip
            verdicts.append(verdict_text(headline[-1], scope))
        config = {"scenes": self.scenes, "checkpoint": self.checkpoint, "dcdm_checkpoint": self.dcdm_checkpoints,
                  "num_scenes": self.num_scenes, "methods": self.methods, "rtol": self.rtol, "repeats": self.repeats,
                  "skip": self.skip, "field_max_cells": self.field_max_cells,
                  "training_time": {chosen.label: clock for chosen, clock in entries if clock is not None}}  # fmt: skip
        figures = {"iterations_by_size": size_figure(by_size, self.rtol),
                   "residuals": residual_figure(largest, self.rtol, rows[-1]["grid"])}  # fmt: skip
        title = f"Neural multigrid: held-out scenes, trained small and run large (rtol {self.rtol:g})"
        return Outcome(title, rows, self.device, config, figures, "\n".join(verdicts), headline)

    def _methods(self) -> list[tuple[Method, dict | None]]:
        """``(method, training clock)`` per row of a size, in the order of ``methods``: the DCDM methods
        once per DCDM checkpoint (a multi-level network's rows marked so)."""
        dcdm = []
        for path in self.dcdm_checkpoints:
            learned, clock = trained_preconditioner(path, self.device)
            dcdm.append((learned, clock, " (multi-level)" if getattr(learned.network, "levels", 1) != 1 else ""))
        entries = []
        for name in self.methods:
            if name == "nmg":
                learned, clock = trained_preconditioner(self.checkpoint, self.device)
                entries.append((method(name, learned), clock))
            elif name in FIELD_NETWORKS:
                entries += [(method(name, network, network_maxiter=self.network_maxiter, mark=mark), clock) for network, clock, mark in dcdm]
            else:
                entries.append((method(name), None))
        return entries

    @staticmethod
    def _ratios_and_cost(block: list[dict], here: list[tuple[Method, dict | None]], iterations: list[list[int]], learned: set[str]) -> None:
        """Per row: iterations (per scene) over GMG's on the same scenes (mean of per-scene ratios), training
        device-hours and break-even against the fastest converged classical method of the block."""
        gmg = next((counts for (chosen, _), counts in zip(here, iterations, strict=True) if chosen.name == "gmg"), None)
        fastest = min((row["total_s"] for row in block if row["method"] not in learned and converged_all(row)), default=None)
        for row, (chosen, clock), counts in zip(block, here, iterations, strict=True):
            iterative = any(counts)  # a direct solve counts no iterations: no ratio
            ratios = None if gmg is None or not iterative else [mine / max(theirs, 1) for mine, theirs in zip(counts, gmg, strict=True)]
            row["iterations_vs_gmg"] = None if ratios is None else float(np.mean(ratios))
            row.update(training_cost(clock if chosen.learned else None, row["total_s"], fastest))


def size_figure(by_size: dict[str, list[tuple[int, float]]], rtol: float) -> Figure:
    """Median iterations to ``rtol`` against the number of unknowns, one line per iterative method."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, points in by_size.items():
        cells, iterations = zip(*points, strict=True)
        if not any(iterations):  # a direct solve
            continue
        axis.loglog(cells, iterations, marker="o", label=name)
    axis.set(xlabel="unknowns (grid cells)", ylabel=f"median iterations to {rtol:g}", title="Iterations as the grid grows")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure
