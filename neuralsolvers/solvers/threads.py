"""Thread budgets for torch work called from NumPy/SciPy code (a preconditioner inside SciPy's `cg`).

SciPy's Krylov methods take their dot products and norms from NumPy's BLAS (OpenBLAS in the wheels).
Past about 10⁴ entries OpenBLAS splits a dot product over its pool, and the pool's workers then
busy-wait (OpenBLAS's `THREAD_TIMEOUT`, about 0.1 s) before they sleep: long enough to cover the
preconditioner call that follows. torch's intra-op (OpenMP) pool then starts on cores the BLAS
workers hold, and the two fight: on a 2-core machine SciPy's `cg` with the neural multigrid ran
about 6× slower than `neuralsolvers.solvers.cg` with it (BENCHMARKS.md, "SciPy's cg with a learned
preconditioner: thread budget"). Limiting NumPy's BLAS *inside* the call does not help, as its
workers spin already; what does:

- `torch_thread_budget()`, per call: torch gets the cores the BLAS workers do not hold
  (`torch_threads_beside_blas`), and its own setting back after the call.
- `single_threaded_blas()`, around a whole solve: NumPy's and SciPy's BLAS run on one thread (a
  Krylov method's vector operations gain nothing from more), so no worker spins and torch keeps
  all its threads. `OPENBLAS_NUM_THREADS=1` in the environment does the same for a whole process.

`torch.set_num_threads` acts on the process, so a budget set by one Python thread is seen by torch
work that other Python threads run at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads", "single_threaded_blas", "torch_thread_budget", "torch_threads_beside_blas"]


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    """threadpoolctl's view of the BLAS libraries NumPy and SciPy loaded (built once: a new
    `ThreadpoolController` scans every loaded library, about 0.3 ms; its calls then take µs)."""
    import numpy  # noqa: F401  (their BLAS libraries must be loaded before the scan)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def blas_threads() -> int:
    """The largest thread count among the BLAS pools of NumPy and SciPy (1 when none is found)."""
    return max((library["num_threads"] for library in _controller().info()), default=1)


def torch_threads_beside_blas() -> int:
    """torch's intra-op threads less the workers of the largest BLAS pool (at least 1): after a
    multithreaded BLAS call those workers busy-wait on their cores for a while."""
    return max(1, torch.get_num_threads() - (blas_threads() - 1))


@contextmanager
def torch_thread_budget(threads: int | None = None) -> Iterator[int]:
    """Run the block with `threads` torch intra-op threads (default `torch_threads_beside_blas()`);
    torch's setting comes back after it, also on an exception. Yields the budget."""
    before = torch.get_num_threads()
    budget = torch_threads_beside_blas() if threads is None else threads
    if budget == before:
        yield budget
        return
    torch.set_num_threads(budget)
    try:
        yield budget
    finally:
        torch.set_num_threads(before)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with NumPy's and SciPy's BLAS on one thread (threadpoolctl); their settings come
    back after it."""
    with _controller().limit(limits=1):
        yield
