"""Pore networks as sparse SPD systems for the learned preconditioners of matrices: the grounded graph
Laplacians of a ``pore_network`` store are canonical SPD CSR matrices whose solutions are the stored
interior pressures, `MatrixDataset` reads the store, a network with a part of its interior cut off
from the boundary is one clear error, and a store without sparse systems is refused in one line."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.graphs import (
    PoreNetwork,
    ValueIteration,
    interior_solve,
    laplacian_matrix,
    load_graph_systems,
)
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import ShardedDataset, shard_path, write_shard
from neuralsolvers.errors import ConfigError, DatasetError
from neuralsolvers.train import MatrixDataModule
from neuralsolvers.train.preconditioner.matrix_data import MatrixDataset

PORES = {"min_pores": 20, "max_pores": 40}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("pores")
    generate_split(PoreNetwork(**PORES), root / "train", 6, seed=0)
    generate_split(PoreNetwork(**PORES), root / "val", 3, seed=1)
    generate_split(ValueIteration(min_states=4, max_states=9), root / "mdp", 2, seed=0)
    return root


def _networks(directory):
    """Per stored network: the full Laplacian, boundary flags, boundary values and pressures."""
    arrays = ShardedDataset(directory).load()
    for i, (n, e) in enumerate(zip(arrays["num_nodes"], arrays["num_edges"], strict=True)):
        sources, targets = arrays["edge_index"][i, :, :e]
        laplacian = laplacian_matrix(n, sources, targets, arrays["edge_attr"][i, :e, 2])
        yield laplacian, arrays["x"][i, :n, 2] > 0.5, arrays["x"][i, :n, 3], arrays["y"][i, :n]


def test_grounded_laplacians_are_spd_and_solved_by_the_stored_pressures(stores):
    systems = load_graph_systems(stores / "train")
    assert len(systems) == 6 and len(load_graph_systems(stores / "train", count=2)) == 2
    for (A, b), (laplacian, boundary, values, pressure) in zip(systems, _networks(stores / "train"), strict=True):
        assert A.format == "csr" and A.dtype == np.float64 and b.dtype == np.float64
        assert A.has_canonical_format and A.shape == (int((~boundary).sum()),) * 2 and b.shape == (A.shape[0],)
        assert abs(A - A.T).max() == 0 and (A.diagonal() > 0).all()
        np.linalg.cholesky(A.toarray())  # SPD
        x = spla.spsolve(A.tocsc(), b)
        np.testing.assert_allclose(x, pressure[~boundary], rtol=0, atol=1e-10)
        np.testing.assert_allclose(x, interior_solve(laplacian, boundary, values)[~boundary], rtol=0, atol=1e-10)


def test_matrix_dataset_reads_a_pore_network_store(stores):
    dataset = MatrixDataset(stores / "train", count=4)
    systems = load_graph_systems(stores / "train", count=4)
    assert len(dataset) == 4 and dataset.sizes().tolist() == [A.shape[0] for A, _ in systems]
    for index, (A, b) in enumerate(systems):
        item = dataset[index]
        assert item["index"] == index and item["A"].layout == torch.sparse_csr and "near_nullspace" not in item
        np.testing.assert_array_equal(item["A"].to_dense().numpy(), A.toarray())
        np.testing.assert_array_equal(item["b"].numpy(), b)
        assert (dataset.matrix(index) != A).nnz == 0
    data = MatrixDataModule(str(stores / "train"), str(stores / "val"), num_val=2, batch_size=3)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert len(batch) == 3 and {"A", "b", "index"} <= batch[0].keys()
    assert len(data.splits["val"]) == 2


def test_a_store_without_sparse_systems_is_one_clear_error(stores):
    with pytest.raises(ConfigError) as error:
        MatrixDataset(stores / "mdp")
    message = str(error.value)
    assert "\n" not in message and "'value_iteration'" in message
    assert all(name in message for name in ("fe_diffusion", "fe_elasticity", "pore_network"))


@pytest.mark.parametrize(("damage", "problem"), [("cut", "no throat joins to the boundary"), ("all_boundary", "no interior pore")])
def test_a_network_whose_grounded_laplacian_is_singular_is_one_clear_error(stores, tmp_path, damage, problem):
    store = ShardedDataset(stores / "train")
    arrays = store.load()
    n, e = arrays["num_nodes"][1], arrays["num_edges"][1]
    if damage == "cut":  # no throat of positive conductance leaves interior pore `pore`: its row of A is zero
        pore = int(np.flatnonzero(arrays["x"][1, :n, 2] < 0.5)[0])
        touching = (arrays["edge_index"][1, :, :e] == pore).any(axis=0)
        arrays["edge_attr"][1, :e][touching, 2] = 0.0
    else:
        arrays["x"][1, :n, 2] = 1.0
    meta = store.metadata
    write_shard(shard_path(tmp_path, 0, 1), arrays, generator=meta["generator"], parameters=meta["parameters"],
                seed=meta["seed"], sample_range=(0, len(store)), shard_index=0, num_shards=1)  # fmt: skip
    assert len(load_graph_systems(tmp_path, count=1)) == 1  # the networks before it are fine
    with pytest.raises(DatasetError, match=f"network 1 has .*{problem}") as error:
        load_graph_systems(tmp_path)
    assert "\n" not in str(error.value)
