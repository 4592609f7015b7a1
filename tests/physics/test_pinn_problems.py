"""PINN problems: exact solutions have zero residual and losses, a wrong one does not, collocation
points fill their box and resume their stream."""

import pytest
import torch
from torch import nn

from neuralsolvers.physics.pinn_problems import (
    CollocationSampler,
    Convection,
    Helmholtz2D,
    KleinGordon,
    Poisson1D,
)


class Exact(nn.Module):
    """A "network" that is the exact solution, so residuals and condition terms must vanish."""

    def __init__(self, problem):
        super().__init__()
        self.problem = problem

    def forward(self, x):
        return self.problem.exact(x)[:, None]


@pytest.mark.parametrize("problem", [Poisson1D(2.0), Helmholtz2D(), KleinGordon(), Convection(30.0)], ids=lambda p: type(p).__name__)
def test_exact_solutions_have_zero_residual_and_losses(problem):
    like = torch.zeros((), dtype=torch.float64)
    sampler = CollocationSampler("sobol", seed=1)
    x = sampler.sample(256, problem.low, problem.high, like).requires_grad_(True)
    residual = problem.residual(Exact(problem), x)
    assert residual.shape == (256,) and float(residual.abs().max()) < 1e-8  # autograd = analytic
    losses = problem.losses(Exact(problem), sampler, 64, like)
    assert set(losses) == set(problem.terms) and max(float(v) for v in losses.values()) < 1e-16


def test_residual_is_not_zero_for_a_wrong_solution():
    problem = Helmholtz2D()
    x = torch.rand(64, 2, dtype=torch.float64).requires_grad_(True)
    assert float(problem.residual(lambda p: 0.9 * problem.exact(p)[:, None], x).abs().mean()) > 1.0


def test_collocation_points_lie_in_the_box_and_faces_are_fixed():
    like = torch.zeros(())
    for kind in ("uniform", "sobol"):
        points = CollocationSampler(kind).sample(500, [0.0, -1.0], [2.0, 1.0], like)
        assert points.shape == (500, 2) and float(points[:, 0].min()) >= 0 and float(points[:, 1].max()) <= 1
        assert float(points[:, 0].max()) > 1.9  # fills the box
    face = Convection()._face(CollocationSampler(), 10, 1, 0.0, like)
    assert bool((face[:, 1] == 0).all()) and float(face[:, 0].max()) > 0
    first = CollocationSampler("uniform", seed=3).sample(5, [0.0], [1.0], like)
    torch.testing.assert_close(first, CollocationSampler("uniform", seed=3).sample(5, [0.0], [1.0], like))
    for kind in ("uniform", "sobol"):  # a restored sampler continues the same stream
        sampler = CollocationSampler(kind, seed=1)
        sampler.sample(7, [0.0, 0.0], [1.0, 1.0], like)
        restored = CollocationSampler(kind, seed=1)
        restored.load_state_dict(sampler.state_dict())
        torch.testing.assert_close(restored.sample(4, [0.0, 0.0], [1.0, 1.0], like), sampler.sample(4, [0.0, 0.0], [1.0, 1.0], like))
