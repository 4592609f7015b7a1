"""Diffusion-reaction data: the stored solutions satisfy the PDE, the scheme is second order, seeds reproduce."""

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from neuralsolvers.data_gen import DiffusionReaction
from neuralsolvers.data_gen.diffusion_reaction import solve_diffusion_reaction
from neuralsolvers.errors import DatasetError


def test_stored_solution_satisfies_the_pde():
    generator = DiffusionReaction(num_sensors=101, num_x=101, num_t=101)
    arrays = generator.generate(3, np.random.default_rng(0))
    assert generator.check(arrays) <= 1e-5
    s = arrays["s"].astype(np.float64).reshape(3, 101, 101)  # (n, t, x)
    u = arrays["u"].astype(np.float64)  # sensors coincide with the x grid here
    assert np.all(s[:, 0] == 0) and np.all(s[:, :, 0] == 0) and np.all(s[:, :, -1] == 0)
    h = 0.01
    s_t = (s[:, 2:, 1:-1] - s[:, :-2, 1:-1]) / (2 * h)
    s_xx = (s[:, 1:-1, 2:] - 2 * s[:, 1:-1, 1:-1] + s[:, 1:-1, :-2]) / h**2
    residual = s_t - 0.01 * s_xx - 0.01 * s[:, 1:-1, 1:-1] ** 2 - u[:, None, 1:-1]
    # the check's own O(h²) differences, away from the first steps (the corner layer where the
    # source meets the zero initial/boundary values): measured 9.5e-3, largest in the boundary
    # layers; dropping the reaction term (up to k·max s² ≈ 0.16) would exceed the bound
    assert np.abs(residual[:, 5:]).max() < 3e-2


def test_scheme_converges_at_second_order():
    x = np.linspace(0, 1, 1001)
    spline = CubicSpline(x, np.sin(3 * np.pi * x)[:, None] + 0.5, axis=0)
    solutions = []
    for refine in (1, 2, 4):
        grid = np.linspace(0, 1, 20 * refine + 1)
        solutions.append(solve_diffusion_reaction(spline(grid), 20 * refine)[::refine, ::refine, 0])
    ratio = np.abs(solutions[1] - solutions[0]).max() / np.abs(solutions[2] - solutions[1]).max()
    assert 3.5 < ratio < 4.5  # halving h and Δt quarters the error


def test_determinism_shapes_and_check():
    generator = DiffusionReaction(num_sensors=20, num_x=11, num_t=7, refine=2)
    a = generator.generate(4, np.random.default_rng(3))
    b = generator.generate(4, np.random.default_rng(3))
    np.testing.assert_array_equal(a["s"], b["s"])
    assert a["u"].shape == (4, 20) and a["s"].shape == (4, 77)
    points = generator.shared()["points"]
    assert points.shape == (77, 2) and np.allclose(points[12], [0.1, 1 / 6])  # (x, t), time-major
    with pytest.raises(DatasetError, match="twice-finer"):
        generator.check({"_error": np.array([1e-3])})
    with pytest.raises(ValueError, match="refine"):
        DiffusionReaction(refine=0)
