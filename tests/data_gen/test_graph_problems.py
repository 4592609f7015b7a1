"""The graph datasets' problems on PyG batches: the batched direct solve reproduces the stored
pressures; the stored MDP values are the Bellman operator's fixed point with the stored policy greedy."""

import numpy as np
import torch
from torch_geometric.data import Batch

from neuralsolvers.data_gen import PoreNetwork, ValueIteration
from neuralsolvers.data_gen.graph_problems import bellman_q, greedy_policy, pore_pressures
from neuralsolvers.data_gen.graphs import to_pyg


def test_batched_pore_solve_reproduces_the_generator():
    graphs = to_pyg(PoreNetwork(min_pores=20, max_pores=60).generate(5, np.random.default_rng(0)))
    batch = Batch.from_data_list(graphs)
    pressures = pore_pressures(batch)
    np.testing.assert_allclose(pressures, batch.y.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(pore_pressures(graphs[2]), graphs[2].y.numpy(), rtol=0, atol=1e-10)


def test_stored_values_are_the_bellman_fixed_point():
    graphs = to_pyg(ValueIteration(min_states=10, max_states=20).generate(4, np.random.default_rng(1)))
    batch = Batch.from_data_list(graphs)
    q = bellman_q(batch.y, batch, discount=0.9)
    torch.testing.assert_close(q.max(dim=1).values, batch.y, rtol=0, atol=1e-9)
    assert bool((greedy_policy(batch.y, batch, 0.9) == batch.policy).all())
    assert bool(torch.isinf(q[~batch.mask.bool()]).all())
