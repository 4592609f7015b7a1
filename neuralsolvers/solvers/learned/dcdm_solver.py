"""The deep conjugate-direction method (Kaneda et al., ICML 2023).

Each iteration asks a network for a search direction ``q = f(r)`` (``f ≈ c·A⁻¹``, any constant
``c``; the residual is scaled to unit RMS on the way in), A-orthogonalizes it against the last
``keep`` directions (``q ← q − (qᵀAp_j / p_jᵀAp_j) p_j``), steps with the exact line search
``x ← x + (qᵀr / qᵀAq) q`` and recomputes the true residual ``r = b − Ax`` (two operator products per
iteration, as the paper). It is truncated flexible CG with a nonlinear preconditioner: the network
need not be linear or symmetric, and the energy norm of the error never increases.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from neuralsolvers.solvers.krylov.conjugate_gradient import positional_map
from neuralsolvers.solvers.learned.field_preconditioner import (
    FieldPreconditioner,
    NetworkWrapping,
    normalized_call,
)
from neuralsolvers.solvers.result import (
    BREAKDOWN_INDEFINITE,
    BREAKDOWN_NONFINITE,
    BREAKDOWN_STAGNATION,
    SolverResult,
    SolveState,
    column_dots,
    column_norms,
)
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike, PreconditionerLike

__all__ = ["dcdm", "dcdm_preconditioner", "dcdm_wrapping"]

# a direction whose energy drops below this fraction in the A-orthogonalization has vanished
STAGNATION = 1e-12


def dcdm(
    A: OperatorLike,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: PreconditionerLike = None,
    callback: Callable[[ArrayLike], None] | None = None,
    keep: int = 2,
    device: DeviceLike | None = None,
) -> SolverResult:
    """Solve ``Ax = b`` (SPD ``A``) with network search directions.

    The deep conjugate-direction method of Kaneda et al., "A Deep Conjugate Direction Method for
    Iteratively Solving Linear Systems" (ICML 2023,
    <https://openreview.net/forum?id=TvILWDB5ke>). With ``f ≈ c·A⁻¹`` the direction map ``M``
    and ``r̃ = r / rms(r)``, iteration ``j``:

        q = f(r̃) · rms(r),   q ← q − Σ_{i ∈ last keep} (qᵀAp_i / p_iᵀAp_i) p_i,
        α = qᵀr / qᵀAq,   x ← x + α q,   r = b − A x,   p_j = q.

    Args:
        A: SPD matrix or operator (anything ``cg`` takes).
        b: right-hand side ``(n,)`` or ``(n, k)`` (columns solved at once, each stopping on its own).
        x0: as in ``cg``
            (``maxiter`` default ``10 n``).
        rtol: see `x0`.
        atol: see `x0`.
        maxiter: see `x0`.
        callback: see `x0`.
        device: see `x0`.
        M: the direction map ``f``, residual columns ``(n, k)`` to directions ``(n, k)``: a
            preconditioner (e.g. a ``FieldPreconditioner`` around a
            ``DCDMNet``, or what ``neuralsolvers.load_preconditioner`` returns) or a callable;
            None: the residual itself (then DCDM is CG with ``keep`` kept directions).
        keep: directions each new one is A-orthogonalized against (2 in the paper).

    The old form ``dcdm(A, b, direction, ...)`` still works, with a ``DeprecationWarning``.

    A non-finite direction stops its column with ``info = −2``; a direction that vanishes in the
    orthogonalization (zero, or in the span of the kept ones: its ``qᵀAq`` drops below ``1e-12`` of
    its value) with ``info = −3``; a direction with ``qᵀAq ≤ 0`` otherwise (a singular or
    indefinite ``A``) with ``info = −1``.

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult] of the solve (breakdown
            codes above).

    Shapes:
        - **A:** ``(n, n)``: a matrix, or an operator whose ``shape`` is ``(n, n)`` (for a network
          on a grid, ``n = prod(grid)``, unknowns in C order).
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **M:** residual columns ``(n, k)`` (``k = 1`` for a vector ``b``) to directions
          ``(n, k)``, any scale (the line search sets the step).
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative
          residuals ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    x0, M = positional_map(x0, M, "dcdm")
    if keep < 0:
        raise ValueError(f"keep must be non-negative, got {keep}")
    run, preconditioner = SolveState.begin(A, b, x0, device, rtol, atol, maxiter, M, "dcdm")
    direction = (lambda r: r) if preconditioner is None else preconditioner.apply
    zero = torch.zeros_like(run.x)
    kept: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for _ in range(run.maxiter):
        if not bool(run.active.any()):
            break
        with torch.no_grad():
            q = normalized_call(direction, run.r)
        run.stop_broken(~torch.isfinite(q).all(0), BREAKDOWN_NONFINITE)
        q = torch.where(run.active, q, zero)
        given = column_norms(q)
        Aq = run.A @ q
        raw = column_dots(q, Aq)
        for p, Ap, pAp in kept:
            beta = torch.where(pAp > 0, column_dots(q, Ap) / pAp, 0.0)
            q, Aq = q - beta * p, Aq - beta * Ap
        curvature = column_dots(q, Aq)
        run.stop_broken(~torch.isfinite(curvature), BREAKDOWN_NONFINITE)
        # nothing left of the direction: the network gave zero or a combination of the kept directions
        # (a nonzero direction of zero energy is in A's null space: singular, below)
        run.stop_broken((given == 0) | ((raw > 0) & (curvature <= STAGNATION * raw)), BREAKDOWN_STAGNATION)
        run.stop_broken(~(curvature > 0), BREAKDOWN_INDEFINITE)
        if not bool(run.active.any()):
            break
        alpha = torch.where(run.active, column_dots(q, run.r) / torch.where(curvature > 0, curvature, 1.0), 0.0)
        run.x = run.x + alpha * q
        run.r = run.b - run.A @ run.x
        kept = [*kept, (q, Aq, curvature)][-keep:] if keep else []
        run.end_iteration(run.active, callback)
    return run.result()


def dcdm_wrapping(network: torch.nn.Module, dim: int | None = None) -> NetworkWrapping:
    """How a DCDM network is wrapped, in training and in the solver: the fluid mask as channel 0 when
    the network takes two channels, residuals scaled to unit RMS, directions zeroed on obstacle cells,
    nonlinear, meant for the DCDM iteration. ``dim``: of a network (a plain callable) that does not say."""
    inputs = ("mask", "residual") if getattr(network, "in_channels", 1) == 2 else ("residual",)
    return NetworkWrapping(dim=getattr(network, "dim", dim), inputs=inputs, solver="dcdm")


def dcdm_preconditioner(
    network: torch.nn.Module, mask: torch.Tensor, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"
) -> FieldPreconditioner:
    """A DCDM network as the direction map of ``dcdm`` or the preconditioner of ``fcg`` on one scene.

    ``mask`` (bool or 0/1, shape ``grid``, 2D or 3D) is the fluid mask: it is the network's first
    input channel when the network takes two (``in_channels = 2``), and the directions are zeroed on
    obstacle cells (whose rows are the identity and whose residual is zero), so the iterates stay
    zero there. Residuals are scaled to unit RMS before the network, as in training
    (``dcdm_wrapping``).
    """
    return dcdm_wrapping(network, dim=mask.dim()).build(network, mask, dtype, device)
