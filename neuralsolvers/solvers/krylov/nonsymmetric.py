"""Krylov solvers for nonsymmetric systems: restarted flexible GMRES and BiCGStab, in torch, batched.

Signatures follow ``scipy.sparse.linalg.gmres`` / ``bicgstab``; ``b`` may be ``(n,)`` or ``(n, k)``
(k systems at once, each column with its own Krylov space and its own stop). The stopping test and the
result are those of ``cg``: ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)`` on the
*true* residual, recomputed before a column is reported converged; NaN/Inf stops a column with
``info = −2`` and a vanished recurrence (BiCGStab's ρ or ω, a singular GMRES Hessenberg) with −4.
The preconditioner enters on the right (``A M y = b``, ``x = M y``), so the residuals monitored are
those of the original system; it may be any map (GMRES keeps the preconditioned vectors, i.e. it is
flexible GMRES, Saad 1993), but BiCGStab assumes a fixed linear one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from neuralsolvers.solvers.krylov.conjugate_gradient import apply_preconditioner
from neuralsolvers.solvers.result import (
    BREAKDOWN_NONFINITE,
    BREAKDOWN_RECURRENCE,
    SolverResult,
    SolveState,
    column_dots,
    column_norms,
)
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike, PreconditionerLike

__all__ = ["bicgstab", "gmres"]


def _safe(values: torch.Tensor) -> torch.Tensor:
    """``values`` with zeros replaced by ones, for divisions whose zero case is handled elsewhere."""
    return torch.where(values == 0, torch.ones_like(values), values)


def gmres(
    A: OperatorLike,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: PreconditionerLike = None,
    callback: Callable[[ArrayLike], None] | None = None,
    restart: int = 20,
    device: DeviceLike | None = None,
) -> SolverResult:
    """Restarted flexible GMRES(m) with right preconditioning.

    Saad and Schultz, "GMRES: A Generalized Minimal Residual Algorithm for Solving Nonsymmetric
    Linear Systems" (SIAM Journal on Scientific and Statistical Computing 7(3), 1986,
    <https://doi.org/10.1137/0907058>), in the
    flexible form of Saad, "A Flexible Inner-Outer Preconditioned GMRES Algorithm" (SIAM Journal on
    Scientific Computing 14(2), 1993); see Saad, *Iterative Methods for Sparse Linear Systems* (2nd
    ed., SIAM, 2003, ch. 6 and 9). Each cycle builds an Arnoldi basis ``V_{m+1}`` with
    ``A Z_m = V_{m+1} H̄_m`` (``Z_m`` the preconditioned vectors ``z_j = M v_j``) and sets

        x = x_0 + Z_m y,   y = argmin_y ‖β e_1 − H̄_m y‖,   β = ‖r_0‖.

    Arnoldi with classical Gram–Schmidt applied twice (as stable as modified Gram–Schmidt, and two
    matrix–vector products over the basis instead of a loop over its vectors), Givens rotations on the Hessenberg matrix of
    each column, the residual estimate ``|g_{j+1}|`` as the inner stopping test, and at every restart
    the true residual.

    Args:
        A: matrix or operator (see ``as_operator``).
        b: right-hand side ``(n,)`` or ``(n, k)``.
        x0: initial guess, shaped like ``b``.
        rtol: stop when ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)``.
        atol: see `rtol`.
        restart: Krylov dimension ``m`` between restarts (memory ``2 m n k`` with a preconditioner).
        maxiter: most inner iterations (products with ``A``) per column in all, default ``10 n``;
            unlike SciPy, which counts restart cycles.
        M: right preconditioner approximating ``A⁻¹``; any map.
        callback: called with the current ``x`` after each restart cycle.
        device: where to solve (as in ``cg``).

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult]; its ``residuals`` hold
            the estimates ``|g_{j+1}| / ‖b‖`` of the inner iterations, the last entry the true
            residual.

    Shapes:
        - **A:** ``(n, n)``: a matrix, or an operator whose ``shape`` is ``(n, n)``.
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **M:** vector columns ``(n, k)`` (``k = 1`` for a vector ``b``; units of ``b``) to
          ``(n, k)`` (units of ``x``).
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative residuals
          ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    if restart < 1:
        raise ValueError(f"restart must be at least 1, got {restart}")
    run, preconditioner = SolveState.begin(A, b, x0, device, rtol, atol, maxiter, M, "gmres")
    k = run.b.shape[1]
    current = run.history[0].clone()
    run.active &= run.iterations < run.maxiter
    n = run.b.shape[0]
    while bool(run.active.any()):
        beta = column_norms(run.r)
        # bases stored system-major, (k, m + 1, n): each system's projections are BLAS products
        basis = run.b.new_empty(k, restart + 1, n)  # only written slots are read
        basis[:, 0] = (run.r / _safe(beta)).T
        directions = basis if preconditioner is None else run.b.new_empty(k, restart, n)
        hessenberg = run.b.new_zeros(k, restart + 1, restart)
        cosines, sines = run.b.new_zeros(k, restart), run.b.new_zeros(k, restart)
        g = run.b.new_zeros(k, restart + 1)
        g[:, 0] = beta
        steps = torch.zeros(k, dtype=torch.long, device=run.b.device)
        working = run.active.clone()
        for j in range(restart):
            z = apply_preconditioner(preconditioner, basis[:, j].T.contiguous())
            if preconditioner is not None:
                directions[:, j] = z.T
            w = (run.A @ z).T.contiguous()  # (k, n)
            V = basis[:, : j + 1]
            for _ in range(2):  # one matrix-vector product per system: far faster than bmm at k ≪ n
                h = torch.stack([V[c] @ w[c] for c in range(k)])  # (k, j + 1)
                for c in range(k):
                    w[c].addmv_(V[c].T, h[c], alpha=-1)
                hessenberg[:, : j + 1, j] += h
            h_next = torch.linalg.vector_norm(w, dim=1)
            hessenberg[:, j + 1, j] = h_next
            basis[:, j + 1] = w / _safe(h_next)[:, None]
            for i in range(j):
                upper, lower = hessenberg[:, i, j].clone(), hessenberg[:, i + 1, j].clone()
                hessenberg[:, i, j] = cosines[:, i] * upper + sines[:, i] * lower
                hessenberg[:, i + 1, j] = -sines[:, i] * upper + cosines[:, i] * lower
            diagonal, below = hessenberg[:, j, j], hessenberg[:, j + 1, j]
            radius = torch.hypot(diagonal, below)
            cosines[:, j] = torch.where(radius > 0, diagonal / _safe(radius), torch.ones_like(radius))
            sines[:, j] = torch.where(radius > 0, below / _safe(radius), torch.zeros_like(radius))
            hessenberg[:, j, j], hessenberg[:, j + 1, j] = radius, 0.0
            g[:, j + 1] = -sines[:, j] * g[:, j]
            g[:, j] = cosines[:, j] * g[:, j]
            estimate = g[:, j + 1].abs()
            finite = torch.isfinite(estimate) & torch.isfinite(radius)
            run.stop_broken(working & ~finite, BREAKDOWN_NONFINITE)
            run.stop_broken(working & finite & (radius == 0), BREAKDOWN_RECURRENCE)
            working &= run.active
            steps += working
            run.iterations += working
            current = torch.where(working, estimate, current)
            run.history.append(current.clone())
            working &= (estimate > run.target) & (run.iterations < run.maxiter)
            if not bool(working.any()):
                break
        size = j + 1
        used = torch.arange(size, device=run.b.device) < steps[:, None]
        square = used[:, :, None] & used[:, None, :]
        identity = torch.eye(size, dtype=run.b.dtype, device=run.b.device).expand(k, size, size)
        R = torch.where(square, hessenberg[:, :size, :size], identity)
        rhs = torch.where(used, g[:, :size], torch.zeros_like(g[:, :size]))
        y = torch.linalg.solve_triangular(R, rhs[:, :, None], upper=True)[:, :, 0]
        update = torch.bmm(directions[:, :size].transpose(1, 2), y[:, :, None])[:, :, 0].T
        run.x += torch.where(steps > 0, update, torch.zeros_like(update))
        run.r = run.b - run.A @ run.x
        norm = column_norms(run.r)
        run.stop_broken(~torch.isfinite(norm), BREAKDOWN_NONFINITE)
        run.active &= (norm > run.target) & (run.iterations < run.maxiter)
        run.notify(callback)
    return run.result()


