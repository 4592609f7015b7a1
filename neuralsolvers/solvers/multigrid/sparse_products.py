"""Sparse matrix products on fixed patterns, differentiable in the values: the Galerkin products of a
learned algebraic multigrid.

A learned AMG keeps each level's sparsity patterns (from the classical coarsening) and changes only
values. ``ProductPlan`` is the symbolic part of ``C = X Y`` for two CSR patterns, computed once with
NumPy: ``C``'s CSR pattern and, for every term ``X_ik Y_kj``, the positions of its two factors and of
``C_ij`` in the value arrays. The numeric part is then one gather, one product and one ``index_add``
in torch, on any device, and autograd differentiates it in both value arrays (torch's own sparse ×
sparse product does not). ``transpose_permutation`` gives ``Pᵀ``'s pattern and the order of ``P``'s
values in it, so ``Pᵀ A P`` needs two plans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.operators import csr_tensor
from neuralsolvers.solvers.types import DeviceLike

__all__ = [
    "GalerkinPlan",
    "PatternMatrix",
    "ProductPlan",
    "product_plan",
    "transpose_permutation",
]




def _rows(indptr: np.ndarray) -> np.ndarray:
    """The row of every stored entry of a CSR pattern."""
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


@dataclass(frozen=True, eq=False)
class ProductPlan:
    """The symbolic product ``C = X Y`` of two CSR patterns.

    Attributes:
        indptr: ``C``'s CSR row pointers ``(m + 1,)`` (int64, CPU).
        indices: ``C``'s sorted column indices ``(nnz_C,)`` (int64, CPU).
        shape: ``(m, n)``.
        left: for every term, the position of its ``X`` value ``(terms,)`` (int64, on the device).
        right: the position of its ``Y`` value ``(terms,)``.
        target: the position of the ``C`` entry it adds to ``(terms,)``.
    """

    indptr: torch.Tensor
    indices: torch.Tensor
    shape: tuple[int, int]
    left: torch.Tensor
    right: torch.Tensor
    target: torch.Tensor

    @property
    def nnz(self) -> int:
        """Stored entries of ``C``."""
        return int(self.indices.numel())

    def values(self, x_values: torch.Tensor, y_values: torch.Tensor) -> torch.Tensor:
        """``C``'s values ``(nnz_C,)`` from ``X``'s ``(nnz_X,)`` and ``Y``'s ``(nnz_Y,)``, in CSR order; differentiable in both."""
        terms = x_values[self.left] * y_values[self.right]
        return torch.zeros(self.nnz, dtype=terms.dtype, device=terms.device).index_add_(
            0, self.target, terms
        )

    def csr(self, values: torch.Tensor) -> torch.Tensor:
        """``C`` as a torch sparse CSR tensor with the given values (on their device)."""
        return csr_tensor(
            self.indptr.to(values.device), self.indices.to(values.device), values, self.shape
        )


def product_plan(x: sp.csr_matrix, y: sp.csr_matrix, device: DeviceLike = "cpu") -> ProductPlan:
    """The plan of ``X Y`` for two canonical CSR patterns (``canonical_csr``; values are not read).

    Vectorized: every stored ``X_ik`` is repeated over the stored entries of ``Y``'s row ``k``; the
    distinct ``(i, j)`` pairs, in row-major order, are ``C``'s pattern.

    Raises:
        ValueError: the inner sizes differ.
    """
    if x.shape[1] != y.shape[0]:
        raise ValueError(
            f"cannot multiply a {x.shape[0]}×{x.shape[1]} pattern by a {y.shape[0]}×{y.shape[1]} one"
        )
    row_lengths = np.diff(y.indptr)
    counts = row_lengths[x.indices]
    left = np.repeat(np.arange(x.nnz), counts)
    starts = np.repeat(y.indptr[x.indices], counts)
    within = np.arange(left.size) - np.repeat(np.cumsum(counts) - counts, counts)
    right = starts + within
    keys = _rows(x.indptr)[left].astype(np.int64) * y.shape[1] + y.indices[right]
    unique, target = np.unique(keys, return_inverse=True)
    rows, columns = np.divmod(unique, y.shape[1])
    indptr = np.zeros(x.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=x.shape[0]), out=indptr[1:])
    device = torch.device(device)
    as_index = lambda values: torch.as_tensor(values, dtype=torch.int64)  # noqa: E731
    return ProductPlan(as_index(indptr), as_index(columns), (x.shape[0], y.shape[1]),
                       as_index(left).to(device), as_index(right).to(device), as_index(target.reshape(-1)).to(device))  # fmt: skip


