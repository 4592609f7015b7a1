"""The discrete diffusion–sorption physics: exact differences for polynomials, the conditions of the reference."""

import numpy as np
import pytest
import torch

from neuralsolvers.data_gen import DiffusionSorption
from neuralsolvers.errors import ConfigError
from neuralsolvers.physics import DiffusionSorption1D


def _reference(num_x=33, num_t=21, samples=2):
    arrays = DiffusionSorption(num_x=num_x, num_t=num_t).generate(samples, np.random.default_rng(0))
    return torch.from_numpy(arrays["u0"]), torch.from_numpy(arrays["u"])


def test_differences_are_exact_for_polynomials_and_conditions_hold_for_the_reference():
    physics = DiffusionSorption1D(num_t=11, t_final=500.0)
    t, x = torch.linspace(0, 500, 11, dtype=torch.float64), torch.linspace(0, 1, 9, dtype=torch.float64)
    f = 2 + 0.01 * t[:, None] + 3 * x**2
    values, rates, curvatures = physics.residual_terms(f)
    assert values.shape == rates.shape == curvatures.shape == (10, 7)
    assert torch.allclose(rates, torch.full_like(rates, 0.01)) and torch.allclose(curvatures, torch.full_like(curvatures, 6.0))
    g = (t[:, None] - 100) ** 2 + 0 * x  # BDF2 is exact for quadratics from the second step on
    assert torch.allclose(physics.residual_terms(g)[1][1:], 2 * (t[2:, None] - 100).expand(9, 7))
    u0, u = _reference(num_t=11, num_x=9)
    losses = DiffusionSorption1D(num_t=11).losses(u, u0)
    assert float(losses["initial"]) == float(losses["inflow"]) == 0 and float(losses["outflow"]) < 1e-15
    with pytest.raises(ConfigError, match="num_t=11"):
        physics.losses(u[:, :5], u0)
