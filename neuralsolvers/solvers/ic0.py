"""Zero fill-in incomplete Cholesky, IC(0): ``A ≈ L Lᵀ`` with ``L`` on the pattern of ``tril(A)``.

The factor is computed once on the CPU (a row-by-row up-looking factorization: each entry
``L_ik = (A_ik − Σ_{j<k} L_ij L_kj) / L_kk`` over the common pattern, ``L_ii = √(A_ii − Σ_j L_ij²)``;
sequential by nature, O(nnz · row length)). Applying ``M⁻¹ = (L Lᵀ)⁻¹`` is two sparse triangular
solves. On a GPU they run on the device by level scheduling (:mod:`neuralsolvers.solvers.triangular`:
one batched sparse product per level). On the CPU, where a level costs far more than a sequential
sweep, they are SuperLU's compiled triangular sweeps (:class:`~neuralsolvers.solvers.triangular.TriangularSolver`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.operators import assembled
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.triangular import TriangularSolver

__all__ = ["IncompleteCholesky", "ic0_factor"]


def ic0_factor(A: sp.spmatrix) -> sp.csr_matrix:
    """The IC(0) factor ``L`` (lower triangular CSR) of a symmetric matrix; ``ValueError`` on breakdown."""
    lower = sp.tril(sp.csr_matrix(A, dtype=np.float64), format="csr")
    lower.sort_indices()
    indptr, indices, values = lower.indptr, lower.indices, lower.data.copy()
    for i in range(lower.shape[0]):
        start, stop = indptr[i], indptr[i + 1]
        columns = indices[start:stop]
        if stop == start or columns[-1] != i:
            raise ValueError(f"IC(0) needs a nonzero diagonal: row {i} has none")
        for position in range(start, stop - 1):
            k = indices[position]
            k_start, k_stop = indptr[k], indptr[k + 1]
            common, mine, theirs = np.intersect1d(columns[: position - start], indices[k_start : k_stop - 1], assume_unique=True, return_indices=True)
            total = values[start + mine] @ values[k_start + theirs] if len(common) else 0.0
            values[position] = (values[position] - total) / values[k_stop - 1]
        pivot = values[stop - 1] - values[start : stop - 1] @ values[start : stop - 1]
        if not pivot > 0:
            raise ValueError(f"IC(0) breaks down at row {i} (pivot {pivot:.3g} ≤ 0): is A symmetric positive definite?")
        values[stop - 1] = np.sqrt(pivot)
    return sp.csr_matrix((values, indices, indptr), shape=lower.shape)


class IncompleteCholesky(Preconditioner):
    """IC(0) preconditioner: ``z = L⁻ᵀ L⁻¹ r`` with level-scheduled triangular solves on the device.

    Args:
        A: SPD matrix or operator that can be assembled (``to_scipy``).
        dtype, device: where the factor lives and what it applies to (default: those of ``A``).
        backend: ``levels`` (torch, level-scheduled, any device), ``superlu`` (SciPy, CPU) or
            ``auto`` (``superlu`` on the CPU, ``levels`` elsewhere).
    """

    def __init__(self, A: Any, dtype: torch.dtype | None = None, device: str | torch.device | None = None, backend: str = "auto"):
        matrix, self.dtype, self.device = assembled(A, dtype, device)
        self.shape = matrix.shape
        self.factor = ic0_factor(matrix)
        self.triangular = TriangularSolver(self.factor, backend=backend, dtype=self.dtype, device=self.device)
        self.backend = self.triangular.backend

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return self.triangular.solve(self.triangular.solve(r), transpose=True)
