"""Message-passing baselines from PyG (GCN, GIN) with the call signature of :class:`CGS`.

``x`` ``(N, node_features)``, ``edge_index`` ``(2, E)``, ``edge_attr`` (ignored: GCN and GIN use
no edge features), ``batch`` ``(N,)`` → ``(N, out_features)`` or, with ``readout``, ``(G, out_features)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn.models import GCN, GIN
from torch_geometric.utils import scatter

from neuralsolvers.models.registry import register_model

__all__ = ["GNNBaseline"]


@register_model("gnn_baseline")
class GNNBaseline(nn.Module):
    """PyG's ``GCN`` or ``GIN`` (``hidden`` channels, ``layers`` layers, ReLU) and a linear head.

    Args:
        node_features, out_features: input and output sizes.
        kind: ``gcn`` or ``gin``.
        hidden, layers: width and depth.
        readout: ``None`` (node outputs), ``sum`` or ``mean`` (graph outputs).
        edge_features: accepted for config symmetry with CGS; edge attributes are not used.
    """

    def __init__(self, node_features: int, out_features: int = 1, kind: str = "gin", hidden: int = 64, layers: int = 4, readout: str | None = None, edge_features: int = 0):
        super().__init__()
        models = {"gcn": GCN, "gin": GIN}
        if kind not in models:
            raise ValueError(f"kind must be 'gcn' or 'gin', got {kind!r}")
        if readout not in (None, "sum", "mean"):
            raise ValueError(f"readout must be None, 'sum' or 'mean', got {readout!r}")
        self.readout = readout
        self.body = models[kind](node_features, hidden, layers, act="relu")
        self.head = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, batch: torch.Tensor | None = None) -> torch.Tensor:
        out = self.head(torch.relu(self.body(x, edge_index)))
        if self.readout is None:
            return out
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return scatter(out, batch, dim=0, reduce=self.readout)
