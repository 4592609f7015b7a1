"""Jacobi preconditioning: the inverse of the diagonal."""

from __future__ import annotations

import torch

from neuralsolvers.solvers.operators import as_operator
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.types import OperatorLike

__all__ = ["Jacobi"]


class Jacobi(Preconditioner):
    """``z = D⁻¹ r`` with ``D`` the diagonal of ``A`` (must be positive)."""

    def __init__(self, A: OperatorLike):
        operator = as_operator(A)
        diagonal = operator.diagonal()
        if not bool((diagonal > 0).all()):
            raise ValueError("Jacobi needs a positive diagonal (is A symmetric positive definite?)")
        self.inverse_diagonal = 1.0 / diagonal
        self.shape, self.dtype, self.device = operator.shape, operator.dtype, operator.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return r * (self.inverse_diagonal if r.dim() == 1 else self.inverse_diagonal[:, None])
