"""Conjugate gradients (``cg``) and flexible conjugate gradients (``fcg``) in torch, batched.

Signatures mirror ``scipy.sparse.linalg.cg``, and every iterative solver of the package shares them:
``solver(A, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, M=None, callback=None, **options)``.
``A``, ``b`` and ``x0`` may be SciPy, NumPy or torch (``neuralsolvers.solvers.system``: converted
once, NumPy's dtype promotion, ``x`` returned in ``b``'s kind; ``device=`` chooses where to solve).
``b`` may be ``(n,)`` or ``(n, k)``: k systems are solved
at once, each column stopping on its own (a converged column's step length is set to zero). The
stopping test ``‖r‖ ≤ max(rtol·‖b‖, atol)`` is first met by the updated residual; the true residual
``b − Ax`` of those columns is then recomputed and must pass too (otherwise the updated residual is
replaced by the true one and the iteration goes on). The final true residual is always recomputed.
Breakdown (``pᵀAp ≤ 0``: the operator or preconditioner is singular or indefinite, e.g. ``b`` in the
null space of a singular ``A``; NaN/Inf anywhere) stops the affected columns with a negative ``info``
and a message; they are never reported as converged (a column stops before a step of zero or
negative curvature, so ``x`` is its last iterate).

Before iterating, the inputs are checked (one ``ValueError`` naming the cause): NaN or Inf in ``b``,
``x0`` or ``A``'s stored entries, or in ``A``'s first product for a matrix-free ``A``; ``cg`` and
``fcg`` also probe ``A``'s symmetry with two products
(``neuralsolvers.solvers.system.check_symmetric``; ``check_symmetry=False`` skips it).

The result, the shared iteration state and the breakdown codes live in ``neuralsolvers.solvers.result``;
they are re-exported here, where they were first defined.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.result import (
    BREAKDOWN_INDEFINITE,
    BREAKDOWN_NONFINITE,
    BREAKDOWN_RECURRENCE,
    BREAKDOWN_STAGNATION,
    SolverResult,
    SolveState,
    column_dots,
    column_norms,
)
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike, PreconditionerLike

__all__ = [
    "BREAKDOWN_INDEFINITE",
    "BREAKDOWN_NONFINITE",
    "BREAKDOWN_RECURRENCE",
    "BREAKDOWN_STAGNATION",
    "SolveState",
    "SolverResult",
    "apply_preconditioner",
    "cg",
    "column_dots",
    "column_norms",
    "fcg",
    "positional_map",
    "renamed_option",
]

# a flexible-CG direction whose norm drops below this fraction of z's in the orthogonalization has vanished
VANISHED = 1e-12


def renamed_option(options: dict[str, Any], old: str, new: str, value: Any, solver: str) -> Any:
    """The value of option ``new``, taking a deprecated ``old`` keyword from ``options`` (with a
    ``DeprecationWarning``); any other leftover keyword is a ``TypeError`` naming it."""
    if old in options:
        warnings.warn(f"{solver}({old}=...) is deprecated: use {new}=", DeprecationWarning, stacklevel=3)
        value = options.pop(old)
    if options:
        raise TypeError(f"{solver}() got unexpected keyword arguments: {', '.join(sorted(options))}")
    return value


def positional_map(x0: ArrayLike | PreconditionerLike, M: PreconditionerLike, solver: str) -> tuple[ArrayLike | None, PreconditionerLike]:
    """``(x0, M)``, accepting the old call form ``solver(A, b, network_map, ...)`` whose third
    positional argument was the learned map (a callable, not an initial guess), with a
    ``DeprecationWarning``."""
    if x0 is None or isinstance(x0, torch.Tensor | np.ndarray) or not callable(x0):
        return x0, M
    if M is not None:
        raise TypeError(f"{solver}() got the learned map twice: as the third argument and as M")
    warnings.warn(f"{solver}(A, b, map) is deprecated: pass the learned map as M= ({solver}(A, b, M=map))", DeprecationWarning, stacklevel=3)
    return None, x0


def apply_preconditioner(M: Preconditioner | None, r: torch.Tensor) -> torch.Tensor:
    """``M(r)``; without a preconditioner ``r`` itself (callers never write into the result)."""
    return r if M is None else M.apply(r)


def cg(
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
    check_symmetry: bool = True,
) -> SolverResult:
    """Preconditioned conjugate gradients for SPD ``A`` (``scipy.sparse.linalg.cg`` semantics).

    The method of Hestenes and Stiefel, "Methods of Conjugate Gradients for Solving Linear Systems"
    (Journal of Research of the National Bureau of Standards 49, 1952,
    <https://doi.org/10.6028/jres.049.044>), preconditioned as in Saad,
    *Iterative Methods for Sparse Linear Systems* (2nd ed., SIAM, 2003, ch. 6 and 9). With
    ``z_j = M r_j``:

        α_j = r_jᵀz_j / p_jᵀAp_j,   x_{j+1} = x_j + α_j p_j,   r_{j+1} = r_j − α_j A p_j,
        β_j = r_{j+1}ᵀz_{j+1} / r_jᵀz_j,   p_{j+1} = z_{j+1} + β_j p_j,   p_0 = z_0.

    Args:
        A: matrix or operator: SciPy sparse or ``LinearOperator``, NumPy/torch dense, torch CSR, or
            ours (``OperatorLike``; see ``neuralsolvers.solvers.system``).
        b: right-hand side ``(n,)`` or ``(n, k)``, NumPy or torch.
        x0: initial guess, shaped like ``b``.
        rtol: stop when ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)``.
        atol: see `rtol`.
        maxiter: iteration cap (default ``10 n``).
        M: preconditioner approximating ``A⁻¹``; must be linear and SPD (use ``fcg`` otherwise).
        callback: called with the current ``x`` (in ``b``'s kind) after each iteration.
        device: where to solve (default: where ``A``, else a torch ``b``, lives).
        check_symmetry: probe ``A``'s symmetry with two products first
            (``neuralsolvers.solvers.system.check_symmetric``).

    Raises:
        TypeError: ``M`` is not declared linear and SPD.
        ValueError: ``b``, ``x0`` or ``M`` do not fit ``A`` (size, device; both named); NaN or Inf
            in ``b``, ``x0`` or ``A``; ``A`` clearly nonsymmetric (use ``gmres`` or ``bicgstab``).
        ConfigError: ``device`` names a device this machine does not have.

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult] of the solve.

    Shapes:
        - **A:** ``(n, n)``: a matrix, or an operator whose ``shape`` is ``(n, n)``.
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **M:** residual columns ``(n, k)`` (``k = 1`` for a vector ``b``; units of ``b``) to
          corrections ``(n, k)`` (units of ``x``).
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative
          residuals ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    run, preconditioner = SolveState.begin(A, b, x0, device, rtol, atol, maxiter, M, "cg", needs="linear_spd", symmetric=check_symmetry)
    z = apply_preconditioner(preconditioner, run.r)
    p = z.clone()
    rz = column_dots(run.r, z)
    zero = torch.zeros_like(rz)
    any_active = bool(run.active.any())
    for _ in range(run.maxiter):
        if not any_active:
            break
        Ap = run.A @ p
        pAp = column_dots(p, Ap)
        # no step along a direction of zero or negative curvature (or NaN): the column stops below
        stepping = run.active & (pAp > 0)
        alpha = torch.where(stepping, rz / pAp, zero)
        run.x.addcmul_(p, alpha)
        run.r.addcmul_(Ap, alpha, value=-1)
        run.iterations += run.active
        norm = column_norms(run.r)
        run.history.append(norm)
        z = apply_preconditioner(preconditioner, run.r)
        rz_new = column_dots(run.r, z)
        # one test per iteration: does any active column need attention (converged, broken, NaN)?
        event = (stepping & (norm > run.target) & (rz_new > 0)) != run.active
        if bool(event.any()):
            if run.handle_events(norm, pAp, rz_new):
                z = apply_preconditioner(preconditioner, run.r)
                rz_new = column_dots(run.r, z)
            any_active = bool(run.active.any())
        run.notify(callback)
        beta = torch.where(run.active, rz_new / rz, zero)
        p.mul_(beta).add_(z)
        rz = rz_new
    return run.result()