def bicgstab(
    A: OperatorLike,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: PreconditionerLike = None,
    callback: Callable[[ArrayLike], None] | None = None,
    device: DeviceLike | None = None,
) -> SolverResult:
    """BiCGStab with right preconditioning; two products with ``A`` per iteration.

    Van der Vorst, "Bi-CGSTAB: A Fast and Smoothly Converging Variant of Bi-CG for the Solution of
    Nonsymmetric Linear Systems" (SIAM Journal on Scientific and Statistical Computing 13(2), 1992);
    see Saad, *Iterative Methods for Sparse Linear Systems* (2nd ed., SIAM, 2003, ch. 7). With the
    shadow vector ``r̂`` and ``ρ_j = r̂ᵀr_j``, one iteration is a BiCG step followed by a local
    residual minimization:

        p = r + β (p − ω v),  p̂ = M p,  v = A p̂,  α = ρ_j / r̂ᵀv,  s = r − α v,
        ŝ = M s,  t = A ŝ,  ω = tᵀs / tᵀt,  x ← x + α p̂ + ω ŝ,  r ← s − ω t,
        β = (ρ_{j+1} / ρ_j)(α / ω).

    A column whose half-step residual ``s`` already meets the tolerance stops there (``ω = 0``). A
    column whose updated residual drifted from the true one restarts from the true residual (new
    shadow vector ``r̂ = r``). ``ρ = r̂ᵀr``, ``r̂ᵀv`` or ``ω`` vanishing (relative to the vectors' norms,
    below machine epsilon squared) stops the column with ``info = −4``.

    Arguments as in ``gmres`` (no ``restart``); ``maxiter`` counts iterations (default ``10 n``),
    ``M`` must be a fixed linear map (a ``TypeError`` otherwise: use ``gmres``, which is flexible).

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult] of the solve.

    Shapes:
        - **A:** ``(n, n)``: a matrix, or an operator whose ``shape`` is ``(n, n)``.
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **M:** vector columns ``(n, k)`` (``k = 1`` for a vector ``b``; units of ``b``) to
          ``(n, k)`` (units of ``x``).
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative residuals
          ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    run, preconditioner = SolveState.begin(A, b, x0, device, rtol, atol, maxiter, M, "bicgstab", needs="linear")
    tiny = torch.finfo(run.b.dtype).eps ** 2
    shadow = run.r.clone()
    p, v = torch.zeros_like(run.r), torch.zeros_like(run.r)
    ones = torch.ones_like(run.b_norm)
    rho, alpha, omega = ones.clone(), ones.clone(), ones.clone()
    for _ in range(run.maxiter):
        if not bool(run.active.any()):
            break
        rho_new = column_dots(shadow, run.r)
        run.stop_broken(rho_new.abs() <= tiny * column_norms(shadow) * column_norms(run.r), BREAKDOWN_RECURRENCE)
        active = run.active
        beta = torch.where(active, (rho_new / _safe(rho)) * (alpha / _safe(omega)), torch.zeros_like(rho))
        p = run.r + beta * (p - omega * v)
        p_hat = apply_preconditioner(preconditioner, p)
        v = run.A @ p_hat
        shadow_v = column_dots(shadow, v)
        run.stop_broken(shadow_v.abs() <= tiny * column_norms(shadow) * column_norms(v), BREAKDOWN_RECURRENCE)
        active = run.active
        alpha = torch.where(active, rho_new / _safe(shadow_v), torch.zeros_like(rho))
        s = run.r - alpha * v
        half = column_norms(s) <= run.target
        s_hat = apply_preconditioner(preconditioner, s)
        t = run.A @ s_hat
        ts, tt = column_dots(t, s), column_dots(t, t)
        omega = torch.where(active & ~half, ts / _safe(tt), torch.zeros_like(rho))
        run.stop_broken(active & ~half & (ts.abs() <= tiny * tt.sqrt() * column_norms(s)), BREAKDOWN_RECURRENCE)
        run.x += alpha * p_hat + omega * s_hat
        run.r = torch.where(active, s - omega * t, run.r)
        rho = torch.where(active, rho_new, rho)
        run.iterations += active
        norm = column_norms(run.r)
        run.history.append(norm)
        run.stop_broken(~torch.isfinite(norm), BREAKDOWN_NONFINITE)
        candidates = run.active & (norm <= run.target)
        if bool(candidates.any()) and run.confirm(norm):
            restart = candidates & run.active
            shadow = torch.where(restart, run.r, shadow)
            p = torch.where(restart, torch.zeros_like(p), p)
            v = torch.where(restart, torch.zeros_like(v), v)
            rho, alpha, omega = (torch.where(restart, ones, value) for value in (rho, alpha, omega))
        run.notify(callback)
    return run.result()
