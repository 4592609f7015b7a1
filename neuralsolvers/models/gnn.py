"""Message-passing baselines from PyG (GCN, GIN, GATv2) with the call signature of ``CGS``.

``x`` ``(N, node_features)``, ``edge_index`` ``(2, E)``, ``edge_attr`` ``(E, edge_features)`` (used
by GATv2 only: GCN and GIN take no edge features), ``batch`` ``(N,)`` → ``(N, out_features)`` or, with ``readout``, ``(G, out_features)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn.models import GAT, GCN, GIN
from torch_geometric.utils import scatter

from neuralsolvers.models.registry import register_model

__all__ = ["GNNBaseline"]


@register_model("gnn_baseline")
class GNNBaseline(nn.Module):
    """PyG's ``GCN``, ``GIN`` or ``GAT`` (GATv2 attention with edge features) with ``hidden``
    channels, ``layers`` layers, ReLU, and a linear head.

    The baselines of the graph solvers: Kipf and Welling, "Semi-Supervised Classification with
    Graph Convolutional Networks" (ICLR 2017); Xu, Hu, Leskovec and Jegelka, "How Powerful are
    Graph Neural Networks?" (ICLR 2019); Brody, Alon and Yahav, "How Attentive are Graph Attention
    Networks?" (ICLR 2022); as implemented in PyTorch Geometric (Fey and Lenssen, "Fast Graph
    Representation Learning with PyTorch Geometric", ICLR 2019 Workshop on Representation Learning
    on Graphs and Manifolds). A GCN layer, for example, is

        H' = σ(D̂^{-1/2} Â D̂^{-1/2} H W),   Â = A + I,

    and GIN's ``h_i' = MLP((1 + ε) h_i + Σ_{j→i} h_j)``.

    Args:
        node_features: input and output sizes.
        out_features: see `node_features`.
        kind: ``gcn``, ``gin`` or ``gat`` (the edge-aware one).
        hidden: width and depth.
        layers: see `hidden`.
        readout: ``None`` (node outputs), ``sum`` or ``mean`` (graph outputs).
        edge_features: edge attribute size (``gat`` only; the others ignore edge attributes).

    Shapes:
        - **x:** ``(N, node_features)`` node features of a graph or a batch of ``G`` graphs.
        - **edge_index:** ``(2, E)`` long, row 0 sources, row 1 targets.
        - **edge_attr:** ``(E, edge_features)`` (``(E,)`` for one feature), or None; used by ``gat``
          only.
        - **batch:** ``(N,)`` the graph of each node (for ``readout``; default one graph).
        - **output:** ``(N, out_features)`` node outputs, or ``(G, out_features)`` with
          ``readout``; in the units of the training targets (e.g. pore pressures for
          porous-network flow).
    """

    def __init__(self, node_features: int, out_features: int = 1, kind: str = "gin", hidden: int = 64, layers: int = 4, readout: str | None = None, edge_features: int = 0):
        super().__init__()
        if kind not in ("gcn", "gin", "gat"):
            raise ValueError(f"kind must be 'gcn', 'gin' or 'gat', got {kind!r}")
        if readout not in (None, "sum", "mean"):
            raise ValueError(f"readout must be None, 'sum' or 'mean', got {readout!r}")
        self.readout, self.uses_edges = readout, kind == "gat" and edge_features > 0
        self.node_features = node_features
        if kind == "gat":
            self.body = GAT(node_features, hidden, layers, act="relu", v2=True, edge_dim=edge_features or None)
        else:
            self.body = (GCN if kind == "gcn" else GIN)(node_features, hidden, layers, act="relu")
        self.head = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, batch: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.node_features:
            raise ValueError(f"expected node features (N, {self.node_features}), got {tuple(x.shape)}")
        hidden = self.body(x, edge_index, edge_attr=edge_attr) if self.uses_edges else self.body(x, edge_index)
        out = self.head(torch.relu(hidden))
        if self.readout is None:
            return out
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return scatter(out, batch, dim=0, reduce=self.readout)
