"""PyAMG's SPD examples: stored exactly, SPD, deterministic, readable by MatrixDataset and the FE
evaluation, clear errors for bad names and sample counts, smoothed-aggregation PCG converges."""

import numpy as np
import pyamg
import pytest
import scipy.sparse as sp
import torch
from pyamg.gallery import load_example
from pyamg.gallery.example import example_names

from neuralsolvers.data_gen.fe_elasticity import rigid_body_modes
from neuralsolvers.data_gen.finite_elements import load_systems
from neuralsolvers.data_gen.pyamg_examples import (
    PYAMG_EXAMPLES,
    PYAMG_EXCLUDED,
    PyAMGExample,
    PyAMGExamples,
    load_pyamg_examples,
)
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError, DatasetError

SIZES = {"airfoil": (260, 1682, 1), "bar": (600, 23402, 3), "knot": (239, 1667, 1),
         "local_disc_galerkin_diffusion": (966, 35338, 1), "unit_cube": (125, 1473, 1)}  # n, nnz, block size  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Every SPD example, generated twice with the same seed (directories ``a`` and ``b``) and once alone ``bar`` (with modes)."""
    root = tmp_path_factory.mktemp("pyamg")
    for name in ("a", "b"):
        generate_split(PyAMGExamples(), root / name / "test", num_samples=len(PYAMG_EXAMPLES), seed=0, shard_size=8)
    generate_split(PyAMGExamples(["bar"]), root / "bar" / "test", num_samples=1, seed=0)
    return root


def test_every_shipped_example_is_stored_or_excluded_with_a_reason():
    assert sorted([*PYAMG_EXAMPLES, *PYAMG_EXCLUDED]) == sorted(example_names)  # a new PyAMG example must be classified
    assert set(PYAMG_EXAMPLES) == set(SIZES) and not set(PYAMG_EXAMPLES) & set(PYAMG_EXCLUDED)


def test_stored_systems_are_pyamgs_matrices_exactly_and_spd(store):
    arrays = ShardedDataset(store / "a" / "test").load()
    systems = load_systems(store / "a" / "test", generator="pyamg_examples")
    assert list(PYAMG_EXAMPLES) == list(SIZES) and len(systems) == len(SIZES)
    assert (arrays["example_index"] == np.arange(len(SIZES))).all() and "rigid_body_modes" not in arrays  # mixed k: no modes
    assert arrays["coordinates"].shape[2] == 3 and arrays["b"].dtype == np.float64
    for i, (name, (A, b)) in enumerate(zip(SIZES, systems, strict=True)):
        raw = load_example(name)
        n, nnz, block = SIZES[name]
        assert A.shape == (n, n) and A.nnz == nnz and A.dtype == np.float64 and A.has_sorted_indices
        assert (sp.csr_matrix(raw["A"]) != A).nnz == 0  # PyAMG's entries, bit for bit
        assert arrays["block_size"][i] == block and len(b) == n and np.isfinite(b).all()
        assert not arrays["b"][i, n:].any() and not arrays["data"][i, nnz:].any()
        vertices = raw["vertices"]
        points = arrays["coordinates"][i, :n, : vertices.shape[1]]
        np.testing.assert_array_equal(points, np.repeat(vertices[: n // block], block, axis=0))
        assert not arrays["coordinates"][i, :, vertices.shape[1] :].any()  # 2D examples in the plane z = 0
        dense = A.toarray()
        assert abs(dense - dense.T).max() <= 1e-12 * abs(dense).max() and (A.diagonal() > 0).all()
        np.linalg.cholesky(dense)
        assert np.linalg.eigvalsh(0.5 * (dense + dense.T))[0] > 1e-6


def test_the_store_is_deterministic(store):
    first, second = (ShardedDataset(store / name / "test").load() for name in ("a", "b"))
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    other = PyAMGExamples().generate(len(PYAMG_EXAMPLES), np.random.default_rng([1, 0]))
    np.testing.assert_array_equal(other["data"], first["data"])  # another seed: the same matrices, other loads
    assert not np.allclose(other["b"], first["b"])


def test_matrix_dataset_and_the_evaluation_read_the_store(store):
    from neuralsolvers.evaluate.finite_elements import load_fe_systems
    from neuralsolvers.train.preconditioner.matrix_data import MatrixDataset

    dataset = MatrixDataset(store / "a" / "test")
    assert list(dataset.sizes()) == [n for n, _, _ in SIZES.values()] and "near_nullspace" not in dataset[1]
    assert dataset[0]["A"].layout == torch.sparse_csr and dataset.rhs(4).shape == (125,)
    bar = MatrixDataset(store / "bar" / "test")[0]
    np.testing.assert_array_equal(bar["near_nullspace"].numpy(), load_example("bar")["B"])
    loaded = load_fe_systems(store / "a" / "test", 5)
    assert [A.shape[0] for A, _, _ in loaded] == list(dataset.sizes()) and all(B is None for _, _, B in loaded)
    ((A, b, B),) = load_fe_systems(store / "bar" / "test", 5)
    assert B.shape == (600, 6) and len(b) == 600


def test_bar_alone_keeps_its_rigid_body_modes(store):
    ((A, b, B),) = load_pyamg_examples(store / "bar" / "test")
    np.testing.assert_array_equal(B, load_example("bar")["B"])
    points = ShardedDataset(store / "bar" / "test").load(["coordinates"])["coordinates"][0, ::3]
    np.testing.assert_array_equal(B, rigid_body_modes(points))  # node-major: the rigid motions of the free nodes


@pytest.mark.parametrize("bad", [["unit_square"], ["recirc_flow"], ["helmholtz_2D"], ["airfoyl"], "bar", [], ["bar", "bar"]])
def test_a_bad_example_name_is_one_clear_error(bad):
    with pytest.raises(ConfigError) as error:
        PyAMGExamples(bad)
    message = str(error.value)
    assert "\n" not in message and str(list(PYAMG_EXAMPLES)) in message
    if bad and isinstance(bad, list) and bad[0] in PYAMG_EXCLUDED:
        assert PYAMG_EXCLUDED[bad[0]] in message


def test_a_split_of_another_size_or_several_shards_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"use num_samples: 5 and shard_size >= 5, not a shard of 6"):
        generate_split(PyAMGExamples(), tmp_path / "more", num_samples=6, seed=0)
    with pytest.raises(ConfigError, match="not a shard of 2"):
        generate_split(PyAMGExamples(), tmp_path / "sharded", num_samples=5, seed=0, shard_size=2)


def test_the_self_check_refuses_a_singular_matrix():
    """``unit_square`` (pure Neumann) passes a dense Cholesky by rounding; the eigenvalue check catches it."""
    raw = load_example("unit_square")
    generator = PyAMGExamples(["airfoil"])
    generator._loaded = [PyAMGExample(sp.csr_matrix(raw["A"]), np.ones((191, 1)), raw["vertices"], 1)]  # bypasses the name check
    with pytest.raises(DatasetError, match="singular"):
        generator.check(generator.generate(1, np.random.default_rng(0)))


def test_smoothed_aggregation_pcg_converges_on_every_example(store):
    systems = load_pyamg_examples(store / "a" / "test") + load_pyamg_examples(store / "bar" / "test")
    for A, b, B in systems:
        residuals = []
        x = pyamg.smoothed_aggregation_solver(A, B=B).solve(b, tol=1e-8, accel="cg", maxiter=200, residuals=residuals)
        assert np.linalg.norm(b - A @ x) <= 1e-7 * np.linalg.norm(b) and len(residuals) < 100, (A.shape, len(residuals))
    assert systems[-1][2] is not None  # bar with its six modes
