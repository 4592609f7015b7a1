"""HINTS-style hybrid iteration: relaxation sweeps interleaved with learned corrections.

Zhang et al. (2024), "Blending neural operators and relaxation methods in PDE numerical solvers":
a stationary relaxation (damped Jacobi, or red-black Gauss–Seidel/SOR on grid stencils) damps the
high-frequency error, and every ``period``-th iteration a network ``N`` applied to the residual
corrects the smooth error the relaxation is slow on: ``x ← x + N(b − Ax)``. Batched over
right-hand-side columns like ``cg``, with the same result type,
stopping test on the true residual and breakdown codes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from neuralsolvers.solvers.classical.jacobi import Jacobi
from neuralsolvers.solvers.krylov.conjugate_gradient import positional_map
from neuralsolvers.solvers.learned.field_preconditioner import normalized_call
from neuralsolvers.solvers.result import BREAKDOWN_NONFINITE, SolverResult, SolveState, column_dots
from neuralsolvers.solvers.stencils import DiffusionStencil, red_cells
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike, PreconditionerLike

__all__ = ["SMOOTHERS", "hybrid"]

SMOOTHERS = ("jacobi", "redblack")


def _colors(A: OperatorLike) -> torch.Tensor:
    """Red (True) / black nodes ``(n,)`` of a stencil's grid: the 5/7-point couplings join colours."""
    if not isinstance(A, DiffusionStencil):
        raise ValueError("red-black Gauss–Seidel needs the grid of a DiffusionStencil operator")
    return red_cells(A.grid, A.device).reshape(-1)


