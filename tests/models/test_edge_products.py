"""Sparse edge aggregation: equal to gather–scatter (duplicate edges included), gradcheck, and the
attention layer equal to its per-edge (message-passing) definition."""

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.utils import softmax

from neuralsolvers.models.cgs import AttentionLayer
from neuralsolvers.models.edge_products import EdgeLayout, aggregate_edges

# 5 nodes; edge 1→0 appears twice, node 4 has no edges
EDGES = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 3], [1, 0, 0, 1, 3, 2, 0, 2]])


def gather_scatter(weights: torch.Tensor, X: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    heads = weights.shape[1]
    Xh = X.reshape(heads, num_nodes, -1)
    messages = weights.T[:, :, None] * Xh[:, edge_index[0]]
    return torch.zeros_like(Xh).index_add(1, edge_index[1], messages).reshape(X.shape)


@pytest.mark.parametrize("heads", [1, 3])
def test_aggregate_matches_gather_scatter_and_gradcheck(heads):
    layout = EdgeLayout(EDGES, 5)
    weights = torch.rand(EDGES.shape[1], heads, dtype=torch.float64, requires_grad=True)
    X = torch.randn(heads * 5, 4, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(aggregate_edges(weights, X, layout), gather_scatter(weights, X, EDGES, 5))
    assert torch.autograd.gradcheck(lambda w, x: aggregate_edges(w, x, layout), (weights, X))
    Y = torch.randn(heads * 5, 4, dtype=torch.float64)
    reference = (Y.reshape(heads, 5, 4)[:, EDGES[1]] * X.detach().reshape(heads, 5, 4)[:, EDGES[0]]).sum(-1).T
    torch.testing.assert_close(layout.edge_products(Y, X.detach()), reference)
    dense_t = layout.matrix(weights, transpose=True).to_dense()
    torch.testing.assert_close(dense_t, layout.matrix(weights).to_dense().T)


def test_shape_mismatch_is_a_clear_error():
    layout = EdgeLayout(EDGES, 5)
    with pytest.raises(ValueError, match=r"expected weights \(8, heads\)"):
        aggregate_edges(torch.rand(8, 2), torch.rand(5, 3), layout)


def test_attention_layer_equals_its_per_edge_definition():
    torch.manual_seed(0)
    layer = AttentionLayer(channels=6, edge_features=2).double()
    h = torch.randn(5, 6, dtype=torch.float64)
    edge_attr = torch.randn(EDGES.shape[1], 2, dtype=torch.float64)
    source, target = EDGES
    value = layer.node_value(h)[source] + layer.edge_value(edge_attr)  # v_ji per edge
    alpha = softmax(F.leaky_relu(layer.query(h)[target] + layer.key(value), 0.2), target, num_nodes=5)
    expected = F.relu(layer.self_weight(h) + torch.zeros(5, 6, dtype=torch.float64).index_add(0, target, alpha * value))
    torch.testing.assert_close(layer(h, EDGES, edge_attr), expected)
