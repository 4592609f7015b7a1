"""The Lagrangian PINN transform: an exact characteristic solution of convection–diffusion has zero
losses, the chain rule of the moved frame, and interpolation back to the Eulerian grid."""

import math

import pytest
import torch
from torch import nn

from neuralsolvers.physics.pinn_lagrangian import LagrangianTransport
from neuralsolvers.physics.pinn_problems import CollocationSampler


class ExactCharacteristics(nn.Module):
    """``(x₀, t) -> (U, X)`` of ``u_t + βu_x = νu_xx``, ``u(x, 0) = sin x``: ``U = e^{−νt} sin x₀``, ``X = x₀ + βt``."""

    def __init__(self, beta, nu):
        super().__init__()
        self.beta, self.nu = beta, nu

    def forward(self, x):
        return torch.stack([torch.exp(-self.nu * x[:, 1]) * torch.sin(x[:, 0]), x[:, 0] + self.beta * x[:, 1]], dim=1)


@pytest.mark.parametrize("nu", [0.0, 0.1])
def test_lagrangian_transform_of_an_exact_convection_solution(nu):
    problem = LagrangianTransport(beta=3.0, nu=nu)
    like = torch.zeros((), dtype=torch.float64)
    sampler = CollocationSampler("sobol")
    losses = problem.losses(ExactCharacteristics(3.0, nu), sampler, 128, like)
    assert set(losses) == {"residual", "characteristic", "initial"} and max(float(v) for v in losses.values()) < 1e-20
    # the chain rule matters: with ν > 0, a curve stretched in x₀ changes U_XX, and U_t must follow
    stretched = lambda x: torch.stack([torch.exp(-nu * x[:, 1]) * torch.sin(x[:, 0]), 2 * x[:, 0] + 3.0 * x[:, 1]], dim=1)  # noqa: E731
    x = sampler.sample(64, problem.low, problem.high, like).requires_grad_(True)
    assert (float(problem.residual(stretched, x).abs().max()) > 1e-3) == (nu > 0)
    # back on the fixed grid: interpolation from the moved positions gives the Eulerian solution
    xs, ts = torch.linspace(0, 2 * math.pi, 257, dtype=torch.float64)[:-1], torch.linspace(0, 1, 11, dtype=torch.float64)
    grid = torch.stack([g.ravel() for g in torch.meshgrid(xs, ts, indexing="xy")], dim=1)
    predicted = problem.predict(ExactCharacteristics(3.0, nu), grid, (11, 256))
    assert float((predicted - problem.exact(grid)).abs().max()) < 2e-4  # linear interpolation, h = 2π/256
