"""PI-HC-MoE's hard-constraint layer on diffusion–sorption: span recovery, the expert partition and
the implicit gradient (the training runs are in tests/train/operator/test_physics.py)."""

import numpy as np
import pytest
import torch

from neuralsolvers.data_gen import DiffusionSorption
from neuralsolvers.errors import ConfigError
from neuralsolvers.physics import DiffusionSorption1D, HardConstraint


def _reference(num_x=33, num_t=21, samples=2):
    arrays = DiffusionSorption(num_x=num_x, num_t=num_t).generate(samples, np.random.default_rng(0))
    return torch.from_numpy(arrays["u0"]), torch.from_numpy(arrays["u"])


def test_experts_own_contiguous_slabs():
    constraint = HardConstraint(experts=3)
    owners = constraint.owners(11)
    assert owners.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert [s.tolist() for s in constraint.slabs(11)] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    with pytest.raises(ConfigError, match="interior"):
        HardConstraint(experts=8).slabs(9)


@pytest.mark.parametrize("experts", [1, 4])
def test_the_constraint_recovers_a_solution_in_the_span_of_the_basis(experts):
    u0, u = _reference()
    physics = DiffusionSorption1D(num_t=21)
    torch.manual_seed(0)
    basis = 0.1 * torch.randn(2, 6, 21, 33, dtype=torch.float64)
    basis[:, 2] = u  # the solution is one of the basis functions, among noise
    constraint = HardConstraint(experts=experts, points=200)
    fitted = constraint(physics, basis, u0)
    # the discrete PDE is met by the BDF2 solution, not exactly by the reference: the fit lands near it
    assert float((fitted - u).norm() / u.norm()) < 2e-2
    assert bool(constraint.last_result.converged.all())
    assert float(physics.losses(fitted, u0)["inflow"]) < 5e-2  # a least-squares fit: the conditions nearly hold


def test_the_implicit_gradient_matches_finite_differences():
    u0, u = _reference(num_x=8, num_t=5, samples=1)
    physics = DiffusionSorption1D(num_t=5, time_unit=125.0)  # residuals per step: a well-conditioned solve
    constraint = HardConstraint(experts=2, points=100, maxiter=100, gtol=1e-11, ftol=0.0, condition_weight=1.0)  # every node, tight
    torch.manual_seed(1)
    weights = torch.randn(1, 5, 8, dtype=torch.float64)
    basis = 0.1 * torch.rand(1, 3, 5, 8, dtype=torch.float64)
    basis[:, 0] += u
    basis.requires_grad_(True)

    def loss(b):
        return (constraint(physics, b, u0) * weights).sum()

    (gradient,) = torch.autograd.grad(loss(basis), basis)
    assert bool(constraint.last_result.converged.all())
    for _ in range(3):  # directional derivatives by central differences (h = 1e-6), both experts' IFT paths
        direction = torch.randn_like(basis)
        numeric = (loss(basis.detach() + 1e-6 * direction) - loss(basis.detach() - 1e-6 * direction)) / 2e-6
        assert float((gradient * direction).sum()) == pytest.approx(float(numeric), rel=1e-4, abs=1e-6)
