"""The moving-obstacle benchmark: every frame a new geometry, so every method pays its set-up per frame.

A ``moving_obstacles`` sequence is solved frame by frame to the relative true residual ``rtol``, each
solve warm started from the previous frame's solution (as a simulation does), with each method's
preconditioner built anew for every frame (PyAMG's hierarchy, IC(0)'s factor, geometric multigrid's
pyramid). The table gives per method the total, set-up and solve seconds over the sequence, the mean
and largest iteration count, the largest true residual and the median peak memory; the figure draws
the time per frame of every method. Several datasets (e.g. 256² and 1024²) give one block each.
"""

from __future__ import annotations

import math
from operator import itemgetter
from statistics import median
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from neuralsolvers.data_gen.moving_obstacles import MovingObstacles
from neuralsolvers.data_gen.store import ShardedDataset, progress
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_preconditioner, training_cost
from neuralsolvers.evaluate.methods import Method, SolveRun, converged_all
from neuralsolvers.evaluate.stencil_methods import CLASSICAL, StencilSystem, method

SEQUENCE_METHODS = (*(classical.name for classical in CLASSICAL), "nmg")  # the neural multigrid too: its set-up is one network pass per level

__all__ = ["MovingObstacleEvaluation"]


class MovingObstacleEvaluation(Evaluation):
    """Classical methods and the neural multigrid on moving-obstacle sequences, set-up paid every frame.

    Args:
        data: directories of ``moving_obstacles`` dataset splits (one table block each).
        methods: any of ``cg``, ``jacobi``, ``ic0``, ``amg``, ``gmg``, ``bbmg`` (Black Box Multigrid),
            ``pyamg``, ``pyamg_rs``, ``direct``, ``nmg``.
        checkpoint: neural multigrid checkpoints (one path, or a list: the one of each dataset's
            dimension is used), needed by ``nmg``; their training time gives the break-even against
            the fastest classical method.
        sequence: which sequence of each split to solve.
        frames: solve only the first ``frames`` frames (default all).
        rtol: relative true residual of every solve.
        maxiter: iteration cap per solve.
        warm_start: start each frame from the previous frame's solution (else from zero).
        gmg: options of the geometric multigrid (default the evaluations' ``GMG_DEFAULTS``).
        skip: ``{method: cells}``: leave ``method`` out on grids of more cells (e.g. ``direct:
            40000``: SuperLU's factorization of a 64³ system takes minutes).
        device: ``cpu``, ``cuda`` or ``auto``.
    """

    component = "Neural multigrid"

    def __init__(
        self,
        data: list[str],
        methods: list[str] | None = None,
        checkpoint: str | list[str] | None = None,
        sequence: int = 0,
        frames: int | None = None,
        rtol: float = 1e-6,
        maxiter: int = 20_000,
        warm_start: bool = True,
        gmg: dict[str, Any] | None = None,
        skip: dict[str, int] | None = None,
        device: str = "auto",
    ):
        self.methods = ["cg", "ic0", "amg", "pyamg", "gmg"] if methods is None else list(methods)
        unknown = [m for m in self.methods if m not in SEQUENCE_METHODS]
        if unknown or not data:
            raise ValueError(f"need datasets and methods from {list(SEQUENCE_METHODS)}; unknown methods {unknown}")
        if "nmg" in self.methods and checkpoint is None:
            raise ValueError("method nmg needs checkpoint: a neural multigrid checkpoint")
        self.checkpoints = [] if checkpoint is None else [checkpoint] if isinstance(checkpoint, str) else list(checkpoint)
        if not 0 < rtol < 1 or maxiter < 1 or sequence < 0 or (frames is not None and frames < 1):
            raise ValueError(f"need 0 < rtol < 1, maxiter ≥ 1, sequence ≥ 0 and frames ≥ 1; got {rtol}, {maxiter}, {sequence}, {frames}")
        self.data, self.sequence, self.frames, self.rtol, self.maxiter = list(data), sequence, frames, rtol, maxiter
        self.warm_start, self.gmg, self.skip = warm_start, gmg, dict(skip or {})
        self.device = resolve_device(device)

    def _sequence(self, directory: str) -> tuple[MovingObstacles, np.ndarray, np.ndarray]:
        dataset = ShardedDataset(directory, generator="moving_obstacles")
        if self.sequence >= len(dataset):
            raise ValueError(f"{directory} holds {len(dataset)} sequences; sequence={self.sequence} asked for")
        generator = MovingObstacles(**dataset.metadata["parameters"])
        arrays = dataset.load(["mask", "b"])
        frames = arrays["mask"].shape[1] if self.frames is None else min(self.frames, arrays["mask"].shape[1])
        return generator, arrays["mask"][self.sequence, :frames].astype(bool), arrays["b"][self.sequence, :frames].astype(np.float64)

    def _solve_sequence(self, chosen: Method, generator: MovingObstacles, masks: np.ndarray, rhs: np.ndarray) -> list[SolveRun]:
        runs, x = [], None
        for mask, b in zip(masks, rhs, strict=True):
            operator = generator.operator(mask, device=self.device)
            system = StencilSystem(operator, torch.as_tensor(b.reshape(-1), device=self.device), torch.as_tensor(mask, device=self.device),
                                   self.rtol, self.maxiter, x if self.warm_start else None)  # fmt: skip
            run = chosen.run(system, keep_solution=True)
            x, run.solution = run.solution, None
            runs.append(run)
        return runs

    def evaluate(self) -> Outcome:
        rows, figures, headline, verdicts = [], {}, [], []
        networks = {}  # dimension → (learned preconditioner, training clock)
        for path in self.checkpoints:
            learned, clock = trained_preconditioner(path, self.device)
            networks[learned.network.dim] = (learned, clock)
        for directory in self.data:
            generator, masks, rhs = self._sequence(directory)
            if "nmg" in self.methods and len(generator.grid) not in networks:
                raise ValueError(f"{directory} is {len(generator.grid)}D but no neural multigrid checkpoint of that dimension was given")
            network, clock = networks.get(len(generator.grid), (None, None))
            cells = math.prod(generator.grid)
            methods = [method(name, network if name == "nmg" else None, gmg=self.gmg) for name in self.methods if cells <= self.skip.get(name, math.inf)]
            label = "×".join(map(str, generator.grid))
            first = StencilSystem(generator.operator(masks[0], device=self.device), torch.as_tensor(rhs[0].reshape(-1), device=self.device),
                                  torch.as_tensor(masks[0], device=self.device), self.rtol, self.maxiter)  # fmt: skip
            methods[0].run(first)  # warm-up
            per_frame: dict[str, list[SolveRun]] = {}
            block = []
            for chosen in progress(methods, len(methods), f"{label}: methods"):
                runs = self._solve_sequence(chosen, generator, masks, rhs)
                per_frame[chosen.label] = runs
                block.append({
                    "grid": label, "method": chosen.label, "frames": len(runs),
                    "converged": f"{sum(run.converged for run in runs)}/{len(runs)}",
                    "total_s": sum(run.total_s for run in runs),
                    "setup_s": sum(run.setup_s for run in runs), "solve_s": sum(run.solve_s for run in runs),
                    "per_frame_s": sum(run.total_s for run in runs) / len(runs),
                    "mean_iterations": float(np.mean([run.iterations for run in runs])),
                    "max_iterations": max(run.iterations for run in runs),
                    "max_true_residual": max(run.true_residual for run in runs),
                    "peak_MiB": median(run.peak_bytes for run in runs) / 2**20,
                })  # fmt: skip
            # the neural multigrid's training cost, and the frames after which it pays against the fastest converged classical method
            fastest = min((row["per_frame_s"] for row, chosen in zip(block, methods, strict=True) if not chosen.learned and converged_all(row)), default=None)
            for row, chosen in zip(block, methods, strict=True):
                row.update(training_cost(clock if chosen.learned else None, row["per_frame_s"], fastest))
            rows += block
            learned = {chosen.label for chosen in methods if chosen.learned}
            scope = f"at {label} (whole sequence, set-up included)"
            headline.append(compare(block, itemgetter("total_s"), lambda row, learned=learned: row["method"] in learned, valid=converged_all,
                                    where=f"moving obstacles {scope}", iterations=itemgetter("mean_iterations")))  # fmt: skip
            verdicts.append(verdict_text(headline[-1], scope))
            figures[f"frames_{label.replace('×', 'x')}"] = frame_figure(per_frame, label)
        config = {"data": self.data, "methods": self.methods, "checkpoints": self.checkpoints,
                  "training_time": {dim: clock for dim, (_, clock) in networks.items()}, "sequence": self.sequence, "frames": self.frames, "rtol": self.rtol,
                  "maxiter": self.maxiter, "warm_start": self.warm_start, "gmg": self.gmg, "device": str(self.device)}  # fmt: skip
        title = f"Moving obstacles: every frame a new geometry, set-up paid per frame (rtol {self.rtol:g}, warm start {self.warm_start})"
        return Outcome(title, rows, self.device, config, figures, "\n".join(verdicts), headline)


def frame_figure(per_frame: dict[str, list[SolveRun]], label: str) -> Figure:
    """Time per frame (set-up and solve) and iterations per frame, one line per method."""
    figure, (times, counts) = plt.subplots(1, 2, figsize=(11, 4))
    for name, runs in per_frame.items():
        frames = np.arange(len(runs))
        times.semilogy(frames, [run.setup_s + run.solve_s for run in runs], marker=".", label=name)
        counts.plot(frames, [run.iterations for run in runs], marker=".", label=name)
    times.set(xlabel="frame", ylabel="set-up + solve [s]", title=f"time per frame, {label}")
    counts.set(xlabel="frame", ylabel="iterations", title="iterations per frame (warm started)")
    times.legend(fontsize=7)
    figure.tight_layout()
    return figure