def fcg(
    A: OperatorLike,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: PreconditionerLike = None,
    callback: Callable[[ArrayLike], None] | None = None,
    keep: int = 1,
    device: DeviceLike | None = None,
    check_symmetry: bool = True,
    **deprecated: Any,
) -> SolverResult:
    """Flexible conjugate gradients FCG(m) for nonlinear or changing preconditioners.

    Notay, "Flexible Conjugate Gradients" (SIAM Journal on Scientific Computing 22(4), 2000); see
    also Saad, *Iterative Methods for Sparse Linear Systems* (2nd ed., SIAM, 2003, ch. 9). With
    ``z = M(r)`` each direction is A-orthogonalized against the last ``m = keep`` kept directions
    and the step is the exact line search:

        p = z − Σ_j (zᵀAp_j / p_jᵀAp_j) p_j,   α = pᵀr / pᵀAp,   x ← x + α p,   r ← r − α A p

    (Polak–Ribière form; with a fixed SPD ``M`` and ``m = 1`` it equals PCG).
    Arguments as in ``cg``; ``M`` may be any preconditioner, nonlinear included.
    A preconditioner output that vanishes in the orthogonalization (zero, or a combination of the
    kept directions) stops its column with ``info = −3`` (no progress). ``truncation=`` is the
    deprecated name of ``keep``. ``A`` must be SPD: its symmetry is probed as in ``cg``
    (``check_symmetry``).

    Args:
        A: SPD matrix or operator, as in ``cg``.
        b: right-hand side ``(n,)`` or ``(n, k)``.
        x0: initial guess, shaped like ``b``.
        rtol: stop when ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)``.
        atol: see `rtol`.
        maxiter: iteration cap (default ``10 n``).
        M: preconditioner approximating ``A⁻¹``: any map, linear or not.
        callback: called with the current ``x`` (in ``b``'s kind) after each iteration.
        keep: ``m``, the directions each new one is A-orthogonalized against (at least 1).
        device: where to solve (as in ``cg``).
        check_symmetry: probe ``A``'s symmetry with two products first (as in ``cg``).
        **deprecated: ``truncation=``, the old name of ``keep`` (with a ``DeprecationWarning``).

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult] of the solve.

    Shapes:
        - **A:** ``(n, n)``: a matrix, or an operator whose ``shape`` is ``(n, n)``.
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **M:** residual columns ``(n, k)`` (``k = 1`` for a vector ``b``; units of ``b``) to
          directions ``(n, k)`` (any scale: the line search sets the step).
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative
          residuals ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    keep = renamed_option(deprecated, "truncation", "keep", keep, "fcg")
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    run, preconditioner = SolveState.begin(A, b, x0, device, rtol, atol, maxiter, M, "fcg", symmetric=check_symmetry)
    directions: deque[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = deque(maxlen=keep)
    for _ in range(run.maxiter):
        if not bool(run.active.any()):
            break
        z = apply_preconditioner(preconditioner, run.r)
        run.stop_broken(~torch.isfinite(z).all(0), BREAKDOWN_NONFINITE)
        z = torch.where(run.active, z, torch.zeros_like(z))
        if not bool(run.active.any()):
            break
        p = z
        for p_j, Ap_j, pAp_j in directions:
            p = p - (column_dots(z, Ap_j) / pAp_j) * p_j
        Ap = run.A @ p
        pAp = column_dots(p, Ap)
        # nothing left of the direction (z zero, or in the span of the kept directions): no progress,
        # not an indefinite operator
        run.stop_broken(column_norms(p) <= VANISHED * column_norms(z), BREAKDOWN_STAGNATION)
        active = run.active & torch.isfinite(pAp) & (pAp > 0)
        safe = torch.where(active, pAp, torch.ones_like(pAp))
        alpha = torch.where(active, column_dots(p, run.r) / safe, torch.zeros_like(pAp))
        run.x.addcmul_(p, alpha)
        run.r.addcmul_(Ap, alpha, value=-1)
        directions.append((p, Ap, safe))
        run.iterations += active
        norm = column_norms(run.r)
        run.history.append(norm)
        run.handle_events(norm, pAp)
        run.notify(callback)
    return run.result()
