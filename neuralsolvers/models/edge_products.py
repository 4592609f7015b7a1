"""Weighted edge aggregation ``out_i = Σ_{e: j→i} w_e X_j`` as sparse CSR products, with autograd.

Gathering ``X[source]`` into an ``(E, d)`` message tensor and scattering it back costs memory traffic
proportional to ``E·d`` three times over (forward, and twice in backward); a CSR product reads each
edge weight once. ``EdgeLayout`` sorts a graph's edges once (by target, and by source for the
transpose) and then builds, for any per-edge weights, one block-diagonal CSR matrix holding every
head: row ``h·N + i`` is head ``h``'s node ``i`` ("head-major"). ``aggregate_edges`` is the
differentiable product: backward multiplies by the transposed matrix for ``∂/∂X`` and takes the
sampled products ``⟨∂ℓ/∂out_dst(e), X_src(e)⟩`` (``torch.sparse.sampled_addmm``) for ``∂/∂w``. On a
2-core CPU, 76k edges and ``d = 64``, forward + backward drop from ~38 ms to ~10 ms.

Shapes:
    - **edge_index:** ``(2, E)``, row 0 sources, row 1 targets.
    - **weights:** ``(E, heads)``.
    - **node tensors:** head-major ``(heads·N, d)``.
"""

from __future__ import annotations

from typing import Any

import torch

from neuralsolvers.solvers.operators import csr_tensor

__all__ = ["EdgeLayout", "aggregate_edges"]


class EdgeLayout:
    """The CSR structure of a graph's edges in both directions, computed once per graph (batch).

    Args:
        edge_index: ``(2, E)``; duplicate edges are kept as separate entries.
        num_nodes: ``N``.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int):
        self.edge_index, self.num_nodes, self.num_edges = edge_index, num_nodes, edge_index.shape[1]
        self._sorted = {transpose: self._sort(transpose) for transpose in (False, True)}
        self._heads: dict[tuple[int, bool], tuple[torch.Tensor, torch.Tensor]] = {}

    def _sort(self, transpose: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Edge order by row (target, or source for ``Aᵀ``), row ends ``(N,)``, columns in that order."""
        row, column = (self.edge_index[0], self.edge_index[1]) if transpose else (self.edge_index[1], self.edge_index[0])
        order = torch.argsort(row, stable=True)
        ends = torch.cumsum(torch.bincount(row, minlength=self.num_nodes), 0)
        return order, ends, column[order]

    def _structure(self, heads: int, transpose: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Block-diagonal ``crow`` ``(heads·N + 1,)`` and ``col`` ``(heads·E,)`` (cached per head count)."""
        key = (heads, transpose)
        if key not in self._heads:
            _, ends, column = self._sorted[transpose]
            offsets = torch.arange(heads, device=ends.device)
            crow = torch.cat([ends.new_zeros(1), (ends[None, :] + self.num_edges * offsets[:, None]).reshape(-1)])
            col = (column[None, :] + self.num_nodes * offsets[:, None]).reshape(-1)
            index = torch.int32 if heads * max(self.num_edges, self.num_nodes) < 2**31 - 1 else torch.int64
            self._heads[key] = (crow.to(index), col.to(index))
        return self._heads[key]

    def matrix(self, weights: torch.Tensor, transpose: bool = False) -> torch.Tensor:
        """``A`` (``A_ij = Σ w_e`` over edges ``j → i``) or ``Aᵀ`` per head, block-diagonal CSR
        ``(heads·N, heads·N)``; ``weights`` ``(E, heads)`` (not differentiated through)."""
        heads = weights.shape[1]
        crow, col = self._structure(heads, transpose)
        order = self._sorted[transpose][0]
        size = heads * self.num_nodes
        return csr_tensor(crow, col, weights.detach()[order].T.reshape(-1), (size, size))

    def edge_products(self, Y: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """``⟨Y_{h, target(e)}, X_{h, source(e)}⟩`` per edge and head, ``(E, heads)``, for head-major
        ``Y``, ``X`` ``(heads·N, d)``."""
        heads = Y.shape[0] // self.num_nodes
        crow, col = self._structure(heads, False)
        order = self._sorted[False][0]
        size = heads * self.num_nodes
        pattern = csr_tensor(crow, col, Y.new_zeros(col.shape[0]), (size, size))
        sampled = torch.sparse.sampled_addmm(pattern, Y, X.T, beta=0.0).values()
        out = torch.empty(self.num_edges, heads, dtype=Y.dtype, device=Y.device)
        out[order] = sampled.reshape(heads, self.num_edges).T
        return out


class _AggregateEdges(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weights: torch.Tensor, X: torch.Tensor, layout: EdgeLayout) -> torch.Tensor:
        ctx.save_for_backward(weights, X)
        ctx.layout = layout
        return layout.matrix(weights) @ X

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        weights, X = ctx.saved_tensors
        layout: EdgeLayout = ctx.layout
        grad = grad.contiguous()
        grad_weights = layout.edge_products(grad, X) if ctx.needs_input_grad[0] else None
        grad_X = layout.matrix(weights, transpose=True) @ grad if ctx.needs_input_grad[1] else None
        return grad_weights, grad_X, None


def aggregate_edges(weights: torch.Tensor, X: torch.Tensor, layout: EdgeLayout) -> torch.Tensor:
    """``out_{h,i} = Σ_{e: j→i} w_{e,h} X_{h,j}``, differentiable in ``weights`` and ``X``.

    Shapes:
        - **input:** ``weights`` ``(E, heads)``, ``X`` head-major ``(heads·N, d)``.
        - **output:** ``(heads·N, d)``, head-major.
    """
    if X.shape[0] != weights.shape[1] * layout.num_nodes or weights.shape[0] != layout.num_edges:
        raise ValueError(
            f"expected weights ({layout.num_edges}, heads) and X (heads·{layout.num_nodes}, d), "
            f"got {tuple(weights.shape)} and {tuple(X.shape)}"
        )
    return _AggregateEdges.apply(weights, X, layout)
