"""Falling back to a classical preconditioner when a learned solve fails.

A learned component can fail inside a solver: a network that returns NaN (``info = −2``), a direction
map that stops making progress (``info = −3``), or one that is merely too slow (no convergence within
its iteration cap). ``with_fallback`` takes the failed result and finishes every column that did
not converge with preconditioned CG from the best point the learned solve reached (its last iterate
where finite: DCDM and FCG never increase the error's energy norm; zero otherwise), so the solve still
reaches the tolerance; the combined result says that it fell back and after how many iterations.
"""

from __future__ import annotations

import time

import torch

from neuralsolvers.solvers.krylov.conjugate_gradient import cg
from neuralsolvers.solvers.result import SolverResult
from neuralsolvers.solvers.types import ArrayLike, OperatorLike, PreconditionerLike

__all__ = ["with_fallback"]


def with_fallback(
    first: SolverResult,
    A: OperatorLike,
    b: ArrayLike,
    M: PreconditionerLike = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    name: str = "the classical preconditioner",
) -> SolverResult:
    """``first`` if it converged; otherwise ``first`` continued by ``cg`` with ``M``.

    Args:
        first: result of the learned solve of ``Ax = b`` (any of ``dcdm``, ``fcg``, ``hybrid``).
        A: the system (``b`` ``(n,)`` or ``(n, k)``, as given to the first solve).
        b: see `A`.
        M: the classical SPD preconditioner (``None``: plain CG).
        rtol: of the CG continuation (use the learned solve's tolerances).
        atol: see `rtol`.
        maxiter: see `rtol`.
        name: of the fallback, for the message.

    Returns:
        The combined [`SolverResult`][neuralsolvers.solvers.result.SolverResult]: iterations and
            residual histories of both stages (per column), the continuation's ``info``,
            ``fallback`` True for the columns that needed it, time of both stages, and a message
            naming what failed.
    """
    failed = ~torch.as_tensor(first.converged).reshape(-1).cpu()
    if not bool(failed.any()):
        return first
    start = time.perf_counter()
    x = torch.as_tensor(first.x).reshape(b.shape[0], -1)
    x0 = torch.where(torch.isfinite(x).all(0), x, torch.zeros_like(x)).reshape(tuple(b.shape))
    second = cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M)
    batched = len(b.shape) == 2
    first_iterations = torch.as_tensor(first.iterations).reshape(-1)
    first_history = first.residuals.reshape(first.residuals.shape[0], -1)
    second_history = second.residuals.reshape(second.residuals.shape[0], -1)
    # a failed column's history: the learned stage, then the continuation from its restart residual
    history = torch.cat([first_history, second_history[1:]], dim=0)
    iterations = first_iterations.cpu() + torch.as_tensor(second.iterations).reshape(-1).cpu() * failed
    stages = f"{first.message}; after {int(first_iterations.max())} iterations CG with {name} took over: {second.message}"
    return SolverResult(
        x=second.x,
        converged=second.converged,
        iterations=iterations if batched else int(iterations[0]),
        residuals=history if batched else history[:, 0],
        info=second.info,
        message=stages,
        true_residual=second.true_residual,
        time=first.time + time.perf_counter() - start,
        fallback=failed if batched else True,
        column_info=second.column_info,
    )
