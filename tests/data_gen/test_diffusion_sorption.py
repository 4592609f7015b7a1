"""Diffusion–sorption references: deterministic, bounded, mass-conserving, converging under
refinement; the stored-grid (BDF2) solution solves the discrete equations the training checks."""

import numpy as np
import pytest
import torch

from neuralsolvers.data_gen import DiffusionSorption
from neuralsolvers.data_gen.diffusion_sorption import retardation, sorbed_mass
from neuralsolvers.errors import ConfigError, DatasetError
from neuralsolvers.train import DiffusionSorption1D


def test_trajectories_are_deterministic_bounded_and_conserve_mass():
    generator = DiffusionSorption(num_x=33, num_t=11, discretization_tolerance=0.1)  # 10 steps of 50 s: ~3%
    first = generator.generate(3, np.random.default_rng(4))
    again = generator.generate(3, np.random.default_rng(4))
    assert np.array_equal(first["u"], again["u"])
    u = first["u"]
    assert u.shape == (3, 11, 33) and first["u0"].shape == (3, 33)
    assert np.allclose(u[:, 0], first["u0"]) and np.all(first["u0"] == first["u0"][:, :1])  # a constant level
    assert np.all(u[:, 1:, 0] == 1.0)  # the saturated inflow
    dx, D = 1 / 32, 5e-4
    assert np.allclose(u[:, 1:, -1] + D * (u[:, 1:, -1] - u[:, 1:, -2]) / dx, 0.0, atol=1e-15)  # the outflow condition
    assert generator.check(first) < 1e-6  # mass balance, Newton residuals, 0 ≤ u ≤ 1, u near u_fine
    assert np.all(np.diff(u[:, -1, :-1], axis=1) < 0)  # the front decreases away from the inflow
    for field in (u, first["u_fine"]):  # both honour the conditions exactly
        assert np.all(field[:, 1:, 0] == 1.0)


def test_the_stored_grid_solution_has_zero_discrete_residual_and_is_near_the_accurate_one():
    generator = DiffusionSorption(num_x=65, num_t=21)
    arrays = generator.generate(2, np.random.default_rng(1))
    u, u0 = torch.from_numpy(arrays["u"]), torch.from_numpy(arrays["u0"])
    losses = DiffusionSorption1D(num_t=21, time_unit=1.0).losses(u, u0)
    assert float(losses["pde"]) < 1e-11 and float(losses["outflow"]) < 1e-15  # Newton to 1e-12 /s
    fine = arrays["u_fine"]
    distance = np.linalg.norm(arrays["u"] - fine) / np.linalg.norm(fine)
    assert 1e-4 < distance < 2e-2  # the time discretization error of 21 steps of 25 s, not zero


def test_refinement_converges():
    coarse, fine, finer = (DiffusionSorption(num_x=n, num_t=6).solve(np.array([0.1]))[0][0] for n in (65, 129, 257))
    first, second = np.abs(coarse[-1] - fine[-1, ::2]).max(), np.abs(fine[-1] - finer[-1, ::2]).max()
    assert second < 1e-4 and first / second > 3  # second order in x (ratio 4) at t = 500 s


def test_retardation_is_the_derivative_of_the_sorbed_mass():
    u = np.linspace(0.01, 1.0, 50)
    constants = {"porosity": 0.29, "rho_s": 2880.0, "k_f": 3.5e-4, "n_f": 0.874}
    h = 1e-7
    numeric = (sorbed_mass(u + h, **constants) - sorbed_mass(u - h, **constants)) / (2 * h)
    assert np.allclose(retardation(u, **constants), numeric, rtol=1e-6)
    assert retardation(np.array([-0.1]))[0] == retardation(np.array([0.0]))[0]  # u ≤ 0 is floored


def test_bad_parameters_and_a_failed_check_are_clear_errors():
    with pytest.raises(ConfigError, match="num_x"):
        DiffusionSorption(num_x=2)
    generator = DiffusionSorption(num_x=17, num_t=5, discretization_tolerance=0.2)
    arrays = generator.generate(1, np.random.default_rng(0))
    arrays["_balance"] = np.array([1e-2])
    with pytest.raises(DatasetError, match="mass balance"):
        generator.check(arrays)
    arrays["u"] = arrays["u"] * 0.5
    with pytest.raises(DatasetError, match="distance"):
        generator.check(arrays)
