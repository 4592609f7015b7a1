"""CGS: the implicit backward against gradcheck and a dense solve, the contraction certificate, the
fixed point against a dense solve, batching and shapes."""

import pytest
import torch
from torch_geometric.data import Batch, Data

from neuralsolvers.models import CGS, build_model, model_spec
from neuralsolvers.models.cgs import SOLVERS, ImplicitFixedPoint, contraction_bound
from neuralsolvers.models.edge_products import EdgeLayout


def random_graph(num_nodes: int, num_edges: int, seed: int, node_features: int = 3, edge_features: int = 2) -> Data:
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=generator)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    x = torch.randn(num_nodes, node_features, generator=generator)
    edge_attr = torch.randn(edge_index.shape[1], edge_features, generator=generator)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, num_nodes=num_nodes)


def dense_operator(weights: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``A`` per head as dense ``(heads, N, N)``: ``A[h, dst, src] += w``, differentiable in ``weights``."""
    heads = weights.shape[1]
    flat = torch.zeros(heads, num_nodes * num_nodes, dtype=weights.dtype)
    flat = flat.index_add(1, edge_index[1] * num_nodes + edge_index[0], weights.T)
    return flat.reshape(heads, num_nodes, num_nodes)


@pytest.mark.parametrize("solver", SOLVERS)
def test_implicit_backward_passes_gradcheck_and_matches_a_dense_solve(solver):
    graph = random_graph(9, 30, seed=0)
    heads, d, gamma = 2, 3, 0.6
    weights = (torch.rand(graph.edge_index.shape[1], heads, dtype=torch.float64) / 3).requires_grad_()
    b = torch.randn(heads * 9, d, dtype=torch.float64, requires_grad=True)  # head-major rows
    layout = EdgeLayout(graph.edge_index, 9)

    def implicit(w, bias):
        return ImplicitFixedPoint.apply(w, bias, layout, gamma, solver, 1e-13, 10_000, None)

    assert torch.autograd.gradcheck(implicit, (weights, b), eps=1e-6, atol=1e-7)
    # against autograd through a dense solve of (I − γA) H = b
    target = torch.randn(heads * 9, d, dtype=torch.float64)
    loss = (implicit(weights, b) * target).sum()
    grads = torch.autograd.grad(loss, (weights, b))
    A = dense_operator(weights, graph.edge_index, 9)
    H = torch.linalg.solve(torch.eye(9, dtype=torch.float64) - gamma * A, b.reshape(heads, 9, d)).reshape(heads * 9, d)
    dense_grads = torch.autograd.grad((H * target).sum(), (weights, b))
    for ours, reference in zip(grads, dense_grads, strict=True):
        torch.testing.assert_close(ours, reference, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(("num_nodes", "num_edges"), [(5, 12), (40, 200), (300, 2000)])
def test_contraction_certificate_holds_on_random_graphs(num_nodes, num_edges):
    graph = random_graph(num_nodes, num_edges, seed=num_nodes)
    model = CGS(node_features=3, edge_features=2, heads=3, gamma=0.5).double()
    h = torch.randn(num_nodes, 64, dtype=torch.float64)
    weights = model.edge_weights(h, graph.edge_index, graph.edge_attr.double()).detach()
    bound = contraction_bound(weights, graph.edge_index, num_nodes, model.gamma)
    assert bound.shape == (1, 3) and bool((bound <= 0.5 + 1e-12).all())
    # spectral radius of γA by power iteration (30 steps from a positive start: A is non-negative)
    A = dense_operator(weights, graph.edge_index, num_nodes)
    v = torch.ones(3, num_nodes, 1, dtype=torch.float64)
    for _ in range(200):
        v = A @ v
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-300)
    radius = (v.transpose(1, 2) @ A @ v).squeeze() / (v.transpose(1, 2) @ v).squeeze()
    assert bool((model.gamma * radius <= bound[0] + 1e-9).all()) and bool((model.gamma * radius <= 0.5 + 1e-9).all())


@pytest.mark.parametrize(("solver", "most_iterations"), [("fixed_point", 60), ("gmres", 25), ("bicgstab", 15)])
def test_fixed_point_equals_a_dense_solve_and_stops_on_the_true_residual(solver, most_iterations):
    graph = random_graph(50, 300, seed=3)
    weights = torch.rand(graph.edge_index.shape[1], 2, dtype=torch.float64)
    out_degree = torch.bincount(graph.edge_index[0], minlength=50).clamp_min(1)
    weights = weights / out_degree[graph.edge_index[0], None]
    b = torch.randn(2 * 50, 4, dtype=torch.float64)
    info = {}
    H = ImplicitFixedPoint.apply(weights, b, EdgeLayout(graph.edge_index, 50), 0.5, solver, 1e-12, 200, info)
    A = dense_operator(weights, graph.edge_index, 50)
    dense = torch.linalg.solve(torch.eye(50, dtype=torch.float64) - 0.5 * A, b.reshape(2, 50, 4))
    torch.testing.assert_close(H.reshape(2, 50, 4), dense, rtol=1e-10, atol=1e-10)
    result = info["forward"]
    heads_H = H.reshape(2, 50, 4)
    residual = torch.linalg.vector_norm(b.reshape(2, 50, 4) - (heads_H - 0.5 * A @ heads_H)) / torch.linalg.vector_norm(b)
    assert result.converged and result.true_residual <= 1e-12
    if solver == "fixed_point":  # one residual over all columns; the Krylov solvers report the worst column's
        assert abs(float(residual) - result.true_residual) < 1e-14
    # a contraction with factor 0.5 in the ℓ1 norm: about log(1e-12)/log(0.5) ≈ 40 fixed-point
    # iterations; a Krylov method needs far fewer products (BiCGStab counts two per iteration)
    assert result.iterations <= most_iterations


@pytest.mark.parametrize("solver", SOLVERS)
def test_batched_graphs_node_and_graph_outputs_and_rebuild(solver):
    torch.manual_seed(0)
    graphs = [random_graph(n, 4 * n, seed=n) for n in (6, 11, 8)]
    batch = Batch.from_data_list(graphs)
    model = CGS(node_features=3, edge_features=2, out_features=2, hidden=16, heads=2, state_dim=4, solver=solver)
    nodes = model(batch.x, batch.edge_index, batch.edge_attr, batch.batch)
    assert nodes.shape == (25, 2) and model.last_solve["bound"].shape == (3, 2)
    nodes.sum().backward()
    assert model.last_solve["backward"].converged
    # the implicit backward reaches the layers before the solve: the lift's gradient along a random
    # direction against central differences of the same network in float64 with tight solves
    probe = CGS(**{**model_spec(model)["init_args"], "rtol": 1e-12, "maxiter": 500}).double()
    probe.load_state_dict(model.state_dict())
    direction = torch.randn(model.lift.weight.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    totals = []
    with torch.no_grad():
        for step in (1e-6, -1e-6):  # small: a ReLU switches within 1e-4 of some initializations
            probe.lift.weight.copy_(model.lift.weight.double() + step * direction)
            totals.append(float(probe(batch.x.double(), batch.edge_index, batch.edge_attr.double(), batch.batch).sum()))
    numeric = (totals[0] - totals[1]) / 2e-6
    assert float((model.lift.weight.grad.double() * direction).sum()) == pytest.approx(numeric, rel=1e-3)
    alone = model(graphs[1].x, graphs[1].edge_index, graphs[1].edge_attr)
    torch.testing.assert_close(nodes[6:17], alone, rtol=1e-4, atol=1e-5)  # graphs do not interact
    pooled = CGS(node_features=3, edge_features=2, readout="mean")
    assert pooled(batch.x, batch.edge_index, batch.edge_attr, batch.batch).shape == (3, 1)
    rebuilt = build_model(**model_spec(model))
    rebuilt.load_state_dict(model.state_dict())
    torch.testing.assert_close(rebuilt(batch.x, batch.edge_index, batch.edge_attr, batch.batch), nodes.detach())
    with pytest.raises(ValueError, match="gamma"):
        CGS(node_features=3, gamma=1.0)
    with pytest.raises(ValueError, match="solver must be one of"):
        CGS(node_features=3, solver="cg")
    with pytest.raises(ValueError, match="edge features"):
        model(batch.x, batch.edge_index, None, batch.batch)


def test_wrong_node_feature_size_is_a_clear_error():
    graph = random_graph(6, 12, seed=1)
    with pytest.raises(ValueError, match=r"node features \(N, 5\)"):
        CGS(node_features=5, edge_features=2)(graph.x, graph.edge_index, graph.edge_attr)
