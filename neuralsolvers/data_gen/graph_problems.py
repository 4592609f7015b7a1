"""The problems behind the graph datasets, on PyG graphs or batches (disjoint unions of graphs).

* [`pore_pressures`][neuralsolvers.data_gen.graph_problems.pore_pressures]: the exact pressures of pore networks (`PoreNetwork` graphs) by one sparse direct solve of the batch's block-diagonal Laplacian;
* [`bellman_q`][neuralsolvers.data_gen.graph_problems.bellman_q] and [`greedy_policy`][neuralsolvers.data_gen.graph_problems.greedy_policy]: the Bellman operator of graph MDPs
  ([`ValueIteration`][neuralsolvers.data_gen.graphs.ValueIteration] graphs) and the policy it makes greedy.

Field layout as the generators store them: pore graphs ``x[:, 2]`` boundary flag, ``x[:, 3]``
boundary pressure, ``edge_attr[:, 2]`` conductance; MDP graphs ``x`` rewards ``(N, K)``, ``mask``
valid actions ``(N, K)``, ``edge_attr`` ``P(s'|s, ·)`` ``(E, K)`` on edges ``s → s'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch_geometric.utils import scatter

from neuralsolvers.data_gen.graphs import interior_solve, laplacian_matrix

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["bellman_q", "greedy_policy", "pore_pressures"]


def pore_pressures(graph: Data) -> np.ndarray:
    """Pressures ``(N,)`` (float64) solving mass conservation with the stored boundary pressures."""
    sources, targets = graph.edge_index.cpu().numpy()
    conductance = graph.edge_attr[:, 2].double().cpu().numpy()
    laplacian = laplacian_matrix(graph.num_nodes, sources, targets, conductance)
    x = graph.x.double().cpu().numpy()
    return interior_solve(laplacian, x[:, 2] > 0.5, x[:, 3])


def bellman_q(values: torch.Tensor, graph: Data, discount: float) -> torch.Tensor:
    """``Q(s, a) = R(s, a) + γ Σ_{s'} P(s'|s, a) V(s')``, ``−inf`` for invalid actions, ``(N, K)``."""
    source, target = graph.edge_index
    expected = scatter(graph.edge_attr * values[target, None], source, dim=0, dim_size=values.shape[0], reduce="sum")
    q = graph.x + discount * expected
    return torch.where(graph.mask.bool(), q, torch.full_like(q, -torch.inf))


def greedy_policy(values: torch.Tensor, graph: Data, discount: float) -> torch.Tensor:
    """``argmax_a Q(s, a)`` over valid actions, ``(N,)``."""
    return bellman_q(values, graph, discount).argmax(dim=1)
