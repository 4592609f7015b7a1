"""Operators: every kind gives the product SciPy gives; stencils assemble to the textbook matrix."""

import numpy as np
import pytest
import torch
from pyamg.gallery import poisson

from neuralsolvers.solvers.operators import DenseOperator, SparseOperator, as_operator
from neuralsolvers.solvers.stencils import DiffusionStencil


@pytest.fixture
def matrix():
    return poisson((6, 5), format="csr")


def test_every_operator_kind_matches_scipy(matrix):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3))
    expected = matrix @ x
    for operator in (
        as_operator(matrix),
        as_operator(torch.from_numpy(matrix.toarray())),
        as_operator(torch.from_numpy(matrix.toarray()).to_sparse_csr()),
        as_operator(matrix.toarray()),
    ):
        np.testing.assert_allclose(operator.matmat(torch.from_numpy(x)).numpy(), expected, rtol=1e-12)
        np.testing.assert_allclose(operator.matvec(torch.from_numpy(x[:, 0])).numpy(), expected[:, 0], rtol=1e-12)
        np.testing.assert_allclose(operator.diagonal().numpy(), matrix.diagonal())
        assert (operator.to_scipy() != matrix).nnz == 0


def test_scipy_conversion_dtype_and_kinds(matrix):
    operator = as_operator(matrix, dtype=torch.float32)
    assert isinstance(operator, SparseOperator) and operator.dtype == torch.float32
    assert isinstance(as_operator(torch.eye(3)), DenseOperator)
    with pytest.raises(TypeError, match="linear operator"):
        as_operator("A")
    with pytest.raises(ValueError, match="square"):
        as_operator(torch.ones(2, 3))


@pytest.mark.parametrize("grid", [(7, 5), (4, 3, 5)])
def test_constant_stencil_is_the_poisson_matrix(grid):
    stencil = DiffusionStencil(grid)
    reference = poisson(grid, format="csr")
    assert abs(stencil.to_scipy() - reference).max() == 0
    x = torch.randn(int(np.prod(grid)), 2, dtype=torch.float64)
    np.testing.assert_allclose(stencil.matmat(x).numpy(), reference @ x.numpy(), rtol=1e-12)


def test_variable_coefficients_and_obstacles():
    torch.manual_seed(0)
    grid = (6, 7)
    a = torch.exp(torch.randn(grid, dtype=torch.float64))
    mask = torch.ones(grid, dtype=torch.bool)
    mask[2:4, 3:5] = False
    stencil = DiffusionStencil(grid, a, mask, spacing=0.5)
    A = stencil.to_scipy()
    assert abs(A - A.T).max() < 1e-14
    assert np.linalg.eigvalsh(A.toarray()).min() > 0
    x = torch.randn(42, dtype=torch.float64)
    np.testing.assert_allclose(stencil.matvec(x).numpy(), A @ x.numpy(), rtol=1e-12)
    # a fluid cell's row: harmonic-mean faces to fluid neighbours, own coefficient to walls/obstacles
    i, j = 1, 3  # neighbour (2, 3) is an obstacle, the others fluid
    k = lambda p, q: 2 * a[p] * a[q] / (a[p] + a[q])  # noqa: E731
    expected = (k((i, j), (0, j)) + a[i, j] + k((i, j), (i, j - 1)) + k((i, j), (i, j + 1))) / 0.25
    assert np.isclose(A[i * 7 + j, i * 7 + j], expected.item())
    assert A[i * 7 + j, 2 * 7 + j] == 0
    obstacle = 2 * 7 + 3
    assert A[obstacle, obstacle] == 1 and A[obstacle].nnz == 1


def test_bad_stencil_input():
    with pytest.raises(ValueError, match="grid"):
        DiffusionStencil((5,))
    with pytest.raises(ValueError, match="positive"):
        DiffusionStencil((3, 3), coefficient=-torch.ones(3, 3))
    with pytest.raises(ValueError, match="no fluid"):
        DiffusionStencil((3, 3), mask=torch.zeros(3, 3, dtype=torch.bool))


def test_neumann_walls_remove_the_wall_terms():
    dirichlet = DiffusionStencil((5, 4)).to_scipy()
    neumann = DiffusionStencil((5, 4), dirichlet_walls=False).to_scipy()
    ones = np.ones(20)
    np.testing.assert_allclose(neumann @ ones, 0.0, atol=1e-14)  # constants are in the null space
    assert (dirichlet - neumann).nnz == 14  # only boundary cells' diagonals differ (corners twice)
    open_top = DiffusionStencil((5, 4), dirichlet_walls=[False, False, False, True]).to_scipy()
    assert np.linalg.eigvalsh(open_top.toarray()).min() > 0
    with pytest.raises(ValueError, match="dirichlet_walls"):
        DiffusionStencil((5, 4), dirichlet_walls=[True, False])