def transpose_permutation(matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """``Mᵀ``'s canonical CSR pattern and the permutation ``order`` with ``(Mᵀ).data == M.data[order]``."""
    positions = sp.csr_matrix(
        (np.arange(matrix.nnz, dtype=np.int64), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    transposed = positions.T.tocsr()
    transposed.sort_indices()
    order = transposed.data.copy()
    transposed.data = matrix.data[order]
    return transposed, order


class GalerkinPlan:
    """The symbolic ``Pᵀ A P`` for fixed patterns of ``A`` and ``P`` (two ``ProductPlan``s and the transpose order).

    Args:
        A: canonical CSR pattern ``(n, n)``.
        P: canonical CSR pattern ``(n, n_c)``.
        device: where the index arrays live.

    Attributes:
        transpose_order: ``(nnz_P,)``: ``Pᵀ``'s values are ``P``'s values in this order.
        transposed: ``Pᵀ``'s CSR pattern (int64 CPU tensors ``indptr``, ``indices``).
        coarse: the plan of ``Pᵀ (A P)``: its ``indptr``, ``indices`` are the coarse operator's pattern.
    """

    def __init__(self, A: sp.csr_matrix, P: sp.csr_matrix, device: DeviceLike = "cpu"):
        transposed, order = transpose_permutation(P)
        self.transpose_order = torch.as_tensor(order, dtype=torch.int64).to(device)
        self.transposed = (
            torch.as_tensor(transposed.indptr, dtype=torch.int64),
            torch.as_tensor(transposed.indices, dtype=torch.int64),
        )
        self._fine = product_plan(A, P, device)
        fine_pattern = sp.csr_matrix(
            (np.ones(self._fine.nnz), self._fine.indices.numpy(), self._fine.indptr.numpy()),
            shape=self._fine.shape,
        )
        self.coarse = product_plan(transposed, fine_pattern, device)

    def values(self, a_values: torch.Tensor, p_values: torch.Tensor) -> torch.Tensor:
        """The coarse operator's values ``(nnz_c,)`` in ``coarse``'s CSR order; differentiable in both."""
        return self.coarse.values(
            p_values[self.transpose_order], self._fine.values(a_values, p_values)
        )


class PatternMatrix:
    """A sparse matrix on a fixed CSR pattern, applied to dense blocks.

    With ``differentiable`` the product is a gather and an ``index_add`` (autograd's backward of
    torch's sparse CSR product in the values is orders of magnitude slower); otherwise torch's sparse
    CSR kernel.

    Args:
        indptr: CSR row pointers ``(m + 1,)`` (int64, on the values' device).
        indices: column indices ``(nnz,)``.
        values: ``(nnz,)``.
        shape: ``(m, n)``.
        differentiable: see above.

    Attributes:
        csr: the matrix as a torch sparse CSR tensor (same values).
    """

    def __init__(
        self,
        indptr: torch.Tensor,
        indices: torch.Tensor,
        values: torch.Tensor,
        shape: tuple[int, int],
        differentiable: bool = False,
    ):
        self.shape, self.values, self.differentiable = shape, values, differentiable
        self.csr = csr_tensor(indptr, indices, values, shape)
        if differentiable:
            self.rows = torch.repeat_interleave(
                torch.arange(shape[0], device=values.device), indptr.diff()
            )
            self.columns = indices

    def __matmul__(self, x: torch.Tensor) -> torch.Tensor:
        """``M x`` for ``x`` ``(n, k)``."""
        if not self.differentiable:
            return self.csr @ x
        terms = self.values[:, None] * x[self.columns]
        return torch.zeros(
            self.shape[0], x.shape[1], dtype=terms.dtype, device=terms.device
        ).index_add_(0, self.rows, terms)
