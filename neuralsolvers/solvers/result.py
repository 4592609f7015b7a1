"""What every iterative solver returns and the state it iterates on: ``SolverResult``, ``SolveState``
and the breakdown codes of ``info``.

``SolveState`` converts and checks the inputs once (``neuralsolvers.solvers.system.prepare_system``),
keeps the per-column stopping test ``‖r‖ ≤ max(rtol·‖b‖, atol)`` confirmed on the true residual, the
breakdown bookkeeping and the residual history, and builds the ``SolverResult``: ``cg``, ``fcg``,
``gmres``, ``bicgstab``, ``sor``, ``dcdm`` and ``hybrid`` share it, ``fixed_point`` and
``with_fallback`` return its result. (They lived in ``neuralsolvers.solvers.krylov.conjugate_gradient``,
which still re-exports them.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from neuralsolvers.solvers.operators import Operator, all_finite
from neuralsolvers.solvers.preconditioners import Preconditioner, solver_preconditioner
from neuralsolvers.solvers.system import PreparedSystem, check_symmetric, prepare_system
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike, PreconditionerLike

__all__ = [
    "BREAKDOWN_INDEFINITE", "BREAKDOWN_NONFINITE", "BREAKDOWN_RECURRENCE", "BREAKDOWN_STAGNATION", "ResidualHistory", "SolveState",
    "SolverResult", "column_dots", "column_norms",
]  # fmt: skip

BREAKDOWN_INDEFINITE = -1
BREAKDOWN_NONFINITE = -2
BREAKDOWN_STAGNATION = -3
BREAKDOWN_RECURRENCE = -4


@dataclass
class SolverResult:
    """Outcome of an iterative solve.

    Attributes:
        x: solution, shaped like ``b`` and of its kind (NumPy for a NumPy ``b``; torch on the solve's
            device for a torch ``b``).
        converged: bool (``(k,)`` bool tensor for batched ``b``): true residual below tolerance.
        iterations: iterations done (``(k,)`` tensor for batched ``b``; ``column_iterations``
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
            of an unconverged column); ``column_info`` has one code per column.
        message: ``info`` in words.
        true_residual: final ``‖b − Ax‖ / ‖b‖`` (per column when batched).
        time: wall time in seconds (synchronized on CUDA).
        fallback: whether (per column when batched) a classical method finished the solve after the
            first one failed (``neuralsolvers.solvers.with_fallback``).
        column_info: ``(k,)`` long tensor (``(1,)`` for a vector ``b``): ``info`` of each column.
    """

    x: ArrayLike
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


class ResidualHistory:
    """The residual norms of a solve, ``(k,)`` per iteration, kept in preallocated blocks of
    ``BLOCK`` rows on the solve's device.

    A list of one small tensor per iteration would be as correct, but those long-lived small
    allocations sit between the iterations' freed vector-sized buffers and fragment the C heap: a
    5,000-iteration Jacobi-PCG at 786k unknowns grew the process by 8 GB (glibc raises its mmap
    threshold after the first large free, so later vectors come from the heap). Blocks add one
    allocation per ``BLOCK`` iterations; nothing else outlives an iteration.
    """

    BLOCK = 1024

    def __init__(self, first: torch.Tensor):
        self._blocks = [first.new_empty(self.BLOCK, *first.shape)]
        self._count = 0
        self.append(first)

    def append(self, norm: torch.Tensor) -> None:
        """Record the next ``(k,)`` norms (copied)."""
        row = self._count % self.BLOCK
        if row == 0 and self._count:
            self._blocks.append(self._blocks[-1].new_empty(self._blocks[-1].shape))
        self._blocks[-1][row] = norm
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> torch.Tensor:
        """Entry ``index`` (a view; negative counts from the end)."""
        index = index + self._count if index < 0 else index
        if not 0 <= index < self._count:
            raise IndexError(f"residual history index {index} out of range ({self._count} entries)")
        return self._blocks[index // self.BLOCK][index % self.BLOCK]

    def stacked(self) -> torch.Tensor:
        """Every entry, ``(entries, k)``."""
        return torch.cat(self._blocks)[: self._count]


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
        self.A: Operator = system.A
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
        self.history = ResidualHistory(norm)
        self.active = norm > self.target

    @classmethod
    def begin(
        cls, A: OperatorLike, b: ArrayLike, x0: ArrayLike | None, device: DeviceLike | None, rtol: float, atol: float,
        maxiter: int | None, M: PreconditionerLike, solver: str, needs: str = "any", symmetric: bool = False,
    ) -> tuple[SolveState, Preconditioner | None]:  # fmt: skip
        """The state of a new solve and its checked preconditioner: the inputs converted and checked
        once (``neuralsolvers.solvers.system.prepare_system``), ``M`` checked against them
        (``neuralsolvers.solvers.preconditioners.solver_preconditioner``), the initial residual
        computed (a non-finite one is a ``ValueError``), ``A``'s symmetry probed where ``symmetric``
        (``check_symmetric``), the clock started."""
        start = time.perf_counter()
        system = prepare_system(A, b, x0, device)
        preconditioner = solver_preconditioner(M, system, solver, needs)
        state = cls(system, rtol, atol, maxiter, start)
        if symmetric:
            check_symmetric(state.A, solver)
        return state, preconditioner

    def end_iteration(self, counted: torch.Tensor, callback: Callable[[ArrayLike], None] | None) -> None:
        """Bookkeeping after an iteration that recomputed the true residual ``self.r``: count it for the
        ``counted`` columns, record the residual norms, stop non-finite and converged columns, call back."""
        self.iterations += counted
        norm = column_norms(self.r)
        self.history.append(norm)
        self.stop_broken(~torch.isfinite(norm), BREAKDOWN_NONFINITE)
        self.active = self.active & (norm > self.target)
        self.notify(callback)

    def notify(self, callback: Callable[[ArrayLike], None] | None) -> None:
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
        history = torch.cat([self.history.stacked()[:-1], column_norms(residual)[None]]) / scale
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
