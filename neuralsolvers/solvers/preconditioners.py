"""Preconditioners: one interface (``apply(r)``, ``as_linear_operator()``) for classical and learned ones.

A preconditioner approximates ``A⁻¹``: ``z = M(r)``. ``linear`` says whether it is a fixed linear
map, ``linear_spd`` whether it is also symmetric positive definite: plain ``cg`` accepts only those,
``bicgstab`` and ``Preconditioner.as_linear_operator`` only linear ones, the flexible ``fcg``,
``gmres`` and ``dcdm`` any. ``solver_preconditioner`` is what every solver calls: it converts a
raw matrix to the solve's dtype and device and checks the rest against the system before the first
iteration. A preconditioner built in another floating dtype than the solve's (a float32 multigrid in a
float64 solve) is applied in its own: the residual is cast to its dtype, the result back
(``CastPreconditioner``); the Krylov method keeps the solve's accuracy, the preconditioner its
speed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse.linalg as spla
import torch
from torch import nn

from neuralsolvers.solvers.operators import Operator, as_operator, normal_device
from neuralsolvers.solvers.system import PreparedSystem, check_preconditioner
from neuralsolvers.solvers.threads import single_threaded_blas, torch_thread_budget
from neuralsolvers.solvers.types import DeviceLike, OperatorLike, PreconditionerLike

if TYPE_CHECKING:  # the result module imports this one
    from neuralsolvers.solvers.result import SolverResult

__all__ = [
    "CastPreconditioner", "ModulePreconditioner", "OperatorPreconditioner", "Preconditioner", "as_preconditioner",
    "PreconditionerOperator", "solver_preconditioner",
]  # fmt: skip

FLEXIBLE = "use the flexible fcg or dcdm (or gmres), which take any preconditioner"


class Preconditioner:
    """Base class. Subclasses implement ``apply`` on ``(n,)`` and ``(n, k)`` tensors."""

    linear: bool = True
    linear_spd: bool = True
    shape: tuple[int, int]
    dtype: torch.dtype
    device: torch.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return self.apply(r)

    meant_for: str | None = None  # the name of the solver this preconditioner was made for, if any

    @property
    def solver(self) -> Callable[..., SolverResult]:
        """The solver function to use this preconditioner with: the one it was made for
        (``meant_for``, e.g. ``dcdm`` for a DCDM network), else ``cg`` for a linear SPD one and the
        flexible ``fcg`` otherwise. ``M.solver(A, b, M=M)`` solves."""
        import neuralsolvers.solvers as solvers  # the solvers import this module

        if self.meant_for is not None:
            return getattr(solvers, self.meant_for)
        return solvers.cg if self.linear_spd else solvers.fcg

    def as_linear_operator(self) -> spla.LinearOperator:
        """The preconditioner as a ``scipy.sparse.linalg.LinearOperator`` (float64, NumPy in and out):
        a ``PreconditionerOperator``, whose calls run torch with a thread budget that leaves the cores
        of NumPy's BLAS workers alone; ``with M.as_linear_operator() as op: spla.cg(A, b, M=op)`` also
        keeps NumPy's BLAS on one thread for the solve, the fastest (see ``PreconditionerOperator``).

        Raises:
            TypeError: for a preconditioner not declared linear (SciPy's and PyAMG's Krylov methods
                assume a fixed linear map).
        """
        if not self.linear:
            raise TypeError(f"{self!r} is not declared linear, so it is no LinearOperator: {FLEXIBLE}")
        return PreconditionerOperator(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.shape[0]}, linear={self.linear}, linear_spd={self.linear_spd})"


class PreconditionerOperator(spla.LinearOperator):
    """A linear ``Preconditioner`` as a SciPy ``LinearOperator`` (float64, NumPy in and out), for SciPy's
    and PyAMG's Krylov methods.

    Each call runs the preconditioner with ``threads.torch_thread_budget()``: torch's intra-op threads
    less the workers of NumPy's BLAS pool, which SciPy's dot products leave busy-waiting on their cores
    (on a 2-core machine: one torch thread), and torch's setting back after the call. Used as a context
    manager, the operator also keeps NumPy's and SciPy's BLAS on one thread for the block: then no BLAS
    worker spins and torch keeps all its threads, as fast as ``neuralsolvers.solvers.cg``:

        with M.as_linear_operator() as op:
            x, info = scipy.sparse.linalg.cg(A, b, M=op)
    """

    def __init__(self, preconditioner: Preconditioner):
        super().__init__(np.float64, preconditioner.shape)
        self.preconditioner = preconditioner
        self._blas_limits: list[ExitStack] = []

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        M = self.preconditioner
        r = torch.as_tensor(np.asarray(X), dtype=M.dtype, device=M.device)
        with torch_thread_budget() if M.device.type == "cpu" else nullcontext():
            z = M.apply(r.reshape(M.shape[0], -1))
        return z.reshape(X.shape).double().cpu().numpy()

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self._matmat(x)

    def __enter__(self) -> PreconditionerOperator:
        stack = ExitStack()
        stack.enter_context(single_threaded_blas())
        self._blas_limits.append(stack)
        return self

    def __exit__(self, *exc: object) -> None:
        self._blas_limits.pop().close()


class OperatorPreconditioner(Preconditioner):
    """An explicit approximation of ``A⁻¹`` given as a matrix or operator (assumed SPD, as in SciPy)."""

    def __init__(self, M: OperatorLike):
        self.operator: Operator = as_operator(M)
        self.shape, self.dtype, self.device = self.operator.shape, self.operator.dtype, self.operator.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return self.operator @ r


class ModulePreconditioner(Preconditioner):
    """Any ``torch.nn.Module`` (or callable) ``r ↦ z`` acting on ``(n, k)`` batches of residual columns.

    Args:
        module: maps ``(n, k)`` to ``(n, k)``.
        n: problem size.
        linear_spd: declare the map linear, symmetric and positive definite (then ``cg`` may use it);
            a trained network is in general not, so the default is False: only ``fcg`` uses it.
        linear: declare the map linear (``bicgstab`` and ``as_linear_operator`` need it); default
            ``linear_spd``.
        dtype: of the residuals it maps.
        device: see `dtype`.
    """

    def __init__(
        self, module: Callable[[torch.Tensor], torch.Tensor], n: int, linear_spd: bool = False, dtype: torch.dtype = torch.float64,
        device: DeviceLike = "cpu", linear: bool | None = None,
    ):  # fmt: skip
        self.module = module
        self.linear_spd = linear_spd
        self.linear = linear_spd if linear is None else linear
        self.shape, self.dtype, self.device = (n, n), dtype, normal_device(device)

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if r.dim() == 1:
                return self.module(r[:, None])[:, 0]
            return self.module(r)


class CastPreconditioner(Preconditioner):
    """A preconditioner of another floating dtype applied in the solve's: ``z = M(r.to(M.dtype)).to(dtype)``.

    Args:
        inner: the preconditioner (its linearity, SPD-ness and solver are this one's).
        dtype: the solve's dtype, of ``r`` and ``z``.
    """

    def __init__(self, inner: Preconditioner, dtype: torch.dtype):
        self.inner = inner
        self.linear, self.linear_spd, self.meant_for = inner.linear, inner.linear_spd, inner.meant_for
        self.shape, self.dtype, self.device = inner.shape, dtype, inner.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return self.inner.apply(r.to(self.inner.dtype)).to(self.dtype)

    def __repr__(self) -> str:
        return f"{self.inner!r} in {self.dtype}"


def as_preconditioner(M: PreconditionerLike, dtype: torch.dtype | None = None, device: DeviceLike | None = None) -> Preconditioner | None:
    """``None``, a ``Preconditioner`` (as it is), or an explicit ``A⁻¹`` approximation (a matrix or
    operator, converted to ``dtype`` on ``device`` if given). A network or a bare callable is refused:
    wrap it in ``ModulePreconditioner`` so that its size and linearity are explicit."""
    if M is None or isinstance(M, Preconditioner):
        return M
    if isinstance(M, nn.Module):
        raise TypeError("wrap a network in ModulePreconditioner(module, n) so its size and linearity are explicit")
    if isinstance(M, Operator | torch.Tensor | np.ndarray) or hasattr(M, "matvec") or hasattr(M, "tocsr"):
        operator = as_operator(M, dtype=dtype, device=device)
        return OperatorPreconditioner(operator.to(dtype, device))
    if callable(M):
        raise TypeError("wrap a callable preconditioner in ModulePreconditioner(fn, n)")
    raise TypeError(f"cannot use {type(M).__name__} as a preconditioner")


def solver_preconditioner(M: PreconditionerLike, system: PreparedSystem, solver: str, needs: str = "any") -> Preconditioner | None:
    """``M`` ready for ``solver`` on ``system``, checked before the first iteration.

    Args:
        M: what the user passed (see ``as_preconditioner``; with ``needs="any"`` also a bare
            callable ``(n, k) → (n, k)``, taken as a nonlinear map, for ``dcdm`` and ``hybrid``).
        system: the prepared system.
        solver: the solver's name, for messages.
        needs: ``"linear_spd"`` (``cg``), ``"linear"`` (``bicgstab``) or ``"any"``.

    Raises:
        TypeError: ``M`` is not declared linear (SPD) where the solver needs it.
        ValueError: its size, grid or device differs from the system's (both named). Another
            floating dtype is no error: ``M`` is applied in its own (``CastPreconditioner``).
    """
    matrix_like = isinstance(M, Preconditioner | nn.Module | Operator | torch.Tensor) or hasattr(M, "matvec") or hasattr(M, "tocsr")
    if needs == "any" and callable(M) and not matrix_like:  # a bare map, for dcdm and hybrid
        return ModulePreconditioner(M, system.A.shape[0], dtype=system.dtype, device=system.device)
    preconditioner = as_preconditioner(M, system.dtype, system.device)
    if preconditioner is None:
        return None
    if needs == "linear_spd" and not preconditioner.linear_spd:
        kind = "SPD" if preconditioner.linear else "linear"
        raise TypeError(f"{solver} needs a linear SPD preconditioner; {preconditioner!r} is not declared {kind}: {FLEXIBLE}")
    if needs == "linear" and not preconditioner.linear:
        raise TypeError(f"{solver} needs a linear preconditioner; {preconditioner!r} is not declared linear: {FLEXIBLE}")
    check_preconditioner(preconditioner, system.A, system.dtype, system.device, cast=True)
    if getattr(preconditioner, "dtype", system.dtype) != system.dtype:
        return CastPreconditioner(preconditioner, system.dtype)
    return preconditioner
