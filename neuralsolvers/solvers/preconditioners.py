"""Preconditioners: one interface (``apply(r)``, ``as_linear_operator()``) for classical and learned ones.

A preconditioner approximates ``A⁻¹``: ``z = M(r)``. ``linear_spd`` says whether it is a fixed
symmetric positive definite linear map; plain ``cg`` accepts only those, ``fcg`` accepts any.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse.linalg as spla
import torch
from torch import nn

from neuralsolvers.solvers.operators import LinearOperator, as_operator

__all__ = ["Jacobi", "ModulePreconditioner", "OperatorPreconditioner", "Preconditioner", "as_preconditioner"]


class Preconditioner:
    """Base class. Subclasses implement :meth:`apply` on ``(n,)`` and ``(n, k)`` tensors."""

    linear_spd: bool = True
    shape: tuple[int, int]
    dtype: torch.dtype
    device: torch.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return self.apply(r)

    def as_linear_operator(self) -> spla.LinearOperator:
        """The preconditioner as a ``scipy.sparse.linalg.LinearOperator`` (float64, NumPy in and out)."""

        def apply(v: np.ndarray) -> np.ndarray:
            r = torch.as_tensor(np.asarray(v), dtype=self.dtype, device=self.device)
            return self.apply(r.reshape(self.shape[0], -1)).reshape(v.shape).double().cpu().numpy()

        return spla.LinearOperator(self.shape, matvec=apply, matmat=apply, dtype=np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.shape[0]}, linear_spd={self.linear_spd})"


class Jacobi(Preconditioner):
    """``z = D⁻¹ r`` with ``D`` the diagonal of ``A`` (must be positive)."""

    def __init__(self, A: Any):
        operator = as_operator(A)
        diagonal = operator.diagonal()
        if not bool((diagonal > 0).all()):
            raise ValueError("Jacobi needs a positive diagonal (is A symmetric positive definite?)")
        self.inverse_diagonal = 1.0 / diagonal
        self.shape, self.dtype, self.device = operator.shape, operator.dtype, operator.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return r * (self.inverse_diagonal if r.dim() == 1 else self.inverse_diagonal[:, None])


class OperatorPreconditioner(Preconditioner):
    """An explicit approximation of ``A⁻¹`` given as a matrix or operator (assumed SPD, as in SciPy)."""

    def __init__(self, M: Any):
        self.operator: LinearOperator = as_operator(M)
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
    """

    def __init__(self, module: nn.Module | Any, n: int, linear_spd: bool = False, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"):
        self.module = module
        self.linear_spd = linear_spd
        self.shape, self.dtype, self.device = (n, n), dtype, torch.device(device)

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if r.dim() == 1:
                return self.module(r[:, None])[:, 0]
            return self.module(r)


def as_preconditioner(M: Any) -> Preconditioner | None:
    """``None``, a :class:`Preconditioner`, a module/callable (nonlinear), or an explicit ``A⁻¹`` approximation."""
    if M is None or isinstance(M, Preconditioner):
        return M
    if isinstance(M, nn.Module):
        raise TypeError("wrap a network in ModulePreconditioner(module, n) so its size and linearity are explicit")
    if isinstance(M, LinearOperator | torch.Tensor | np.ndarray) or hasattr(M, "matvec") or hasattr(M, "tocsr"):
        return OperatorPreconditioner(M)
    if callable(M):
        raise TypeError("wrap a callable preconditioner in ModulePreconditioner(fn, n)")
    raise TypeError(f"cannot use {type(M).__name__} as a preconditioner")
