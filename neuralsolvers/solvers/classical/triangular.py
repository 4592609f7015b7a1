"""Sparse triangular solves on the device by level scheduling.

Rows of a lower-triangular CSR matrix are grouped into levels: a row's level is one more than the
highest level among the rows it depends on, so all rows of one level can be solved at once. The
solve is then one short loop over levels, each a sparse product with that level's rows plus a
diagonal scaling, all in torch on the matrix's device (as cuSPARSE's ``csrsv`` analysis does).
A 2D 5-point stencil has ``2N − 1`` levels for ``N²`` unknowns, a 3D 7-point one ``3N − 2``.

On the CPU a level costs far more than a sequential sweep, so ``TriangularSolver`` there uses
SuperLU's compiled triangular sweeps instead (``splu`` of the triangle in natural order: no fill).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers.operators import normal_device, scipy_to_torch_csr
from neuralsolvers.solvers.types import DeviceLike

__all__ = ["BACKENDS", "LevelScheduledTriangular", "TriangularSolver", "levels_of_lower"]

BACKENDS = ("auto", "levels", "superlu")


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
        dtype: of the stored levels and of the vectors.
        device: see `dtype`.
    """

    def __init__(self, lower: sp.csr_matrix, transpose: bool = False, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"):
        device = normal_device(device)
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
            x[rows] = (rhs[rows] - torch.sparse.mm(block, x)) * scale[rows]
        return x[:, 0] if vector else x


class TriangularSolver:
    """Solves with a sparse triangular ``T`` and with ``Tᵀ``, on the CPU or on a device.

    Args:
        triangle: lower- (``lower=True``) or upper-triangular SciPy matrix with a nonzero diagonal.
        lower: which triangle ``triangle`` is.
        backend: ``levels`` (torch, level-scheduled, any device), ``superlu`` (SciPy, CPU) or
            ``auto`` (``superlu`` on the CPU, ``levels`` elsewhere).
        dtype: of the vectors.
        device: see `dtype`.

    Shapes:
        - **input:** ``solve(b)``: ``(n,)`` or ``(n, k)``.
        - **output:** ``T⁻¹ b`` (or ``T⁻ᵀ b``), the same shape.
    """

    def __init__(self, triangle: sp.spmatrix, lower: bool = True, backend: str = "auto", dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"):
        self.dtype, self.device = dtype, normal_device(device)
        if backend == "auto":
            backend = "superlu" if self.device.type == "cpu" else "levels"
        if backend not in BACKENDS[1:] or (backend == "superlu" and self.device.type != "cpu"):
            raise ValueError(f"backend must be 'levels', or 'superlu' on the CPU; got {backend!r} on {self.device}")
        self.backend, self.lower = backend, lower
        self.triangle = sp.csr_matrix(triangle)
        if np.any(self.triangle.diagonal() == 0):
            raise ValueError("triangular matrix has a zero on its diagonal")
        self._levels: dict[bool, LevelScheduledTriangular] = {}
        if backend == "superlu":
            options = {"SymmetricMode": True}
            self.lu = spla.splu(self.triangle.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0, options=options)

    def _scheduled(self, transpose: bool) -> LevelScheduledTriangular:
        """Level schedule of ``T`` (``transpose`` False) or ``Tᵀ``, built on first use."""
        if transpose not in self._levels:
            as_lower = self.triangle if self.lower else self.triangle.T.tocsr()
            # T lower: solve with it (or its transpose); T upper = Lᵀ with L = Tᵀ lower: the reverse
            self._levels[transpose] = LevelScheduledTriangular(as_lower, transpose=transpose != (not self.lower), dtype=self.dtype, device=self.device)
        return self._levels[transpose]

    def solve(self, b: torch.Tensor, transpose: bool = False) -> torch.Tensor:
        """``T⁻¹ b`` (or ``T⁻ᵀ b``)."""
        if self.backend == "levels":
            return self._scheduled(transpose).solve(b)
        return torch.as_tensor(self.solve_array(b.detach().cpu().double().numpy(), transpose), dtype=self.dtype, device=self.device)

    def solve_array(self, b: np.ndarray, transpose: bool = False) -> np.ndarray:
        """``T⁻¹ b`` (or ``T⁻ᵀ b``) on NumPy float64 arrays (``superlu`` backend)."""
        if self.backend != "superlu":
            raise ValueError("solve_array needs the superlu backend")
        return self.lu.solve(b, trans="T" if transpose else "N")


def _levels_of_upper(upper: sp.csr_matrix) -> np.ndarray:
    strict = sp.triu(upper, k=1, format="csr")
    levels = np.zeros(upper.shape[0], dtype=np.int64)
    indptr, indices = strict.indptr, strict.indices
    for row in range(upper.shape[0] - 1, -1, -1):
        start, stop = indptr[row], indptr[row + 1]
        if stop > start:
            levels[row] = levels[indices[start:stop]].max() + 1
    return levels
