"""Jacobi preconditioning: the inverse of the diagonal."""

from __future__ import annotations

import torch

from neuralsolvers.solvers.operators import as_operator
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.types import OperatorLike

__all__ = ["Jacobi"]


class Jacobi(Preconditioner):
    """``z = D⁻¹ r`` with ``D`` the diagonal of ``A`` (must be positive).

    The Jacobi (diagonal) preconditioner: Saad, *Iterative Methods for Sparse Linear Systems* (2nd
    ed., SIAM, 2003, ch. 10).

    Args:
        A: matrix or operator with a positive diagonal (anything ``cg`` takes that can give its
            diagonal).

    Shapes:
        - **A:** ``(n, n)``.
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` (``k`` columns at once), in the
          units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x``.
    """

    def __init__(self, A: OperatorLike):
        operator = as_operator(A)
        diagonal = operator.diagonal()
        if not bool((diagonal > 0).all()):
            raise ValueError("Jacobi needs a positive diagonal (is A symmetric positive definite?)")
        self.inverse_diagonal = 1.0 / diagonal
        self.shape, self.dtype, self.device = operator.shape, operator.dtype, operator.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return r * (self.inverse_diagonal if r.dim() == 1 else self.inverse_diagonal[:, None])
