"""Learned algebraic multigrid: a message-passing network on each level's matrix graph gives the
prolongation's values on PyAMG's pattern and per-unknown smoother weights, for any sparse SPD matrix.

The network (torch_geometric ``MessagePassing``) reads scale-free inputs: per stored off-diagonal
``a_ij / √(a_ii a_jj)`` (edge), per unknown ``log`` of its row dominance ``a_ii / Σ_{j≠i} |a_ij|``
and of its stored entries (node), and per entry of the classical prolongation ``P⁰`` its share of
its row, ``p_ik / Σ_k |p_ik|``. ``layers`` edge-weighted updates ``h_i ← h_i + φ([h_i, mean_j e_ij h_j,
mean_j |e_ij| h_j, mean_j h_j])`` give node embeddings (each mean one sparse product: the pass costs
a few sparse products of the embedding's width per level, not per-entry tensors); a coarse unknown's embedding is the ``|P⁰|``-weighted
mean of its fine unknowns'; two heads give the raw numbers ``z_i`` (smoother) and ``y_ik`` (one per
entry of ``P⁰``, from ``[h_i, g_k, share]``). Both heads start at zero, so the untrained network is
the classical hierarchy; ``neuralsolvers.solvers.multigrid.learned_amg`` turns the raw numbers into
a cycle that is SPD for any weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter, spmm

from neuralsolvers.models.registry import register_model
from neuralsolvers.solvers.learned.matrix_kind import MATRIX_RECORD
from neuralsolvers.solvers.multigrid.learned_amg import (
    COARSENINGS,
    LearnedAMGPreconditioner,
    LevelGraph,
)
from neuralsolvers.solvers.operators import csr_tensor

__all__ = ["EDGE_CHANNELS", "LearnedAMG"]

EDGE_CHANNELS = ("coupling", "magnitude", "count")  # the message weights of an entry: e_ij, |e_ij|, 1 (each over the row's degree)

def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


class _EdgeConditioned(MessagePassing):
    """``h_i ← h_i + φ([h_i, m_i])`` with ``m_i`` the means over the stored off-diagonals ``j`` of row
    ``i`` of ``e_ij h_j``, ``|e_ij| h_j`` and ``h_j`` (``EDGE_CHANNELS``): messages linear in the
    neighbours' embeddings, weighted by the scale-free couplings, so each is one sparse matrix product
    (PyG's fused ``message_and_aggregate``; no per-entry tensors of the embedding's width), and a
    nonlinear node update."""

    def __init__(self, hidden: int):
        super().__init__(aggr="sum")
        self.update_net = _mlp((1 + len(EDGE_CHANNELS)) * hidden, hidden, hidden)

    def forward(self, h: torch.Tensor, adjacency: Sequence[torch.Tensor]) -> torch.Tensor:
        messages = [self.propagate(weights, x=h) for weights in adjacency]
        return h + self.update_net(torch.cat([h, *messages], dim=1))

    def message_and_aggregate(self, adj_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return spmm(adj_t, x, reduce="sum")


@register_model("learned_amg")
class LearnedAMG(nn.Module):
    """Learned AMG for sparse SPD matrices.

    Learned prolongation in the line of Luz, Galun, Maron, Basri and Yavneh, "Learning Algebraic
    Multigrid Using Graph Neural Networks" (ICML 2020, <https://arxiv.org/abs/2003.05744>): values
    on the classical sparsity pattern, here as bounded factors on PyAMG's values, with learned
    ℓ1-Jacobi weights and Galerkin coarse operators, and a cycle that stays SPD for any weights
    (``neuralsolvers.solvers.multigrid.learned_amg``), so plain ``cg`` takes it.

    Args:
        hidden: width of the embeddings and the hidden layers.
        layers: message-passing layers (the receptive field on each level).
        coarsening: PyAMG's ``"smoothed_aggregation"`` or ``"ruge_stuben"``.
        omega: the classical ℓ1-Jacobi weight (the untrained network's), in ``(0.01, 1.99)``: one for
            every sweep or a list with one per sweep.
        coarse_omega: the same below the finest level (None: ``omega``).
        sweeps: smoothing sweeps before and after the coarse correction.
        interpolation_range: learned factors on ``P⁰`` lie in ``1 ± interpolation_range``.
        learn_smoother: give per-unknown smoother weights, one per sweep (else ``omega`` everywhere).
        learn_interpolation: give the prolongation factors (else PyAMG's ``P⁰``).
        max_coarse: PyAMG's coarsest size (densely factored).
        max_levels: PyAMG's level cap.

    Shapes:
        - **input:** ``forward(graph)``: a ``LevelGraph`` (``A_l``'s ``nnz`` entries, ``P⁰_l``'s ``nnz_P``).
        - **output:** ``(z, y)``: raw smoother numbers ``(n_l, sweeps)`` and prolongation numbers ``(nnz_P,)``
          (dimensionless; zero for the untrained network; None where not learned).
        - **preconditioner(A):** ``apply`` maps residuals ``(n,)`` or ``(n, k)`` (units of ``A x``) to
          ``z ≈ A⁻¹ r`` of the same shape (units of ``x``).
    """

    preconditioner_record = MATRIX_RECORD  # its checkpoints' kind: a preconditioner of sparse matrices

    def __init__(
        self,
        hidden: int = 16,
        layers: int = 2,
        coarsening: str = "smoothed_aggregation",
        omega: float | list[float] = 1.0,
        coarse_omega: float | list[float] | None = None,
        sweeps: int = 1,
        interpolation_range: float = 0.5,
        learn_smoother: bool = True,
        learn_interpolation: bool = True,
        max_coarse: int = 100,
        max_levels: int = 10,
    ):
        super().__init__()
        if hidden < 1 or layers < 1:
            raise ValueError(f"hidden and layers must be positive, got {hidden} and {layers}")
        if coarsening not in COARSENINGS:
            raise ValueError(f"coarsening must be one of {sorted(COARSENINGS)}, got {coarsening!r}")
        if not (learn_smoother or learn_interpolation):
            raise ValueError(
                "a learned AMG learns the smoother, the interpolation or both; both are off"
            )
        self.cycle_options = {"coarsening": coarsening, "omega": omega, "coarse_omega": coarse_omega, "sweeps": sweeps, "interpolation_range": interpolation_range,
                              "max_coarse": max_coarse, "max_levels": max_levels}  # fmt: skip
        self.learn_smoother, self.learn_interpolation = learn_smoother, learn_interpolation
        self.encoder = nn.Linear(2, hidden)
        self.message_layers = nn.ModuleList(_EdgeConditioned(hidden) for _ in range(layers))
        self.smoother_head = _mlp(hidden, hidden, sweeps)
        self.interpolation_head = _mlp(2 * hidden + 1, hidden, 1)
        for head in (self.smoother_head, self.interpolation_head):
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)
        for weight in (omega, coarse_omega if coarse_omega is not None else omega):
            LearnedAMGPreconditioner.check_options(weight, sweeps, interpolation_range)

    def forward(self, graph: LevelGraph) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Raw smoother numbers ``(n_l, sweeps)`` and prolongation numbers ``(nnz_P,)`` for one level."""
        dtype = self.encoder.weight.dtype
        values = graph.values.to(dtype)
        diagonal_entry = graph.rows == graph.columns
        diagonal = torch.zeros(graph.size, dtype=dtype, device=values.device).index_add_(
            0, graph.rows[diagonal_entry], values[diagonal_entry]
        )
        rows, columns, off = (
            graph.rows[~diagonal_entry],
            graph.columns[~diagonal_entry],
            values[~diagonal_entry],
        )
        scale = diagonal.clamp_min(torch.finfo(dtype).tiny).sqrt()
        edge = off / (scale[rows] * scale[columns])
        off_sum = torch.zeros_like(diagonal).index_add_(0, rows, off.abs())
        degree = torch.bincount(rows, minlength=graph.size).to(dtype)
        dominance = torch.log(
            diagonal.clamp_min(torch.finfo(dtype).tiny) / off_sum.clamp_min(torch.finfo(dtype).tiny)
        ).clamp(-10, 10)
        h = self.encoder(torch.stack([dominance, torch.log1p(degree) - 2], dim=1))
        indptr = torch.cat([degree.new_zeros(1, dtype=torch.long), torch.cumsum(degree.long(), 0)])  # the off-diagonals' CSR rows
        share = 1 / degree.clamp_min(1)[rows]  # means over the row's neighbours
        means = csr_tensor(indptr, columns, share, (graph.size, graph.size))  # its index arrays (int32 where they fit) serve all three
        crow, col = means.crow_indices(), means.col_indices()
        adjacency = [csr_tensor(crow, col, weights * share, (graph.size, graph.size)) for weights in (edge, edge.abs())] + [means]
        for layer in self.message_layers:
            h = layer(h, adjacency)
        smoother = self.smoother_head(h) if self.learn_smoother else None
        interpolation = None
        if self.learn_interpolation:
            magnitude = graph.p_values.to(dtype).abs()
            coarse = scatter(
                magnitude[:, None] * h[graph.p_rows],
                graph.p_columns,
                dim=0,
                dim_size=graph.coarse_size,
                reduce="sum",
            )
            coarse = (
                coarse
                / scatter(
                    magnitude, graph.p_columns, dim=0, dim_size=graph.coarse_size, reduce="sum"
                ).clamp_min(1e-30)[:, None]
            )
            share = (
                graph.p_values.to(dtype)
                / scatter(
                    magnitude, graph.p_rows, dim=0, dim_size=graph.size, reduce="sum"
                ).clamp_min(1e-30)[graph.p_rows]
            )
            interpolation = self.interpolation_head(
                torch.cat([h[graph.p_rows], coarse[graph.p_columns], share[:, None]], dim=1)
            )[:, 0]
        return smoother, interpolation

    def preconditioner(self, A: Any, *, differentiable: bool = False, precision: str | None = None, near_nullspace: np.ndarray | None = None,
                       plan: Any = None) -> LearnedAMGPreconditioner:  # fmt: skip
        """The learned V-cycle for ``A`` (SciPy or torch sparse SPD; on ``A``'s device, in ``A``'s dtype or
        ``precision``, e.g. ``"float32"``): linear and SPD, for ``cg``, SciPy's ``cg``
        (``.as_linear_operator()``) and PyAMG's Krylov solvers. ``differentiable`` keeps the graph
        to the weights (training); ``plan`` reuses a ``CoarseningPlan`` of ``A`` (the training module
        keeps one per system); ``near_nullspace`` is smoothed aggregation's ``B`` (e.g. rigid-body modes)."""
        return self._cycle(A, self, differentiable, precision, near_nullspace, plan)

    def classical_preconditioner(self, A: Any, *, precision: str | None = None, near_nullspace: np.ndarray | None = None,
                                 plan: Any = None) -> LearnedAMGPreconditioner:  # fmt: skip
        """The classical cycle this network starts from (PyAMG's hierarchy, ℓ1-Jacobi of weight ``omega``) for ``A``."""
        return self._cycle(A, None, False, precision, near_nullspace, plan)

    def _cycle(
        self,
        A: Any,
        network: Any,
        differentiable: bool,
        precision: str | None,
        near_nullspace: Any,
        plan: Any,
    ) -> LearnedAMGPreconditioner:
        dtype = {None: None, "float32": torch.float32, "float64": torch.float64}
        if precision not in dtype:
            raise ValueError(f"precision must be None, 'float32' or 'float64', got {precision!r}")
        device = A.device if isinstance(A, torch.Tensor) else next(self.parameters()).device
        with torch.set_grad_enabled(differentiable):
            return LearnedAMGPreconditioner(A, network, plan=plan, differentiable=differentiable, dtype=dtype[precision], device=device,
                                            near_nullspace=near_nullspace, **self.cycle_options)  # fmt: skip
