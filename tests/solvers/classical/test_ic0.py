"""The compiled IC(0) factor: the factor of the former row loop to 1e-12, and the defining property
(L Lᵀ)_ij = A_ij on the pattern of A; breakdown is reported."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from neuralsolvers.solvers import DiffusionStencil, ic0_factor


def _former_factor():
    """The former implementation (a Python loop over rows), kept in the IC(0) benchmark: the reference."""
    path = Path(__file__).parents[3] / "benchmarks" / "ic0.py"
    spec = importlib.util.spec_from_file_location("ic0_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.row_loop_factor


row_loop_factor = _former_factor()


def systems():
    rng = np.random.default_rng(0)
    mask = torch.from_numpy(rng.random((14, 13)) > 0.2)
    coefficient = torch.from_numpy(np.where(rng.random((14, 13)) > 0.5, 100.0, 1.0))
    yield DiffusionStencil((14, 13), coefficient, mask, dirichlet_walls=[True, False, True, True]).to_scipy()
    yield DiffusionStencil((6, 7, 5), mask=torch.from_numpy(rng.random((6, 7, 5)) > 0.3)).to_scipy()
    dense = rng.standard_normal((30, 30)) * (rng.random((30, 30)) > 0.8)
    yield sp.csr_matrix(dense @ dense.T + 30 * np.eye(30))  # irregular pattern with fill


@pytest.mark.parametrize("A", list(systems()), ids=["2d-jumps-neumann", "3d-obstacles", "irregular"])
def test_factor_equals_the_row_loop_and_matches_A_on_its_pattern(A):
    L = ic0_factor(A)
    reference = row_loop_factor(A)
    assert (L.indices == reference.indices).all() and (L.indptr == reference.indptr).all()
    np.testing.assert_allclose(L.data, reference.data, rtol=1e-12, atol=1e-14)
    product = (L @ L.T).tocsr()
    pattern = sp.csr_matrix(A) != 0
    np.testing.assert_allclose(product[pattern].A1, sp.csr_matrix(A)[pattern].A1, rtol=1e-10, atol=1e-12)


def test_breakdown_is_reported():
    with pytest.raises(ValueError, match="breaks down at row 1"):
        ic0_factor(sp.csr_matrix(np.array([[1.0, 2.0], [2.0, 1.0]])))
    with pytest.raises(ValueError, match="no diagonal|nonzero diagonal"):
        ic0_factor(sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0]])))
