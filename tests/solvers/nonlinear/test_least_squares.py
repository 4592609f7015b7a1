"""Batched Levenberg–Marquardt against SciPy, and the implicit gradient of the least-squares layer."""

import numpy as np
import pytest
import scipy.optimize
import torch

from neuralsolvers.solvers.nonlinear.least_squares import least_squares_layer, levenberg_marquardt


def exponential_fit(w, t, y):
    """r = w₀ exp(w₁ t) + w₂ − y: a nonlinear least-squares problem per batch entry."""
    return w[0] * torch.exp(w[1] * t) + w[2] - y


@pytest.fixture
def problems():
    generator = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, 30, dtype=torch.float64).repeat(4, 1)
    truth = torch.tensor([[1.0, -2.0, 0.5], [2.0, 1.0, -1.0], [0.5, -0.5, 0.0], [1.5, 0.3, 0.2]], dtype=torch.float64)
    y = truth[:, :1] * torch.exp(truth[:, 1:2] * t) + truth[:, 2:] + 0.01 * torch.randn(t.shape, generator=generator, dtype=torch.float64)
    return t, y


def test_matches_scipy_on_a_batch(problems):
    t, y = problems
    w0 = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64).repeat(4, 1)
    result = levenberg_marquardt(exponential_fit, w0, t, y, maxiter=100, gtol=1e-12)
    assert bool(result.converged.all()) and result.message == "converged"
    matched = 0
    for b in range(4):
        reference = scipy.optimize.least_squares(lambda w, b=b: exponential_fit(torch.from_numpy(w), t[b], y[b]).numpy(), w0[b].numpy(),
                                                 method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)  # fmt: skip
        assert float(result.cost[b]) <= reference.cost + 1e-12  # never a worse minimum than MINPACK's
        if abs(float(result.cost[b]) - reference.cost) < 1e-12:  # the same minimum: the same weights
            np.testing.assert_allclose(result.w[b].numpy(), reference.x, rtol=1e-6, atol=1e-8)
            matched += 1
    # measured: MINPACK runs off into the degenerate valley w₀ → −146, w₂ → 146 on one problem
    assert matched >= 3


def test_reaches_a_tight_gtol_on_every_perturbed_problem(problems):
    # every ±1e-4 perturbation of every observation of two problems (the re-solves of a finite-difference
    # gradient check): near the minimum the last Gauss–Newton step changes the cost by less than its
    # rounding; measured: accepting only cost decreases stalls 24 of these 120 at ‖Jᵀr‖∞ ≈ 3.7e-10
    t, y = problems
    perturbation = 1e-4 * torch.cat([torch.eye(30), -torch.eye(30)]).to(torch.float64).repeat(2, 1)
    data = y[:2].repeat_interleave(60, 0) + perturbation
    w0 = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64).expand(len(data), -1)
    result = levenberg_marquardt(exponential_fit, w0, t[:1].expand(len(data), -1), data, maxiter=100, gtol=1e-13)
    assert result.message == "converged" and bool(result.converged.all())
    assert float(result.gradient.max()) <= 1e-13
    # and each is the nearby minimum, not another one
    unperturbed = levenberg_marquardt(exponential_fit, w0[:2], t[:2], y[:2], maxiter=100, gtol=1e-13).w
    assert float((result.w - unperturbed.repeat_interleave(60, 0)).abs().max()) < 1e-3  # |dw/dy| < 3, |δy| = 1e-4


def test_implicit_gradient_passes_gradcheck(problems):
    t, y = problems
    w0 = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64).repeat(2, 1)
    data = y[:2].clone().requires_grad_(True)

    def solve(observations):
        return least_squares_layer(exponential_fit, w0, t[:2], observations, maxiter=100, gtol=1e-13)

    # finite differences of re-solved minimizers: a larger step (1e-4) keeps the solver tolerance out of them
    assert torch.autograd.gradcheck(solve, (data,), eps=1e-4, atol=1e-5)


def test_linear_problem_gradient_equals_the_pseudo_inverse():
    # r = A w − y: w* = A⁺ y, so dw*/dy = A⁺ exactly
    A = torch.randn(1, 8, 3, dtype=torch.float64)
    y = torch.randn(1, 8, dtype=torch.float64, requires_grad=True)
    w = least_squares_layer(lambda w, A, y: A @ w - y, torch.zeros(1, 3, dtype=torch.float64), A, y)
    (gradient,) = torch.autograd.grad(w[0, 1], y)
    torch.testing.assert_close(gradient[0], torch.linalg.pinv(A[0])[1])


def test_nan_and_bad_shapes_are_reported(problems):
    t, y = problems
    with pytest.raises(ValueError, match="leading dimension"):
        levenberg_marquardt(exponential_fit, torch.zeros(3, 3, dtype=torch.float64), t, y)
    with pytest.raises(FloatingPointError, match="NaN"):
        levenberg_marquardt(exponential_fit, torch.zeros(4, 3, dtype=torch.float64), t, y * torch.nan)
