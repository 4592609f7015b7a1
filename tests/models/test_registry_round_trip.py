"""Every registered model survives a checkpoint: ``neuralsolvers.load`` rebuilds it with the same outputs.

The checkpoint is written the way the training modules write it (the LightningModule holds the
network as ``model``, and stores ``model_spec``), after every floating parameter and buffer has been
moved off its initial value, so a weight or a normalization buffer that the checkpoint loses, or
a constructor argument that ``init_args`` does not record, changes the outputs.
"""

import importlib
import pkgutil

import pytest
import torch

import neuralsolvers
import neuralsolvers.models
from neuralsolvers.models.registry import BUILT_IN, MODELS, model_spec


def _graph(num_nodes: int = 7, num_edges: int = 20, node_features: int = 3, edge_features: int = 2):
    generator = torch.Generator().manual_seed(1)
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=generator)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    x = torch.randn(num_nodes, node_features, generator=generator)
    edge_attr = torch.rand(edge_index.shape[1], edge_features, generator=generator)
    return x, edge_index, edge_attr


def _inputs(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(2))


def _poisson(side: int) -> torch.Tensor:
    """The 5-point Laplacian on a ``side × side`` grid, a float32 sparse CSR tensor."""
    import scipy.sparse as sp

    line = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(side, side))
    matrix = sp.kronsum(line, line, format="csr")
    return torch.sparse_csr_tensor(torch.from_numpy(matrix.indptr), torch.from_numpy(matrix.indices), torch.from_numpy(matrix.data).float(), matrix.shape)


def _level_graph():
    """A learned AMG's first level of the 6×6 Laplacian (PyAMG's Ruge–Stüben prolongation)."""
    from neuralsolvers.solvers.multigrid.learned_amg import LevelGraph, coarsening_plan

    A = _poisson(6)
    plan = coarsening_plan(torch.sparse_csr_tensor(A.crow_indices(), A.col_indices(), A.values().double(), A.shape), "ruge_stuben", max_coarse=4)
    P = plan.prolongations[0]
    rows = lambda indptr: torch.repeat_interleave(torch.arange(len(indptr) - 1), torch.from_numpy(indptr).diff())  # noqa: E731
    return LevelGraph(rows(plan.matrices[0].indptr), torch.from_numpy(plan.matrices[0].indices).long(), torch.from_numpy(plan.matrices[0].data).float(),
                      36, rows(P.indptr), torch.from_numpy(P.indices).long(), torch.from_numpy(P.data).float(), P.shape[1], 0)  # fmt: skip


def _cases():
    """Registered name → (a small instance, its outputs on a fixed input as a tuple of tensors)."""
    from neuralsolvers.models import (
        CGS,
        FNO,
        LPN,
        DCDMNet,
        DeepONet,
        GNNBaseline,
        HiddenTermNet,
        LagrangianNet,
        LearnedAMG,
        LearnedIncompleteCholesky,
        MgNO,
        NeuralMultigrid,
        PINNNet,
    )

    graph = _graph()
    points = torch.rand(9, 2, generator=torch.Generator().manual_seed(3))
    return {
        "cgs": (lambda: CGS(node_features=3, edge_features=2, out_features=2, hidden=8, heads=2, state_dim=4), lambda net: (net(*graph),)),
        "dcdm": (lambda: DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)), lambda net: (net(_inputs(1, 2, 12, 12)),)),
        "deeponet": (lambda: DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4),
                     lambda net: (net(_inputs(2, 10), points[:5, :1]),)),  # fmt: skip
        "fno": (lambda: FNO(n_modes=(4, 4), hidden_channels=8, n_layers=2), lambda net: (net(_inputs(2, 16, 16)),)),
        "gnn_baseline": (lambda: GNNBaseline(node_features=3, out_features=2, kind="gat", hidden=8, layers=2, edge_features=2),
                         lambda net: (net(*graph),)),  # fmt: skip
        "hidden_term_net": (lambda: HiddenTermNet(hidden=8, layers=2, center=[0.5], scale=[0.3], term_hidden=8),
                            lambda net: (net(points[:, :1]), net.term(_inputs(9, 2)))),  # fmt: skip
        "lagrangian_net": (lambda: LagrangianNet(period=3.0, hidden=8, state_layers=2, curve_layers=1, time_scale=2.0), lambda net: (net(points),)),
        "learned_amg": (lambda: LearnedAMG(hidden=4, layers=1), lambda net: net(_level_graph())),
        "learned_ic": (lambda: LearnedIncompleteCholesky(hidden=4, layers=1), lambda net: (net.factor(_poisson(5)).values(),)),
        "lpn": (lambda: LPN(kind="dense", in_features=3, hidden=8, alpha=0.05), lambda net: (net(_inputs(5, 3)),)),
        "mgno": (lambda: MgNO(width=6, num_layers=2, smoothing=[1, 1, 2]), lambda net: (net(_inputs(2, 16, 16)),)),
        "neural_multigrid": (lambda: NeuralMultigrid(dim=2, hidden=4, depth=1, coarsest=8), lambda net: (net(_inputs(1, net.layout.features, 8, 8)),)),
        "pinn_net": (lambda: PINNNet(in_features=2, hidden=8, layers=2, center=[0.5, 0.5], scale=[0.3, 0.3]), lambda net: (net(points),)),
    }


def test_built_in_is_exactly_what_the_model_modules_register():
    for module in pkgutil.iter_modules(neuralsolvers.models.__path__):
        importlib.import_module(f"neuralsolvers.models.{module.name}")
    registered = {name: cls.__module__ for name, cls in MODELS.items() if cls.__module__.startswith("neuralsolvers.")}
    assert registered == BUILT_IN
    assert set(_cases()) == set(BUILT_IN)  # the round trip below covers every built-in model


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_load_round_trips_every_registered_model(name, tmp_path):
    build, outputs = _cases()[name]
    torch.manual_seed(0)
    net = build()
    assert model_spec(net)["name"] == name
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():  # off the initial values: zero-initialized layers, unit normalization buffers
        for value in [*net.parameters(), *net.buffers()]:
            if value.is_floating_point():
                value.add_(0.1 * torch.randn(value.shape, generator=generator, dtype=value.dtype))
    net.eval()
    path = tmp_path / f"{name}.ckpt"
    state = {f"model.{key}": value for key, value in net.state_dict().items()}
    torch.save({"state_dict": state, "neuralsolvers_model": model_spec(net)}, path)
    loaded = neuralsolvers.load(path)
    assert type(loaded) is MODELS[name] and not loaded.training
    with torch.no_grad():
        expected, got = outputs(net), outputs(loaded)
    for reference, value in zip(expected, got, strict=True):
        assert bool(reference.abs().amax() > 0)  # a nontrivial output, so equality means something
        torch.testing.assert_close(value, reference, rtol=0, atol=0)
