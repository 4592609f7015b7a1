"""Zero fill-in incomplete Cholesky, IC(0): ``A ≈ L Lᵀ`` with ``L`` on the pattern of ``tril(A)``.

The factor is computed once on the CPU (a row-by-row up-looking factorization: each entry
``L_ik = (A_ik − Σ_{j<k} L_ij L_kj) / L_kk`` over the common pattern, ``L_ii = √(A_ii − Σ_j L_ij²)``;
sequential by nature, O(nnz · row length)), compiled with numba. Applying ``M⁻¹ = (L Lᵀ)⁻¹`` is two sparse triangular
solves. On a GPU they run on the device by level scheduling (``neuralsolvers.solvers.classical.triangular``:
one batched sparse product per level). On the CPU, where a level costs far more than a sequential
sweep, they are SuperLU's compiled triangular sweeps (``TriangularSolver``).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.classical.triangular import TriangularSolver
from neuralsolvers.solvers.operators import assembled, normal_device
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.types import DeviceLike, OperatorLike

__all__ = ["IncompleteCholesky", "ic0_factor"]


@numba.njit(cache=True)
def _factor_in_place(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray) -> tuple[int, int, float]:
    """Up-looking IC(0) on sorted CSR ``tril(A)`` arrays, overwriting ``values`` with ``L``.

    Returns ``(code, row, pivot)``: code 0 done; 1 ``row`` has no diagonal; 2 ``row``'s pivot ≤ 0.
    Row ``i``'s entry at column ``k`` is ``(A_ik − Σ_j L_ij L_kj) / L_kk`` over the columns ``j < k``
    both rows hold (a merge of the two sorted index lists).
    """
    for i in range(len(indptr) - 1):
        start, stop = indptr[i], indptr[i + 1]
        if stop == start or indices[stop - 1] != i:
            return 1, i, 0.0
        for position in range(start, stop - 1):
            k = indices[position]
            mine, theirs, their_diagonal = start, indptr[k], indptr[k + 1] - 1
            total = 0.0
            while mine < position and theirs < their_diagonal:
                if indices[mine] == indices[theirs]:
                    total += values[mine] * values[theirs]
                    mine += 1
                    theirs += 1
                elif indices[mine] < indices[theirs]:
                    mine += 1
                else:
                    theirs += 1
            values[position] = (values[position] - total) / values[their_diagonal]
        pivot = values[stop - 1]
        for position in range(start, stop - 1):
            pivot -= values[position] * values[position]
        if not pivot > 0:
            return 2, i, pivot
        values[stop - 1] = np.sqrt(pivot)
    return 0, -1, 0.0


def ic0_factor(A: sp.spmatrix) -> sp.csr_matrix:
    """The IC(0) factor ``L`` (lower triangular CSR) of a symmetric matrix; ``ValueError`` on breakdown.

    Compiled with numba (the first call in a process compiles, or loads the cached machine code).
    """
    lower = sp.tril(sp.csr_matrix(A, dtype=np.float64), format="csr")
    lower.sort_indices()
    indptr, indices = lower.indptr.astype(np.int64), lower.indices.astype(np.int64)
    values = lower.data.copy()
    code, row, pivot = _factor_in_place(indptr, indices, values)
    if code == 1:
        raise ValueError(f"IC(0) needs a nonzero diagonal: row {row} has none")
    if code == 2:
        raise ValueError(f"IC(0) breaks down at row {row} (pivot {pivot:.3g} ≤ 0): is A symmetric positive definite?")
    return sp.csr_matrix((values, lower.indices, lower.indptr), shape=lower.shape)


class IncompleteCholesky(Preconditioner):
    """IC(0) preconditioner: ``z = L⁻ᵀ L⁻¹ r`` with level-scheduled triangular solves on the device.

    Incomplete Cholesky without fill-in, from Meijerink and van der Vorst, "An Iterative Solution
    Method for Linear Systems of Which the Coefficient Matrix is a Symmetric M-Matrix"
    (Mathematics of Computation 31, 1977); see Saad, *Iterative Methods for Sparse Linear Systems*
    (2nd ed., SIAM, 2003, ch. 10). ``A ≈ L Lᵀ`` with ``L`` on the pattern of ``tril(A)``:

        L_ik = (A_ik − Σ_{j<k} L_ij L_kj) / L_kk,   L_ii = √(A_ii − Σ_{j<i} L_ij²).

    Args:
        A: SPD matrix or operator that can be assembled (``to_scipy``).
        dtype: where the factor lives and what it applies to (default: those of ``A``).
        device: see `dtype`.
        backend: ``levels`` (torch, level-scheduled, any device), ``superlu`` (SciPy, CPU) or
            ``auto`` (``superlu`` on the CPU, ``levels`` elsewhere).

    Shapes:
        - **A:** ``(n, n)``, SPD, assembled (``to_scipy`` for an operator).
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` (``k`` columns at once), in the
          units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x``.
    """

    def __init__(self, A: OperatorLike, dtype: torch.dtype | None = None, device: DeviceLike | None = None, backend: str = "auto"):
        matrix, dtype, device = assembled(A, dtype, device)
        self._use_factor(ic0_factor(matrix), dtype, device, backend)

    @classmethod
    def from_factor(cls, L: sp.spmatrix, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu", backend: str = "auto") -> IncompleteCholesky:
        """``z = L⁻ᵀ L⁻¹ r`` for a given factor (e.g. a learned one, ``neuralsolvers.models.learned_ic``):
        ``L`` square, lower triangular, with a positive diagonal, so ``L Lᵀ`` is SPD. Other arguments
        as the constructor's; ``ValueError`` for any other ``L``."""
        L = sp.csr_matrix(L, dtype=np.float64)
        if L.shape[0] != L.shape[1] or sp.triu(L, k=1).count_nonzero():
            raise ValueError(f"the factor must be square and lower triangular, got shape {L.shape}")
        if not np.all(L.diagonal() > 0) or not np.isfinite(L.data).all():
            raise ValueError("the factor needs finite entries and a positive diagonal (else L Lᵀ is not SPD)")
        preconditioner = cls.__new__(cls)
        preconditioner._use_factor(L, dtype, normal_device(device), backend)
        return preconditioner

    def _use_factor(self, factor: sp.csr_matrix, dtype: torch.dtype, device: torch.device, backend: str) -> None:
        self.dtype, self.device, self.shape, self.factor = dtype, device, factor.shape, factor
        self.triangular = TriangularSolver(self.factor, backend=backend, dtype=self.dtype, device=self.device)
        self.backend = self.triangular.backend

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        return self.triangular.solve(self.triangular.solve(r), transpose=True)
