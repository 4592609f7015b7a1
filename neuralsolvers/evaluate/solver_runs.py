"""One solve of one obstacle Poisson system by a named method, timed and measured the same way for all.

Methods: ``cg`` (no preconditioner), ``jacobi``, ``ic0``, ``amg`` (PCG with our torch V-cycle on the
system's device), ``gmg`` (PCG with the matrix-free geometric multigrid V-cycle),
``pyamg`` (PyAMG's own ``solve(accel="cg")`` on the CPU, the reference), and the
learned ``dcdm`` (the DCDM iteration) and ``fcg`` (flexible CG with the network as preconditioner),
and ``nmg`` (plain CG with the V-cycle of a :class:`~neuralsolvers.models.NeuralMultigrid`).
Set-up (building the preconditioner) and solve are timed apart with device synchronization. Peak
memory is what the method needs beyond what was held before it started: on CUDA the allocator's peak
(``torch.cuda.max_memory_allocated``), on the CPU the peak of the process's resident set size,
sampled every millisecond by a thread (so a spike shorter than that can be missed), after freed
memory was handed back to the OS.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import psutil
import torch
from torch import nn

from neuralsolvers.solvers import (
    AMG,
    GeometricMultigrid,
    IncompleteCholesky,
    Jacobi,
    cg,
    dcdm,
    dcdm_preconditioner,
    fcg,
    with_fallback,
)

__all__ = ["CLASSICAL", "GMG_DEFAULTS", "LEARNED", "METHODS", "PeakMemory", "SolveRun", "median_run", "median_runs", "solve_system", "timed"]

CLASSICAL = ("cg", "jacobi", "ic0", "amg", "gmg", "pyamg")
LEARNED = ("dcdm", "fcg", "nmg")
T = TypeVar("T")
FIELD_NETWORKS = ("dcdm", "fcg")  # the learned methods whose network acts on residual fields (DCDM's)
FALLBACKS = ("cg", "jacobi", "ic0", "amg", "gmg")
METHODS = CLASSICAL + LEARNED
# the geometric multigrid of the evaluations: damped Jacobi 2 + 2, no boundary sweeps (the fastest
# to 1e-6 on 1024² held-out scenes here: the band sweeps save iterations but cost more than they save)
GMG_DEFAULTS: dict[str, Any] = {"smoother": "jacobi", "sweeps": 2, "boundary_sweeps": 0}
LABELS = {
    "cg": "CG",
    "jacobi": "Jacobi-PCG",
    "ic0": "IC(0)-PCG",
    "amg": "AMG-PCG (torch V-cycle)",
    "gmg": "GMG-PCG (geometric multigrid)",
    "pyamg": "AMG-PCG (PyAMG, CPU)",
    "dcdm": "DCDM",
    "fcg": "FCG + network",
    "nmg": "NMG-PCG (neural multigrid)",
}


@dataclass
class SolveRun:
    """What one solve measured: iterations, seconds (set-up apart), relative residual history
    ``(iterations + 1,)`` (last entry the true residual), final true residual, peak bytes beyond
    what was held before (set-up and solve; see :class:`PeakMemory`)."""

    method: str
    iterations: int
    converged: bool
    setup_s: float
    solve_s: float
    residuals: np.ndarray
    true_residual: float
    peak_bytes: int
    fallback: bool = False
    solution: torch.Tensor | None = None  # kept only when asked (``keep_solution``)

    @property
    def label(self) -> str:
        return LABELS[self.method]


def _return_freed_memory() -> None:
    """Hand memory freed by earlier work back to the OS (glibc's ``malloc_trim``), so that the next
    method's resident-set growth counts what it allocates rather than what it reuses."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the measure is a lower bound
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakMemory:
    """Context manager: ``.bytes`` is the peak memory used inside it beyond what was in use before."""

    def __init__(self, device: torch.device):
        self.device, self.bytes = device, 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.held = torch.cuda.memory_allocated(self.device)
        else:
            _return_freed_memory()
            self.process = psutil.Process()
            self.held = self.peak = self.process.memory_info().rss
            self.done = threading.Event()
            self.sampler = threading.Thread(target=self._sample, daemon=True)
            self.sampler.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.001):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.held
        else:
            self.done.set()
            self.sampler.join()
            self.bytes = max(self.peak, self.process.memory_info().rss) - self.held


