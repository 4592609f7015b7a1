"""Darcy generator: solutions solve their systems, seeds reproduce, coarse grids are subgrids."""

import numpy as np
import pytest

from neuralsolvers.data_gen import Darcy2D, subsample
from neuralsolvers.data_gen.darcy import _solve, darcy_operator
from neuralsolvers.errors import DatasetError


@pytest.mark.parametrize("coefficient", ["piecewise", "lognormal"])
def test_stored_solutions_solve_their_systems(coefficient):
    generator = Darcy2D(resolution=33, coefficient=coefficient, workers=1)
    arrays = generator.generate(3, np.random.default_rng(0))
    assert arrays["a"].shape == arrays["u"].shape == (3, 33, 33)
    assert generator.check(arrays) <= 1e-10
    if coefficient == "piecewise":
        assert set(np.unique(arrays["a"])) == {3.0, 12.0}
    else:
        assert (arrays["a"] > 0).all()
    for a, u in zip(arrays["a"], arrays["u"], strict=True):
        assert np.abs(u[0]).max() == np.abs(u[:, -1]).max() == 0  # Dirichlet boundary
        matrix = darcy_operator(a.astype(np.float64)).to_scipy()
        f = np.ones(31 * 31)
        # the stored float32 solution: residual at single-precision level
        assert np.linalg.norm(f - matrix @ u[1:-1, 1:-1].reshape(-1).astype(np.float64)) / np.linalg.norm(f) < 1e-5
    assert (arrays["u"][:, 1:-1, 1:-1] > 0).all()  # f = 1 > 0 gives a positive pressure


def test_process_pool_gives_the_same_data():
    one = Darcy2D(resolution=17, workers=1).generate(16, np.random.default_rng(5))
    two = Darcy2D(resolution=17, workers=2).generate(16, np.random.default_rng(5))
    np.testing.assert_array_equal(one["u"], two["u"])


def test_subsampling_is_a_subgrid_and_close_to_a_coarse_solve():
    fine = Darcy2D(resolution=65, coefficient="lognormal", workers=1)
    arrays = fine.generate(2, np.random.default_rng(1))
    grid = fine.shared()["grid"]
    np.testing.assert_array_equal(subsample(grid[None, None, :].repeat(65, 1), 4)[0, 0], np.linspace(0, 1, 17))
    coarse_a = subsample(arrays["a"], 4).astype(np.float64)
    u_coarse, _ = _solve(coarse_a, 1.0)
    u_sub = subsample(arrays["u"], 4)
    # same PDE on a 4× coarser grid: agreement up to the discretization error (measured ~1e-2)
    assert np.linalg.norm(u_sub - u_coarse) / np.linalg.norm(u_sub) < 5e-2
    with pytest.raises(ValueError, match="divide"):
        subsample(arrays["u"], 3)


def test_self_check_and_bad_parameters():
    generator = Darcy2D(resolution=9, workers=1)
    with pytest.raises(DatasetError, match="residual"):
        generator.check({"_residual": np.array([1e-12, 1e-3])})
    with pytest.raises(ValueError, match="coefficient"):
        Darcy2D(coefficient="smooth")


def test_random_forcing_is_stored_and_solved():
    generator = Darcy2D(resolution=25, random_forcing=True, workers=1)
    arrays = generator.generate(3, np.random.default_rng(5))
    assert generator.check(arrays) <= 1e-10 and arrays["f"].shape == (3, 25, 25)
    interior = arrays["f"][:, 1:-1, 1:-1].astype(np.float64)
    np.testing.assert_allclose(np.sqrt((interior**2).mean(axis=(1, 2))), 1.0, rtol=1e-5)  # unit RMS
    A = darcy_operator(arrays["a"][0].astype(np.float64)).to_scipy()
    u = arrays["u"][0, 1:-1, 1:-1].astype(np.float64).ravel()
    assert np.linalg.norm(A @ u - interior[0].ravel()) / np.linalg.norm(interior[0]) < 1e-5  # float32 data
    assert not np.allclose(arrays["f"][0], arrays["f"][1])
