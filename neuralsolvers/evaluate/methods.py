"""A method of a comparison (`Method`: its name and label, learned or not, its set-up, its solve, the
classical method that finishes it when it fails) and one timed, measured solve of it (`SolveRun`),
the same for every evaluation of solvers.

`Method.run` times the set-up (building a preconditioner, a hierarchy, the network's wrapping) and
the solve apart, the device synchronized, and measures the peak memory of both beyond what was held
before (`neuralsolvers.evaluate.measure.PeakMemory`). A learned method whose solve fails (NaN, no
progress, or not converged) is finished by its ``fallback`` PCG from its last iterate
(`neuralsolvers.solvers.with_fallback`); that set-up and those iterations count in its solve, and
the run is marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from statistics import median
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch

from neuralsolvers.evaluate.measure import PeakMemory, median_run, timed
from neuralsolvers.solvers import SolverResult, cg, with_fallback

__all__ = ["Method", "SolveRun", "System", "converged_all", "median_runs", "no_setup", "pcg", "summary_row"]


class System(Protocol):
    """What a solver method solves: ``A x = b`` from ``x0`` (None: zero) to the relative true residual
    ``rtol``, within ``maxiter`` iterations of a classical method (and of a fallback)."""

    A: Any
    b: torch.Tensor
    rtol: float
    maxiter: int
    x0: torch.Tensor | None


S = TypeVar("S")


@dataclass
class SolveRun:
    """What one solve measured: iterations, seconds (set-up apart), relative residual history
    ``(iterations + 1,)`` (last entry the true residual), final true residual, peak bytes beyond
    what was held before (set-up and solve), whether a fallback finished it, and the solution where
    it was asked for (to warm start the next solve of a sequence)."""

    label: str
    iterations: int
    converged: bool
    setup_s: float
    solve_s: float
    residuals: np.ndarray
    true_residual: float
    peak_bytes: int
    fallback: bool = False
    solution: torch.Tensor | None = None

    @property
    def total_s(self) -> float:
        """Set-up and solve seconds."""
        return self.setup_s + self.solve_s

    def row(self) -> dict[str, Any]:
        """One benchmark table row: method, iterations, converged, set-up, solve and total seconds, true residual."""
        return {"method": self.label, "iterations": self.iterations, "converged": self.converged, "setup_s": round(self.setup_s, 4),
                "solve_s": round(self.solve_s, 4), "total_s": round(self.total_s, 4), "true_residual": self.true_residual}  # fmt: skip


@dataclass(frozen=True)
class Method(Generic[S]):
    """One row of an evaluation's table.

    Args:
        name: its name in configs (``ic0``). label: its row's name in the table (``IC(0)-PCG``).
        build: the set-up, from the system to what the solve needs (a preconditioner, a hierarchy,
            the wrapped network; None for plain CG); timed apart from the solve.
        solve: ``(system, what build made)`` → the result (a `SolverResult` for the solvers).
        learned: a learned method (else classical).
        fallback: the classical PCG that finishes a failed solve of this one from its last iterate.
    """

    name: str
    label: str
    build: Callable[[S], Any]
    solve: Callable[[S, Any], Any]
    learned: bool = False
    fallback: Method | None = None

    def finished(self, system: System, built: Any) -> SolverResult:
        """The solve of ``system``, continued by the fallback where it failed."""
        result = self.solve(system, built)
        if self.fallback is None or result.converged:
            return result
        return with_fallback(result, system.A, system.b, self.fallback.build(system), rtol=system.rtol, maxiter=system.maxiter,
                             name=self.fallback.label)  # fmt: skip

    def run(self, system: System, keep_solution: bool = False) -> SolveRun:
        """One timed set-up and solve of ``system`` with its peak memory; ``keep_solution``: keep ``x``."""
        device = system.b.device
        with PeakMemory(device) as memory:
            built, setup_s = timed(device, partial(self.build, system))
            result, solve_s = timed(device, partial(self.finished, system, built))
        return SolveRun(
            self.label, int(result.iterations), bool(result.converged), setup_s, solve_s, result.residuals.cpu().numpy(),
            float(result.true_residual), memory.bytes, bool(result.fallback), result.x if keep_solution else None,
        )  # fmt: skip


def no_setup(system: Any) -> None:
    """The set-up of plain CG: nothing."""


def pcg(system: System, M: Any) -> SolverResult:
    """CG on ``system`` preconditioned by ``M`` (what a method's set-up built; None: plain CG)."""
    return cg(system.A, system.b, system.x0, M=M, rtol=system.rtol, maxiter=system.maxiter)


def median_runs(solves: Sequence[Callable[[], SolveRun]], repeats: int) -> list[SolveRun]:
    """Per solve (e.g. one per system), the run of median time (set-up + solve) of ``repeats`` timed
    runs, after one untimed warm-up run of the first (first calls pay for allocations, kernel
    selection and compilation)."""
    if solves:
        solves[0]()
    return [median_run(once, repeats, key=attrgetter("total_s")) for once in solves]


def summary_row(runs: list[SolveRun]) -> dict[str, Any]:
    """The columns of a method's row over systems: systems converged (``k/n``), median and largest
    iterations, median set-up, solve and total seconds, largest true residual, median peak MiB."""
    return {
        "converged": f"{sum(run.converged for run in runs)}/{len(runs)}",
        "iterations": median(run.iterations for run in runs),
        "max_iterations": max(run.iterations for run in runs),
        "setup_s": median(run.setup_s for run in runs),
        "solve_s": median(run.solve_s for run in runs),
        "total_s": median(run.total_s for run in runs),
        "max_true_residual": max(run.true_residual for run in runs),
        "peak_MiB": median(run.peak_bytes for run in runs) / 2**20,
    }


def converged_all(row: dict[str, Any]) -> bool:
    """Whether a row's ``converged`` cell (``"k/n"``) counts every system."""
    done, total = row["converged"].split("/")
    return done == total