def timed(device: torch.device, fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and its wall seconds, the device synchronized before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    value = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return value, time.perf_counter() - start


def _pyamg(matrix: Any, b: torch.Tensor, rtol: float, maxiter: int, x0: torch.Tensor | None = None) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """PyAMG's set-up (smoothed aggregation, its defaults); returns the solve (from ``x0``), which
    gives ``x`` and the relative residual history."""
    import pyamg

    hierarchy = pyamg.smoothed_aggregation_solver(matrix)
    rhs = b.cpu().numpy()
    start = None if x0 is None else x0.cpu().numpy()

    def solve() -> tuple[np.ndarray, np.ndarray]:
        history: list[float] = []
        x = hierarchy.solve(rhs, x0=start, tol=rtol, accel="cg", maxiter=maxiter, residuals=history)
        return x, np.asarray(history) / np.linalg.norm(rhs)

    return solve


def median_run(once: Callable[[], T], repeats: int, key: Callable[[T], float]) -> T:
    """Of ``repeats`` calls of ``once``, the result of median ``key`` (a time; with an even number
    of calls the upper of the two middle ones): the one repeated-timing rule of every evaluation."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    return sorted((once() for _ in range(repeats)), key=key)[repeats // 2]


def median_runs(solves: list[Callable[[], SolveRun]], repeats: int) -> list[SolveRun]:
    """Per solve (e.g. one per system), the run of median time (set-up + solve) of ``repeats`` timed
    runs, after one untimed warm-up run of the first (first calls pay for allocations, kernel
    selection and compilation)."""
    if solves:
        solves[0]()
    return [median_run(once, repeats, key=lambda run: run.setup_s + run.solve_s) for once in solves]


def solve_system(
    method: str,
    operator: Any,
    b: torch.Tensor,
    mask: torch.Tensor,
    network: nn.Module | None = None,
    rtol: float = 1e-6,
    maxiter: int = 10_000,
    network_maxiter: int = 500,
    keep: int = 2,
    fallback: str | None = None,
    x0: torch.Tensor | None = None,
    gmg: dict[str, Any] | None = None,
    keep_solution: bool = False,
) -> SolveRun:
    """Solve ``operator x = b`` (a :class:`~neuralsolvers.solvers.DiffusionStencil` and ``(n,)``
    float64 on one device) with ``method`` to the relative true residual ``rtol``, the classical
    methods from ``x0`` (default zero).

    ``gmg``: options of :class:`~neuralsolvers.solvers.GeometricMultigrid` (default :data:`GMG_DEFAULTS`).
    ``keep_solution``: keep ``x`` in the run (to warm start the next solve of a sequence).

    ``network`` is needed by the learned methods: a DCDM network for ``dcdm`` and ``fcg``, which stop
    after ``network_maxiter`` iterations (network calls), a ``NeuralMultigrid`` for ``nmg`` (plain CG
    like the classical ones, which stop after ``maxiter``). With
    ``fallback`` (one of ``cg``, ``jacobi``, ``ic0``, ``amg``, ``gmg``), a learned solve that fails (NaN, no
    progress, or not converged within ``network_maxiter``) is finished by that PCG from its last
    iterate (:func:`~neuralsolvers.solvers.with_fallback`); its set-up and iterations count in the
    learned method's solve, and the run is marked.
    """
    if fallback is not None and fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {list(FALLBACKS)} or None, got {fallback!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")
    if method in LEARNED and network is None:
        raise ValueError(f"method {method!r} needs a trained network (a checkpoint)")
    device = b.device
    with PeakMemory(device) as memory:
        run = _solve(method, operator, b, mask, network, rtol, maxiter, network_maxiter, keep, fallback, x0, gmg)
    run.peak_bytes = memory.bytes
    if not keep_solution:
        run.solution = None
    return run


def _solve(
    method: str, operator: Any, b: torch.Tensor, mask: torch.Tensor, network: nn.Module | None,
    rtol: float, maxiter: int, network_maxiter: int, keep: int, fallback: str | None = None,
    x0: torch.Tensor | None = None, gmg: dict[str, Any] | None = None,
) -> SolveRun:
    device = b.device
    if method == "pyamg":
        solve, setup = timed(device, lambda: _pyamg(operator.to_scipy(), b, rtol, maxiter, x0))
        (x, history), seconds = timed(device, solve)
        x = torch.as_tensor(x, device=device)
        true = float(torch.linalg.vector_norm(b - operator @ x) / torch.linalg.vector_norm(b))
        return SolveRun(method, len(history) - 1, true <= rtol * (1 + 1e-9), setup, seconds, np.append(history[:-1], true), true, 0, solution=x)
    builders: dict[str, Callable[[], Any]] = {
        "cg": lambda: None,
        "jacobi": lambda: Jacobi(operator),
        "ic0": lambda: IncompleteCholesky(operator.to_scipy(), dtype=b.dtype, device=device),
        "amg": lambda: AMG(operator.to_scipy(), dtype=b.dtype, device=device),
        "gmg": lambda: GeometricMultigrid(operator, **(GMG_DEFAULTS if gmg is None else gmg)),
        "dcdm": lambda: dcdm_preconditioner(network, mask, dtype=b.dtype, device=device),
        "fcg": lambda: dcdm_preconditioner(network, mask, dtype=b.dtype, device=device),
        "nmg": lambda: network.preconditioner(operator),
    }
    M, setup = timed(device, builders[method])
    if method in FIELD_NETWORKS:
        def learned() -> Any:
            if method == "dcdm":
                result = dcdm(operator, b, M=M, rtol=rtol, maxiter=network_maxiter)
            else:
                result = fcg(operator, b, M=M, rtol=rtol, maxiter=network_maxiter, keep=keep)
            if fallback is None or result.converged:
                return result
            return with_fallback(result, operator, b, builders[fallback](), rtol=rtol, maxiter=maxiter, name=LABELS[fallback])

        result, seconds = timed(device, learned)
    else:
        result, seconds = timed(device, lambda: cg(operator, b, x0, M=M, rtol=rtol, maxiter=maxiter))
    return SolveRun(
        method, int(result.iterations), bool(result.converged), setup, seconds,
        result.residuals.cpu().numpy(), float(result.true_residual), 0, bool(result.fallback), result.x,
    )
