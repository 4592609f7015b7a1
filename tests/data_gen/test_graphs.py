"""CGS graph systems: Delaunay pore networks (Dirichlet graph Laplacian) and random MDPs (V*)."""

import numpy as np
import pytest
from scipy.spatial import Delaunay

from neuralsolvers.data_gen.graphs import PoreNetwork, ValueIteration, load_graphs, to_pyg
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import DatasetError

PORES = {"min_pores": 6, "max_pores": 16}
MDPS = {"min_states": 4, "max_states": 9, "min_actions": 2, "max_actions": 4}


@pytest.fixture(scope="module")
def pores():
    generator = PoreNetwork(**PORES)
    return generator, generator.generate(8, np.random.default_rng(0))


@pytest.fixture(scope="module")
def mdps():
    generator = ValueIteration(**MDPS)
    return generator, generator.generate(8, np.random.default_rng(0))


def _graphs(arrays):
    """Per sample: node count, edge count, ``(2, e)`` edges."""
    for i, (n, e) in enumerate(zip(arrays["num_nodes"], arrays["num_edges"], strict=True)):
        yield i, n, e, arrays["edge_index"][i, :, :e]


@pytest.mark.parametrize("make", [lambda: PoreNetwork(**PORES), lambda: ValueIteration(**MDPS)])
def test_deterministic_per_seed_and_padded(make):
    generator = make()
    arrays = generator.generate(5, np.random.default_rng(3))
    again = generator.generate(5, np.random.default_rng(3))
    other = generator.generate(5, np.random.default_rng(4))
    assert arrays.keys() == again.keys()
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], again[key])
    assert not np.array_equal(arrays["y"], other["y"])
    m = generator.max_pores if isinstance(generator, PoreNetwork) else generator.max_states
    e_max = generator.max_edges
    assert all(len(value) == 5 for value in arrays.values())
    assert arrays["edge_index"].shape == (5, 2, e_max) and arrays["edge_index"].dtype == np.int64
    assert arrays["x"].shape[:2] == (5, m) and arrays["y"].shape == (5, m)
    assert arrays["edge_attr"].shape[:2] == (5, e_max)
    for i, n, e, edges in _graphs(arrays):
        assert 0 < e <= e_max and edges.max() < n
        assert not arrays["x"][i, n:].any() and not arrays["y"][i, n:].any()
        assert not arrays["edge_index"][i, :, e:].any() and not arrays["edge_attr"][i, e:].any()
    assert generator.check(arrays) <= generator.tolerance


def test_pore_network_is_the_delaunay_mesh_with_the_stated_geometry(pores):
    generator, arrays = pores
    for i, n, e, (sources, targets) in _graphs(arrays):
        x = arrays["x"][i, :n]
        simplices = Delaunay(x[:, :2]).simplices
        pairs = {(a, b) for s in simplices for a in s for b in s if a != b}
        assert e == len(pairs) and set(zip(sources.tolist(), targets.tolist(), strict=True)) == pairs
        assert e <= 2 * (3 * n - 6)
        diameter, distance = x[:, 4], np.linalg.norm(x[sources, :2] - x[targets, :2], axis=1)
        throat = 0.5 * np.minimum(diameter[sources], diameter[targets])
        length = distance - 0.5 * (diameter[sources] + diameter[targets])
        assert (length >= (1 - generator.max_diameter_fraction) * distance - 1e-15).all()
        np.testing.assert_allclose(arrays["edge_attr"][i, :e, 0], throat, rtol=1e-14)
        np.testing.assert_allclose(arrays["edge_attr"][i, :e, 1], length, rtol=1e-12)
        conductance = np.pi * throat**4 / (128 * length)
        np.testing.assert_allclose(arrays["edge_attr"][i, :e, 2], conductance, rtol=1e-12)
        boundary, known = x[:, 2] == 1, x[:, 3]
        inlet, outlet = boundary & (known == 1), boundary & (known == 0)
        assert inlet[np.argmin(x[:, 0])] and outlet[np.argmax(x[:, 0])]
        assert (boundary == (inlet | outlet)).all() and not known[~boundary].any()
        assert boundary[(x[:, 0] < 0.1) | (x[:, 0] > 0.9)].all()


def test_pore_pressures_match_a_dense_solve_and_the_maximum_principle(pores):
    _, arrays = pores
    for i, n, e, (sources, targets) in _graphs(arrays):
        laplacian = np.zeros((n, n))
        np.add.at(laplacian, (sources, targets), -arrays["edge_attr"][i, :e, 2])
        laplacian[np.diag_indices(n)] = -laplacian.sum(1)
        boundary, p = arrays["x"][i, :n, 2] == 1, arrays["x"][i, :n, 3].copy()
        interior = ~boundary
        rhs = -laplacian[np.ix_(interior, boundary)] @ p[boundary]
        p[interior] = np.linalg.solve(laplacian[np.ix_(interior, interior)], rhs)
        np.testing.assert_allclose(arrays["y"][i, :n], p, rtol=0, atol=1e-10)
        assert p.min() >= -1e-12 and p.max() <= 1 + 1e-12
        assert p[interior].min() > 0 and p[interior].max() < 1  # strict: the mesh is connected


def _dense_mdp(arrays, i):
    """Transition tensor ``(S, A, S)``, rewards ``(S, A)`` of sample ``i`` from its stored graph."""
    n, e, a = arrays["num_nodes"][i], arrays["num_edges"][i], arrays["mask"][i, 0].sum()
    sources, targets = arrays["edge_index"][i, :, :e]
    transitions = np.zeros((n, a, n))
    transitions[sources, :, targets] = arrays["edge_attr"][i, :e, :a]
    assert not arrays["edge_attr"][i, :e, a:].any() and not arrays["x"][i, :n, a:].any()
    return transitions, arrays["x"][i, :n, :a]


