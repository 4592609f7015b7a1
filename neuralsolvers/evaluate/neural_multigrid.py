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
from statistics import median

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from neuralsolvers.checkpoints import break_even_cell, device_hours, load, training_time
from neuralsolvers.data_gen.diffusion_scenes import load_scenes, scene_operator
from neuralsolvers.data_gen.store import progress
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.preconditioner import converged_all, residual_figure
from neuralsolvers.evaluate.report import compare, verdict_text
from neuralsolvers.evaluate.solver_runs import (
    FIELD_NETWORKS,
    LABELS,
    LEARNED,
    METHODS,
    SolveRun,
    median_runs,
    solve_system,
)

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
        methods: any of ``cg``, ``jacobi``, ``ic0``, ``amg``, ``pyamg``, ``gmg``, ``nmg``, ``dcdm``, ``fcg``.
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
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not scenes:
            raise ValueError(f"need scene directories and methods from {list(METHODS)}; unknown methods {unknown}")
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

    def _methods_at(self, cells: int) -> list[str]:
        """The methods run on a grid of ``cells`` cells."""
        return [m for m in self.methods if cells <= self.skip.get(m, math.inf) and (m not in FIELD_NETWORKS or cells <= self.field_max_cells)]

    def _runs(self, method: str, arrays: dict[str, np.ndarray], network: torch.nn.Module | None) -> list[SolveRun]:
        """One run per scene: the median-time one of ``repeats`` after a warm-up solve."""
        def solver(index: int) -> Callable[[], SolveRun]:
            def once() -> SolveRun:  # the operator is made per run (untimed), so only one scene is held at a time
                operator = scene_operator(arrays, index, torch.float64, self.device)
                b = torch.as_tensor(arrays["b"][index].astype(np.float64).reshape(-1), device=self.device)
                return solve_system(method, operator, b, operator.mask, network=network, rtol=self.rtol,
                                    maxiter=self.maxiter, network_maxiter=self.network_maxiter)  # fmt: skip

            return once

        return median_runs([solver(index) for index in range(len(arrays["mask"]))], self.repeats)

    def evaluate(self) -> Outcome:
        entries = self._entries()
        rows, headline, verdicts, by_size, largest = [], [], [], {}, {}
        for directory in self.scenes:
            arrays = load_scenes(directory, self.num_scenes)
            grid = arrays["mask"].shape[1:]
            label, cells = "×".join(map(str, grid)), math.prod(grid)
            block, histories = [], {}
            here = [entry for entry in entries if entry[0] in self._methods_at(cells)]
            for method, network, clock, name in progress(here, len(here), f"{label}: methods"):
                runs = self._runs(method, arrays, network)
                histories[name] = runs[0]
                by_size.setdefault(name, []).append((cells, median(run.iterations for run in runs)))
                block.append({
                    "grid": label, "method": name,
                    "converged": f"{sum(run.converged for run in runs)}/{len(runs)}",
                    "iterations": median(run.iterations for run in runs),
                    "max_iterations": max(run.iterations for run in runs),
                    "setup_s": median(run.setup_s for run in runs), "solve_s": median(run.solve_s for run in runs),
                    "total_s": median(run.setup_s + run.solve_s for run in runs),
                    "max_true_residual": max(run.true_residual for run in runs),
                    "peak_MiB": median(run.peak_bytes for run in runs) / 2**20,
                    "_method": method, "_clock": clock, "_iterations": [run.iterations for run in runs],
                })  # fmt: skip
            self._ratios_and_cost(block)
            rows += block
            largest = histories
            scope = f"at {label} (set-up included)"
            headline.append(compare(block, lambda row: row["total_s"], lambda row: row["_method"] in LEARNED, valid=converged_all,
                                    where=f"held-out scenes {scope}", iterations=lambda row: row["iterations"]))  # fmt: skip
            verdicts.append(verdict_text(headline[-1], scope))
        for row in rows:
            del row["_method"], row["_clock"], row["_iterations"]
        config = {"scenes": self.scenes, "checkpoint": self.checkpoint, "dcdm_checkpoint": self.dcdm_checkpoints,
                  "num_scenes": self.num_scenes, "methods": self.methods, "rtol": self.rtol, "repeats": self.repeats,
                  "skip": self.skip, "field_max_cells": self.field_max_cells,
                  "training_time": {name: clock for _, _, clock, name in entries if clock is not None}}  # fmt: skip
        figures = {"iterations_by_size": size_figure(by_size, self.rtol),
                   "residuals": residual_figure(largest, self.rtol, rows[-1]["grid"])}  # fmt: skip
        title = f"Neural multigrid: held-out scenes, trained small and run large (rtol {self.rtol:g})"
        return Outcome(title, rows, self.device, config, figures, "\n".join(verdicts), headline)

    def _entries(self) -> list[tuple[str, torch.nn.Module | None, dict | None, str]]:
        """``(method, network, training clock, row name)`` per row of a size: the DCDM methods once
        per DCDM checkpoint, in the order of ``methods``."""
        dcdm = []
        for path in self.dcdm_checkpoints:
            network = load(path, map_location=self.device).eval()
            dcdm.append((network, training_time(path), " (multi-level)" if getattr(network, "levels", 1) != 1 else ""))
        entries = []
        for method in self.methods:
            if method == "nmg":
                entries.append((method, load(self.checkpoint, map_location=self.device).eval(), training_time(self.checkpoint), LABELS[method]))
            elif method in FIELD_NETWORKS:
                entries += [(method, network, clock, LABELS[method] + mark) for network, clock, mark in dcdm]
            else:
                entries.append((method, None, None, LABELS[method]))
        return entries

    def _ratios_and_cost(self, block: list[dict]) -> None:
        """Per row: iterations over GMG's on the same scenes (mean of per-scene ratios), training
        device-hours and break-even against the fastest classical method of the block."""
        gmg = next((row["_iterations"] for row in block if row["_method"] == "gmg"), None)
        classical = [row["total_s"] for row in block if row["_method"] not in LEARNED and converged_all(row)]
        for row in block:
            ratios = None if gmg is None else [mine / max(theirs, 1) for mine, theirs in zip(row["_iterations"], gmg, strict=True)]
            row["iterations_vs_gmg"] = None if ratios is None else float(np.mean(ratios))
            clock = row["_clock"]
            row["training_device_h"] = device_hours(clock) if row["_method"] in LEARNED else None
            row["break_even_solves"] = break_even_cell(clock, row["total_s"], min(classical, default=None)) if row["_method"] in LEARNED else None


def size_figure(by_size: dict[str, list[tuple[int, float]]], rtol: float) -> Figure:
    """Median iterations to ``rtol`` against the number of unknowns, one line per method."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, points in by_size.items():
        cells, iterations = zip(*points, strict=True)
        axis.loglog(cells, iterations, marker="o", label=name)
    axis.set(xlabel="unknowns (grid cells)", ylabel=f"median iterations to {rtol:g}", title="Iterations as the grid grows")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure
