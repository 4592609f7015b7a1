"""Fixed-point iteration: converges for a contraction with the exact residual, reports a cap and NaN."""

import torch

from neuralsolvers.solvers import fixed_point
from neuralsolvers.solvers.krylov.conjugate_gradient import BREAKDOWN_NONFINITE


def test_contraction_converges_to_the_linear_solve():
    generator = torch.Generator().manual_seed(0)
    M = torch.rand(30, 30, generator=generator, dtype=torch.float64)
    M = 0.8 * M / torch.linalg.matrix_norm(M, ord=2)
    b = torch.randn(30, generator=generator, dtype=torch.float64)
    result = fixed_point(lambda x: M @ x + b, torch.zeros(30, dtype=torch.float64), scale=b.norm(), rtol=1e-12, maxiter=500)
    exact = torch.linalg.solve(torch.eye(30, dtype=torch.float64) - M, b)
    assert result.converged and result.info == 0 and result.true_residual <= 1e-12
    torch.testing.assert_close(result.x, exact, rtol=1e-10, atol=1e-10)
    assert abs(float((b - (result.x - M @ result.x)).norm() / b.norm()) - result.true_residual) < 1e-15
    assert len(result.residuals) == result.iterations + 1


def test_cap_and_nan_are_reported():
    capped = fixed_point(lambda x: 0.99 * x + 1, torch.zeros(3), rtol=1e-8, maxiter=5)
    assert not capped.converged and capped.info == 5 and capped.iterations == 5
    broken = fixed_point(lambda x: x * float("nan"), torch.ones(3), maxiter=5)
    assert not broken.converged and broken.info == BREAKDOWN_NONFINITE
