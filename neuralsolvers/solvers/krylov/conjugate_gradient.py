"""Conjugate gradients (``cg``) and flexible conjugate gradients (``fcg``) in torch, batched.

Signatures mirror ``scipy.sparse.linalg.cg``, and every iterative solver of the package shares them:
``solver(A, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, M=None, callback=None, **options)``.
``A``, ``b`` and ``x0`` may be SciPy, NumPy or torch (:mod:`~neuralsolvers.solvers.system`: converted
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
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuralsolvers.solvers.operators import LinearOperator, all_finite
from neuralsolvers.solvers.preconditioners import Preconditioner, solver_preconditioner
from neuralsolvers.solvers.system import PreparedSystem, check_symmetric, prepare_system

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

BREAKDOWN_INDEFINITE = -1
BREAKDOWN_NONFINITE = -2
BREAKDOWN_STAGNATION = -3
BREAKDOWN_RECURRENCE = -4
# a flexible-CG direction whose norm drops below this fraction of z's in the orthogonalization has vanished
VANISHED = 1e-12


@dataclass
class SolverResult:
    """Outcome of an iterative solve.

    Attributes:
        x: solution, shaped like ``b`` and of its kind (NumPy for a NumPy ``b``; torch on the solve's
            device for a torch ``b``).
        converged: bool (``(k,)`` bool tensor for batched ``b``): true residual below tolerance.
        iterations: iterations done (``(k,)`` tensor for batched ``b``; :attr:`column_iterations`
            is always per column, ``max(column_iterations)`` the batch's summary).
        residuals: relative residual norms ``‖r_j‖ / ‖b‖`` per iteration, ``(iterations + 1,)`` or
            ``(iterations + 1, k)``; the last row is the recomputed true residual.
        info: 0 converged; > 0 not converged: the iterations done (1 when none was allowed,
            ``maxiter=0``, and ``x0`` does not meet the tolerance: never 0 unless converged); −1
            breakdown: singular or indefinite operator or preconditioner (``pᵀAp ≤ 0`` or ``rᵀz ≤ 0``,
            e.g. ``b`` in the null space of a singular ``A``); −2 NaN/Inf;
            −3 no progress (``dcdm``: a direction that vanishes after A-orthogonalization); −4 the
            recurrence broke down (``bicgstab``: ρ or ω vanished; ``gmres``: singular Hessenberg).
            For batched ``b`` the summary (the first breakdown code met, else the most iterations
            of an unconverged column); :attr:`column_info` has one code per column.
        message: ``info`` in words.
        true_residual: final ``‖b − Ax‖ / ‖b‖`` (per column when batched).
        time: wall time in seconds (synchronized on CUDA).
        fallback: whether (per column when batched) a classical method finished the solve after the
            first one failed (:func:`~neuralsolvers.solvers.learned.fallback.with_fallback`).
        column_info: ``(k,)`` long tensor (``(1,)`` for a vector ``b``): ``info`` of each column.
    """

    x: torch.Tensor | np.ndarray
    converged: bool | torch.Tensor
    iterations: int | torch.Tensor
    residuals: torch.Tensor
    info: int
    message: str
    true_residual: float | torch.Tensor
    time: float
    fallback: bool | torch.Tensor = False
    column_info: torch.Tensor | None = None

    @property
    def column_iterations(self) -> torch.Tensor:
        """Iterations per column, ``(k,)`` (``(1,)`` for a vector ``b``)."""
        return torch.as_tensor(self.iterations).reshape(-1)


def column_norms(r: torch.Tensor) -> torch.Tensor:
    """Column-wise 2-norms ``(n, k) -> (k,)``."""
    return torch.linalg.vector_norm(r, dim=0)


def column_dots(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Column-wise dot products ``(n, k), (n, k) -> (k,)`` (a BLAS dot when ``k = 1``)."""
    if a.shape[1] == 1:
        return (a[:, 0] @ b[:, 0]).reshape(1)
    return (a * b).sum(0)


class SolveState:
    """State shared by the iterative methods (``cg``, ``fcg``, ``hybrid``, ``dcdm``): set-up,
    stopping, breakdown bookkeeping and the result."""

    def __init__(self, system: PreparedSystem, rtol: float, atol: float, maxiter: int | None, start: float | None = None):
        if rtol < 0 or atol < 0:
            raise ValueError(f"rtol and atol must be non-negative, got {rtol} and {atol}")
        if maxiter is not None and maxiter < 0:
            raise ValueError(f"maxiter must be non-negative, got {maxiter}")
        self.start = time.perf_counter() if start is None else start
        self.system = system
        self.A: LinearOperator = system.A
        b, x0 = system.b, system.x0
        n = self.A.shape[0]
        self.vector = b.dim() == 1
        self.b = b[:, None] if self.vector else b
        self.x = torch.zeros_like(self.b) if x0 is None else x0.reshape(self.b.shape).clone()
        self.maxiter = 10 * n if maxiter is None else int(maxiter)
        self.b_norm = column_norms(self.b)
        self.target = torch.clamp(rtol * self.b_norm, min=atol)
        self.r = self.b - self.A @ self.x
        if self.b.device.type != "meta" and not all_finite(self.r):
            product = "A @ 0" if x0 is None else "A @ x0"
            raise ValueError(f"A gave NaN or Inf for a finite input ({product}): check the operator")
        k = self.b.shape[1]
        self.iterations = torch.zeros(k, dtype=torch.long, device=b.device)
        self.status = torch.zeros(k, dtype=torch.long, device=b.device)
        norm = column_norms(self.r)
        self.history = [norm]
        self.active = norm > self.target

    @classmethod
    def begin(
        cls, A: Any, b: Any, x0: Any, device: Any, rtol: float, atol: float, maxiter: int | None,
        M: Any, solver: str, needs: str = "any", symmetric: bool = False,
    ) -> tuple[SolveState, Preconditioner | None]:  # fmt: skip
        """The state of a new solve and its checked preconditioner: the inputs converted and checked
        once (:func:`~neuralsolvers.solvers.system.prepare_system`), ``M`` checked against them
        (:func:`~neuralsolvers.solvers.preconditioners.solver_preconditioner`), the initial residual
        computed (a non-finite one is a ``ValueError``), ``A``'s symmetry probed where ``symmetric``
        (``check_symmetric``), the clock started."""
        start = time.perf_counter()
        system = prepare_system(A, b, x0, device)
        preconditioner = solver_preconditioner(M, system, solver, needs)
        state = cls(system, rtol, atol, maxiter, start)
        if symmetric:
            check_symmetric(state.A, solver)
        return state, preconditioner

    def end_iteration(self, counted: torch.Tensor, callback: Callable[[torch.Tensor], None] | None) -> None:
        """Bookkeeping after an iteration that recomputed the true residual ``self.r``: count it for the
        ``counted`` columns, record the residual norms, stop non-finite and converged columns, call back."""
        self.iterations += counted
        norm = column_norms(self.r)
        self.history.append(norm)
        self.stop_broken(~torch.isfinite(norm), BREAKDOWN_NONFINITE)
        self.active = self.active & (norm > self.target)
        self.notify(callback)

    def notify(self, callback: Callable[[Any], None] | None) -> None:
        """Call ``callback`` with the current ``x`` in ``b``'s kind (NumPy for a NumPy ``b``, as SciPy)."""
        if callback is not None:
            callback(self.system.output(self.x[:, 0] if self.vector else self.x))

    def stop_broken(self, bad: torch.Tensor, code: int) -> None:
        self.status = torch.where(bad & self.active, torch.full_like(self.status, code), self.status)
        self.active = self.active & ~bad

    def handle_events(self, norm: torch.Tensor, curvature: torch.Tensor, rz: torch.Tensor | None = None) -> bool:
        """Stop broken columns, confirm converged ones on the true residual; True if ``r`` was replaced.

        ``curvature`` is ``pᵀAp`` (must be > 0), ``rz`` is ``rᵀz`` for the next step (must be > 0
        unless the residual met the target: an exactly solved column has ``r = 0``); a NaN anywhere
        fails these tests and is classified as non-finite.
        """
        finite = torch.isfinite(norm) & torch.isfinite(curvature)
        positive = curvature > 0
        if rz is not None:
            finite &= torch.isfinite(rz)
            positive &= (rz > 0) | (norm <= self.target)
        self.stop_broken(~finite, BREAKDOWN_NONFINITE)
        self.stop_broken(~positive, BREAKDOWN_INDEFINITE)
        return self.confirm(norm)

    def confirm(self, norm: torch.Tensor) -> bool:
        """Stop the active columns whose updated residual ``norm`` and true residual both meet the
        target; where only the updated one does, ``r`` is replaced by the true residual (True)."""
        candidates = self.active & (norm <= self.target)
        if not bool(candidates.any()):
            return False
        true = self.b - self.A @ self.x
        done = candidates & (column_norms(true) <= self.target)
        self.active = self.active & ~done
        drifted = candidates & ~done
        if bool(drifted.any()):
            self.r = torch.where(drifted, true, self.r)
            return True
        return False

    def result(self) -> SolverResult:
        residual = self.b - self.A @ self.x
        scale = torch.where(self.b_norm > 0, self.b_norm, torch.ones_like(self.b_norm))
        true = column_norms(residual) / scale
        finite = torch.isfinite(self.x).all(0) & torch.isfinite(true)
        converged = (column_norms(residual) <= self.target) & finite & (self.status == 0)
        history = torch.stack(self.history[:-1] + [column_norms(residual)]) / scale
        if self.b.device.type == "cuda":
            torch.cuda.synchronize(self.b.device)
        if bool((self.status == BREAKDOWN_NONFINITE).any()) or not bool(finite.all()):
            info, message = BREAKDOWN_NONFINITE, "breakdown: NaN or Inf in the iteration (operator or preconditioner output)"
        elif bool((self.status == BREAKDOWN_STAGNATION).any()):
            info, message = BREAKDOWN_STAGNATION, (
                "no progress: the new direction vanished after A-orthogonalization against the kept ones "
                "(a preconditioner or network that does not respond to the residual)"
            )
        elif bool((self.status == BREAKDOWN_RECURRENCE).any()):
            info, message = BREAKDOWN_RECURRENCE, (
                "breakdown: the recurrence vanished (BiCGStab ρ = r̂ᵀr or ω = 0; GMRES singular Hessenberg)"
            )
        elif bool((self.status == BREAKDOWN_INDEFINITE).any()):
            info, message = BREAKDOWN_INDEFINITE, "breakdown: singular or indefinite operator or preconditioner (pᵀAp ≤ 0 or rᵀz ≤ 0: not SPD)"
        elif bool(converged.all()):
            info, message = 0, "converged"
        else:  # never 0: with maxiter=0 (no iteration done) info = 1
            done = int(self.iterations.max())
            info, message = max(done, 1), f"not converged in {done} iterations (maxiter={self.maxiter})"
        column_info = torch.where(
            self.status != 0, self.status, torch.where(converged, torch.zeros_like(self.iterations), self.iterations.clamp_min(1))
        )
        x = self.x[:, 0] if self.vector else self.x
        return SolverResult(
            x=self.system.output(x),
            converged=bool(converged[0]) if self.vector else converged,
            iterations=int(self.iterations[0]) if self.vector else self.iterations,
            residuals=history[:, 0] if self.vector else history,
            info=info,
            message=message,
            true_residual=float(true[0]) if self.vector else true,
            time=time.perf_counter() - self.start,
            column_info=column_info,
        )


def renamed_option(options: dict[str, Any], old: str, new: str, value: Any, solver: str) -> Any:
    """The value of option ``new``, taking a deprecated ``old`` keyword from ``options`` (with a
    ``DeprecationWarning``); any other leftover keyword is a ``TypeError`` naming it."""
    if old in options:
        warnings.warn(f"{solver}({old}=...) is deprecated: use {new}=", DeprecationWarning, stacklevel=3)
        value = options.pop(old)
    if options:
        raise TypeError(f"{solver}() got unexpected keyword arguments: {', '.join(sorted(options))}")
    return value


def positional_map(x0: Any, M: Any, solver: str) -> tuple[Any, Any]:
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
    A: Any,
    b: Any,
    x0: Any = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable[[torch.Tensor], None] | None = None,
    device: str | torch.device | None = None,
    check_symmetry: bool = True,
) -> SolverResult:
    """Preconditioned conjugate gradients for SPD ``A`` (``scipy.sparse.linalg.cg`` semantics).

    Args:
        A: matrix or operator: SciPy sparse or ``LinearOperator``, NumPy/torch dense, torch CSR, or
            ours (see :mod:`~neuralsolvers.solvers.system`).
        b: right-hand side ``(n,)`` or ``(n, k)``, NumPy or torch.
        x0: initial guess, shaped like ``b``.
        rtol, atol: stop when ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)``.
        maxiter: iteration cap (default ``10 n``).
        M: preconditioner approximating ``A⁻¹``; must be linear and SPD (use :func:`fcg` otherwise).
        callback: called with the current ``x`` (in ``b``'s kind) after each iteration.
        device: where to solve (default: where ``A``, else a torch ``b``, lives).
        check_symmetry: probe ``A``'s symmetry with two products first
            (``neuralsolvers.solvers.system.check_symmetric``).

    Raises:
        TypeError: ``M`` is not declared linear and SPD.
        ValueError: ``b``, ``x0`` or ``M`` do not fit ``A`` (size, device; both named); NaN or Inf
            in ``b``, ``x0`` or ``A``; ``A`` clearly nonsymmetric (use ``gmres`` or ``bicgstab``).
        ConfigError: ``device`` names a device this machine does not have.
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
    A: Any,
    b: Any,
    x0: Any = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable[[torch.Tensor], None] | None = None,
    keep: int = 1,
    device: str | torch.device | None = None,
    check_symmetry: bool = True,
    **deprecated: Any,
) -> SolverResult:
    """Flexible conjugate gradients FCG(m) (Notay 2000) for nonlinear or changing preconditioners.

    Each direction is ``p = z − Σ_j (zᵀAp_j / p_jᵀAp_j) p_j`` over the last ``m = keep`` kept
    directions (Polak–Ribière form; with a fixed SPD ``M`` and ``m = 1`` it equals PCG), with the
    exact step ``α = pᵀr / pᵀAp``. Arguments as in :func:`cg`; ``M`` may be any preconditioner.
    A preconditioner output that vanishes in the orthogonalization (zero, or a combination of the
    kept directions) stops its column with ``info = −3`` (no progress). ``truncation=`` is the
    deprecated name of ``keep``. ``A`` must be SPD: its symmetry is probed as in ``cg``
    (``check_symmetry``).
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
