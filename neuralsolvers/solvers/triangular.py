"""Sparse triangular solves on the device by level scheduling.

Rows of a lower-triangular CSR matrix are grouped into levels: a row's level is one more than the
highest level among the rows it depends on, so all rows of one level can be solved at once. The
solve is then one short loop over levels, each a sparse product with that level's rows plus a
diagonal scaling, all in torch on the matrix's device (as cuSPARSE's ``csrsv`` analysis does).
A 2D 5-point stencil has ``2N − 1`` levels for ``N²`` unknowns, a 3D 7-point one ``3N − 2``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.operators import scipy_to_torch_csr

__all__ = ["LevelScheduledTriangular", "levels_of_lower"]


def levels_of_lower(lower: sp.csr_matrix) -> np.ndarray:
    """Level of each row of a lower-triangular matrix (0 for rows with no dependency)."""
    strict = sp.tril(lower, k=-1, format="csr")
    levels = np.zeros(lower.shape[0], dtype=np.int64)
    indptr, indices = strict.indptr, strict.indices
    for row in range(lower.shape[0]):  # one pass in row order: dependencies come first
        start, stop = indptr[row], indptr[row + 1]
        if stop > start:
            levels[row] = levels[indices[start:stop]].max() + 1
    return levels


class LevelScheduledTriangular:
    """Solve ``T x = b`` for a sparse triangular ``T`` (lower, or upper via ``transpose``), batched.

    Args:
        lower: lower-triangular SciPy matrix with a nonzero diagonal.
        transpose: solve with ``Tᵀ`` (upper triangular) instead.
        dtype, device: of the stored levels and of the vectors.
    """

    def __init__(self, lower: sp.csr_matrix, transpose: bool = False, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"):
        lower = sp.csr_matrix(lower)
        diagonal = lower.diagonal()
        if np.any(diagonal == 0):
            raise ValueError("triangular factor has a zero on its diagonal")
        matrix = lower.T.tocsr() if transpose else lower
        levels = levels_of_lower(lower)
        if transpose:  # for Lᵀ the dependency order is reversed: level from the bottom
            levels = _levels_of_upper(matrix)
        strict = matrix - sp.diags(diagonal)
        strict.eliminate_zeros()
        self.inverse_diagonal = torch.as_tensor(1.0 / diagonal, dtype=dtype, device=device)
        order = np.argsort(levels, kind="stable")
        bounds = np.searchsorted(levels[order], np.arange(levels.max() + 2))
        self.levels: list[tuple[torch.Tensor, torch.Tensor]] = []
        for level in range(levels.max() + 1):
            rows = order[bounds[level] : bounds[level + 1]]
            block = scipy_to_torch_csr(strict[rows], dtype, device)
            self.levels.append((torch.as_tensor(rows, device=device), block))
        self.num_levels = len(self.levels)

    def solve(self, b: torch.Tensor) -> torch.Tensor:
        """``b`` of shape ``(n,)`` or ``(n, k)`` → ``x`` of the same shape."""
        vector = b.dim() == 1
        rhs = b[:, None] if vector else b
        x = torch.zeros_like(rhs)
        scale = self.inverse_diagonal[:, None]
        for rows, block in self.levels:
            x[rows] = (rhs[rows] - block @ x) * scale[rows]
        return x[:, 0] if vector else x


def _levels_of_upper(upper: sp.csr_matrix) -> np.ndarray:
    strict = sp.triu(upper, k=1, format="csr")
    levels = np.zeros(upper.shape[0], dtype=np.int64)
    indptr, indices = strict.indptr, strict.indices
    for row in range(upper.shape[0] - 1, -1, -1):
        start, stop = indptr[row], indptr[row + 1]
        if stop > start:
            levels[row] = levels[indices[start:stop]].max() + 1
    return levels