def test_values_satisfy_bellman_and_the_policy_is_greedy_and_optimal(mdps):
    generator, arrays = mdps
    gamma = generator.discount
    for i in range(len(arrays["y"])):
        transitions, reward = _dense_mdp(arrays, i)
        n, a = reward.shape
        assert (arrays["mask"][i, :n] == (np.arange(generator.max_actions) < a)).all()
        np.testing.assert_allclose(transitions.sum(-1), 1.0, rtol=0, atol=1e-14)
        successors = (transitions > 0).sum(-1)
        assert generator.min_successors <= successors.min() <= successors.max() <= generator.max_successors
        assert (reward != 0).all() and np.abs(reward).max() <= 1
        values, policy = arrays["y"][i, :n], arrays["policy"][i, :n]
        q = reward + gamma * transitions @ values
        assert np.abs(values - q.max(1)).max() <= generator.tolerance
        np.testing.assert_array_equal(policy, q.argmax(1))
        # V* is the value of its greedy policy: solve (I − γ P_π) V = R_π exactly
        states = np.arange(n)
        exact = np.linalg.solve(np.eye(n) - gamma * transitions[states, policy], reward[states, policy])
        np.testing.assert_allclose(values, exact, rtol=0, atol=generator.tolerance / (1 - gamma))


def test_to_pyg_unpads_every_graph(pores, mdps):
    for _, arrays in (pores, mdps):
        graphs = to_pyg({**arrays, "_hidden": np.zeros(len(arrays["y"]))})
        assert len(graphs) == len(arrays["y"])
        for i, graph in enumerate(graphs):
            n, e = int(arrays["num_nodes"][i]), int(arrays["num_edges"][i])
            assert graph.num_nodes == n and graph.num_edges == e and "_hidden" not in graph
            np.testing.assert_array_equal(graph.edge_index.numpy(), arrays["edge_index"][i, :, :e])
            np.testing.assert_array_equal(graph.edge_attr.numpy(), arrays["edge_attr"][i, :e])
            np.testing.assert_array_equal(graph.x.numpy(), arrays["x"][i, :n])
            np.testing.assert_array_equal(graph.y.numpy(), arrays["y"][i, :n])
    graph = to_pyg(mdps[1])[0]
    assert graph.mask.shape == graph.x.shape and graph.policy.shape == graph.y.shape
    with pytest.raises(ValueError, match="num_edges"):
        to_pyg({"num_nodes": np.ones(1, np.int64), "edge_index": np.zeros((1, 2, 1), np.int64)})


def _corrupt(arrays, key, index, value):
    copy = {name: array.copy() for name, array in arrays.items()}
    copy[key][index] = value
    return copy


def test_self_checks_reject_corrupted_data(pores, mdps):
    generator, arrays = pores
    interior = int(np.argmax(arrays["x"][0, : arrays["num_nodes"][0], 2] == 0))
    for key, index, value, what in [
        ("y", (0, interior), 0.5 + arrays["y"][0, interior] / 2, "relative residual"),
        ("y", (1, int(np.argmax(arrays["x"][1, :, 3]))), 1.5, "boundary pressure"),
        ("edge_attr", (2, 0, 2), 1.0, "Hagen"),
    ]:
        with pytest.raises(DatasetError, match=what):
            generator.check(_corrupt(arrays, key, index, value))
    generator, arrays = mdps
    transitions, reward = _dense_mdp(arrays, 0)
    q = reward[0] + generator.discount * transitions[0] @ arrays["y"][0, : len(reward)]
    worst = int(np.argmin(q))
    for key, index, value, what in [
        ("y", (0, 1), arrays["y"][0, 1] + 1e-6, "Bellman"),
        ("edge_attr", (1, 0, 0), arrays["edge_attr"][1, 0, 0] + 0.1, "probabilities"),
        ("policy", (0, 0), worst, "greedy"),
    ]:
        with pytest.raises(DatasetError, match=what):
            generator.check(_corrupt(arrays, key, index, value))


def test_datasets_write_and_load_back_as_graphs(tmp_path):
    for generator in (PoreNetwork(**PORES), ValueIteration(**MDPS)):
        directory = tmp_path / generator.name / "train"
        paths = generate_split(generator, directory, num_samples=6, seed=0, shard_size=3)
        graphs = load_graphs(directory)
        assert len(paths) == 2 and len(graphs) == 6
        expected = generator.generate(3, np.random.default_rng([0, 1]))  # shard 1's stream
        for graph, n in zip(graphs[3:], expected["num_nodes"], strict=True):
            assert graph.num_nodes == n and graph.y.shape == (n,)
        first = expected["y"][0, : expected["num_nodes"][0]]
        np.testing.assert_array_equal(graphs[3].y.numpy(), first)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: PoreNetwork(min_pores=20, max_pores=10), "min_pores"),
        (lambda: PoreNetwork(min_pores=2, max_pores=10), "min_pores"),
        (lambda: PoreNetwork(max_diameter_fraction=1.0), "diameter_fraction"),
        (lambda: PoreNetwork(boundary_fraction=0.5), "boundary_fraction"),
        (lambda: ValueIteration(min_states=60), "min_states"),
        (lambda: ValueIteration(min_actions=0), "min_actions"),
        (lambda: ValueIteration(min_states=3, max_successors=4), "max_successors"),
        (lambda: ValueIteration(discount=1.0), "discount"),
        (lambda: ValueIteration(tolerance=0.0), "tolerance"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()