def hybrid(
    A: OperatorLike,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: PreconditionerLike = None,
    callback: Callable[[ArrayLike], None] | None = None,
    period: int = 25,
    omega: float | None = None,
    smoother: str = "jacobi",
    normalize_residual: bool = True,
    line_search: bool = False,
    safeguard: bool = True,
    device: DeviceLike | None = None,
) -> SolverResult:
    """Solve ``Ax = b`` by relaxation with a learned correction every ``period`` iterations.

    HINTS, from Zhang, Kahana, Kopaničáková, Turkel, Ranade, Pathak and Karniadakis, "Blending
    Neural Operators and Relaxation Methods in PDE Numerical Solvers" (Nature Machine Intelligence,
    2024, <https://arxiv.org/abs/2208.13273>), with ``r = b − Ax`` recomputed every iteration:

        x ← x + N(r)       if period divides j   (learned correction)
        x ← x + ω D⁻¹ r    otherwise             (relaxation: Jacobi, or one red-black sweep)

    Iteration ``j`` (from 1) computes ``r = b − Ax`` and sets ``x ← x + N(r)`` when ``period``
    divides ``j``, else relaxes: Jacobi ``x ← x + ω D⁻¹ r``, or one red-black sweep (red nodes,
    then black ones with the updated residual; Gauss–Seidel for ``ω = 1``, SOR otherwise; two
    operator products). Every residual is the true ``b − Ax``, so the stop
    ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)`` is checked on it directly.

    Args:
        A: SPD matrix or operator (anything ``cg`` takes) with a
            positive diagonal; ``smoother="redblack"`` needs a
            ``DiffusionStencil``.
        b: right-hand side ``(n,)`` or ``(n, k)``; the ``k`` columns are solved at once, each
            stopping on its own.
        x0: as in ``cg``;
            ``maxiter`` counts relaxation and correction steps together (default ``10 n``).
        rtol: see `x0`.
        atol: see `x0`.
        maxiter: see `x0`.
        callback: see `x0`.
        device: see `x0`.
        M: the correction ``N``, residual columns ``(n, k)`` to corrections ``(n, k)`` (units of
            ``x``): a preconditioner (e.g. a
            ``FieldPreconditioner``, which
            normalizes already: pass ``normalize_residual=False`` or not, same result) or a callable;
            None: relaxation alone. The old form ``hybrid(A, b, correction, ...)`` still works, with
            a ``DeprecationWarning``.
        period: every ``period``-th iteration is a correction (HINTS: 1 in 25).
        omega: relaxation weight; default 2/3 (Jacobi) or 1 (red-black Gauss–Seidel).
        smoother: ``"jacobi"`` or ``"redblack"``.
        normalize_residual: give ``N`` the residual scaled to unit RMS and scale its output back
            (``normalized_call``).
        line_search: scale the correction ``c = N(r)`` by ``α = cᵀr / cᵀAc``, the step that
            minimizes the error's energy norm along ``c``: a network whose output has the wrong size
            still helps if its direction is good. HINTS uses ``α = 1`` (the default, False).
        safeguard: undo a correction that does not decrease the energy ``½xᵀAx − bᵀx`` (the
            squared ``A``-norm of the error, up to a constant). Convergent relaxation decreases it
            too, so whatever finite ``N`` returns the error shrinks at least at the relaxation's
            worst-case rate per relaxation step; the message counts the rejected corrections.
            Without it a bad ``N`` can make the iteration diverge. Costs one more operator
            product per correction (none more with ``line_search``).

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult]; a non-finite correction
            of an active column stops it with ``info = −2`` (never converged).

    Shapes:
        - **A:** ``(n, n)``: a matrix, or an operator whose ``shape`` is ``(n, n)`` (a
          ``DiffusionStencil`` on a grid: ``n = prod(grid)``).
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **M:** residual columns ``(n, k)`` (``k = 1`` for a vector ``b``; units of ``b``) to
          corrections ``(n, k)`` (units of ``x``).
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative
          residuals ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    x0, M = positional_map(x0, M, "hybrid")
    if smoother not in SMOOTHERS:
        raise ValueError(f"smoother must be one of {SMOOTHERS}, got {smoother!r}")
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")
    run, preconditioner = SolveState.begin(A, b, x0, device, rtol, atol, maxiter, M, "hybrid")
    correction = None if preconditioner is None else preconditioner.apply
    omega = (2 / 3 if smoother == "jacobi" else 1.0) if omega is None else omega
    jacobi = Jacobi(run.A)
    red = _colors(run.A)[:, None] if smoother == "redblack" else None
    zero = torch.zeros_like(run.x)
    corrections = rejected = 0
    for j in range(1, run.maxiter + 1):
        if not bool(run.active.any()):
            break
        active = run.active
        if correction is not None and j % period == 0:
            with torch.no_grad():
                step = (
                    normalized_call(correction, run.r) if normalize_residual else correction(run.r)
                )
            run.stop_broken(~torch.isfinite(step).all(0), BREAKDOWN_NONFINITE)
            step = torch.where(run.active, step, zero)
            if line_search or safeguard:
                curvature, descent = column_dots(step, run.A @ step), column_dots(step, run.r)
            if line_search:
                alpha = torch.where(curvature > 0, descent / curvature, 0.0)
                step, curvature, descent = step * alpha, curvature * alpha**2, descent * alpha
            x = run.x + step
            r = run.b - run.A @ x
            keep = run.active
            if safeguard:  # the energy ½xᵀAx − bᵀx changes by ½sᵀAs − sᵀr
                keep = keep & (descent > curvature / 2)
                rejected += int((run.active & ~keep).sum())
            corrections += int(run.active.sum())
            run.x = torch.where(keep, x, run.x)
            run.r = torch.where(keep, r, run.r)
        elif red is None:
            run.x.add_(torch.where(run.active, omega * jacobi.apply(run.r), zero))
            run.r = run.b - run.A @ run.x
        else:
            step = torch.where(red & run.active, omega * jacobi.apply(run.r), zero)
            r = run.r - run.A @ step
            run.x.add_(step + torch.where(~red & run.active, omega * jacobi.apply(r), zero))
            run.r = run.b - run.A @ run.x
        run.end_iteration(active, callback)
    result = run.result()
    if rejected:
        result.message += f" ({rejected} of {corrections} corrections rejected: no decrease)"
    return result
