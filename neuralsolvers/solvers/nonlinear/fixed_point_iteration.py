"""Fixed-point iteration ``x ← T(x)`` for contractions, with the residual ``‖T(x) − x‖`` checked at exit.

For an affine map ``T(x) = Mx + b`` with ``‖M‖ ≤ γ < 1`` (e.g. CGS's ``γA``) the iterates converge
to the unique fixed point, the solution of ``(I − M)x = b``, and ``T(x) − x = b − (I − M)x`` is the
true residual of that system. The returned ``x`` is the last iterate whose residual was measured, so
the reported residual is exact (no extra application of ``T``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from neuralsolvers.solvers.result import BREAKDOWN_NONFINITE, SolverResult
from neuralsolvers.solvers.system import require_finite

__all__ = ["fixed_point"]


def fixed_point(
    T: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    scale: float | torch.Tensor = 1.0,
    rtol: float = 1e-6,
    maxiter: int = 100,
) -> SolverResult:
    """Iterate ``x ← T(x)`` from ``x0`` (any shape) until ``‖T(x) − x‖ ≤ rtol · scale``.

    Args:
        T: the map; must preserve the shape of ``x``.
        x0: initial iterate.
        scale: reference norm of the stopping test (e.g. ``‖b‖`` for ``T(x) = Mx + b``; then the
            relative residuals are those of the linear system ``(I − M)x = b``).
        rtol: relative tolerance.
        maxiter: most applications of ``T`` that move ``x``.

    Returns:
        A [`SolverResult`][neuralsolvers.solvers.result.SolverResult] with ``residuals`` the
            history of ``‖T(x) − x‖ / scale`` (one entry per measured iterate, the last one that of
            the returned ``x``); NaN/Inf stops with ``info = −2``; not converged within ``maxiter``
            gives ``info`` the iterations done (1 for ``maxiter=0``: never 0 unless converged).

    Raises:
        ValueError: ``x0`` holds NaN or Inf (before ``T`` is applied).
    """
    if rtol <= 0 or maxiter < 0:
        raise ValueError(f"rtol must be positive and maxiter non-negative, got {rtol}, {maxiter}")
    require_finite("x0", x0)
    start = time.perf_counter()
    reference = float(scale) if float(scale) > 0 else 1.0
    x, history, iterations = x0, [], 0
    while True:
        step = T(x) - x
        norm = float(torch.linalg.vector_norm(step)) / reference
        history.append(norm)
        if norm != norm or norm == float("inf"):
            info, message = BREAKDOWN_NONFINITE, "breakdown: NaN or Inf in the iteration"
            break
        if norm <= rtol:
            info, message = 0, "converged"
            break
        if iterations == maxiter:
            info, message = max(iterations, 1), f"not converged in {iterations} iterations (maxiter={maxiter})"
            break
        x, iterations = x + step, iterations + 1
    return SolverResult(
        x=x, converged=info == 0, iterations=iterations, residuals=torch.tensor(history),
        info=info, message=message, true_residual=history[-1], time=time.perf_counter() - start,
    )
