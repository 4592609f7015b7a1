"""PGD and ADMM against an independent LASSO reference (SciPy L-BFGS-B on the split form), the
proximal operators against their definitions, batching, stopping and bad input."""

import numpy as np
import pytest
import scipy.optimize
import torch

from neuralsolvers.solvers import (
    GaussianBlur,
    HaarThreshold,
    SoftThreshold,
    TotalVariation,
    admm,
    pgd,
)
from neuralsolvers.solvers.proximal.forward_operators import ForwardOperator
from neuralsolvers.solvers.proximal.operators import haar, inverse_haar


class Matrix(ForwardOperator):
    """``A x = M x`` on batches of vectors ``(B, n)``."""

    def __init__(self, matrix: torch.Tensor):
        self.matrix = matrix

    def forward(self, x):
        return x @ self.matrix.T

    def adjoint(self, y):
        return y @ self.matrix

    def norm_squared(self):
        return float(torch.linalg.matrix_norm(self.matrix, ord=2) ** 2)


def lasso_reference(M: np.ndarray, y: np.ndarray, lam: float, box: tuple[float, float] = (-np.inf, np.inf)) -> np.ndarray:
    """``min ½‖M x − y‖² + λ‖x‖₁`` (on ``lo ≤ x ≤ hi``, ``lo ≤ 0 ≤ hi``) as a smooth bound-constrained
    problem in ``x = p − q``, ``0 ≤ p ≤ hi``, ``0 ≤ q ≤ −lo``."""
    n = M.shape[1]
    lo, hi = (None if not np.isfinite(b) else abs(b) for b in box)

    def objective(w):
        p, q = w[:n], w[n:]
        r = M @ (p - q) - y
        g = M.T @ r
        return 0.5 * r @ r + lam * w.sum(), np.concatenate([g + lam, -g + lam])

    result = scipy.optimize.minimize(objective, np.zeros(2 * n), jac=True, method="L-BFGS-B",
                                     bounds=[(0, hi)] * n + [(0, lo)] * n, options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000})  # fmt: skip
    return result.x[:n] - result.x[n:]


@pytest.fixture
def lasso():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((30, 50))
    truth = np.where(rng.random((3, 50)) < 0.15, rng.standard_normal((3, 50)), 0.0)
    y = truth @ M.T + 0.01 * rng.standard_normal((3, 30))
    lam = 0.5
    reference = np.stack([lasso_reference(M, row, lam) for row in y])
    return torch.from_numpy(M), torch.from_numpy(y), lam, reference


@pytest.mark.parametrize("solver", ["pgd", "admm"])
def test_lasso_matches_the_reference(lasso, solver):
    M, y, lam, reference = lasso
    A, prox = Matrix(M), SoftThreshold(lam)
    if solver == "pgd":
        result = pgd(y, prox, A, x0=torch.zeros(3, 50, dtype=torch.float64), maxiter=20000, tol=1e-10)
    else:
        result = admm(y, prox, A, x0=torch.zeros(3, 50, dtype=torch.float64), rho=A.norm_squared() / 4, maxiter=5000,
                      tol=1e-10, cg_rtol=1e-12, cg_maxiter=500)  # fmt: skip
    assert bool(result.converged.all()) and result.message == "converged"
    np.testing.assert_allclose(result.x.numpy(), reference, atol=1e-6)
    assert (reference != 0).sum() < 0.6 * reference.size  # a sparse solution: the l1 term is active
    assert result.changes.shape == (int(result.iterations.max()), 3)
    if solver == "admm":
        assert float(result.primal_residuals[-1].max()) < 1e-7


def test_admm_with_a_box_matches_the_constrained_reference(lasso):
    M, y, lam, unconstrained = lasso
    box = (-0.3, 0.3)
    reference = np.stack([lasso_reference(M.numpy(), row, lam, box) for row in y.numpy()])
    assert np.abs(unconstrained).max() > 0.5  # the box is active
    A = Matrix(M)
    result = admm(y, SoftThreshold(lam), A, x0=torch.zeros(3, 50, dtype=torch.float64), rho=A.norm_squared() / 4,
                  maxiter=5000, tol=1e-10, cg_rtol=1e-12, cg_maxiter=500, box=box)  # fmt: skip
    assert bool(result.converged.all())
    np.testing.assert_allclose(result.x.numpy(), reference, atol=1e-6)
    assert float(result.primal_residuals[-1].max()) < 1e-7  # x = z = w at the end: z is in the box


def test_haar_is_orthonormal_and_thresholding_is_its_prox():
    x = torch.randn(2, 16, 16, dtype=torch.float64)
    coefficients = haar(x, 3)
    torch.testing.assert_close(inverse_haar(coefficients), x)
    energy = sum(float(c.square().sum()) for c in coefficients)
    assert energy == pytest.approx(float(x.square().sum()), rel=1e-12)
    prox = HaarThreshold(0.3, levels=3)(x, 1.0)
    # optimality: the prox minimizes ½‖z − x‖² + 0.3‖W_d z‖₁; random perturbations do not decrease it
    def objective(z):
        return 0.5 * (z - x).square().sum((1, 2)) + 0.3 * sum(c.abs().sum(tuple(range(1, c.dim()))) for c in haar(z, 3)[1:])
    base = objective(prox)
    for _ in range(20):
        assert bool((objective(prox + 1e-3 * torch.randn_like(prox)) >= base - 1e-12).all())


def test_tv_prox_denoises_a_piecewise_constant_image():
    clean = torch.zeros(1, 32, 32, dtype=torch.float64)
    clean[:, 8:24, 8:24] = 1.0
    noisy = clean + 0.2 * torch.randn(1, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    denoised = TotalVariation(0.2)(noisy, 1.0)
    assert float((denoised - clean).square().mean()) < 0.3 * float((noisy - clean).square().mean())


def test_deblurring_with_admm_and_pgd_improves_on_the_measurement():
    torch.manual_seed(0)
    clean = torch.zeros(2, 32, 32, dtype=torch.float64)
    clean[:, 6:20, 10:26] = 0.8
    blur = GaussianBlur(sigma=1.0, kernel_size=7)
    y = blur(clean) + 0.01 * torch.randn_like(clean)
    prior = HaarThreshold(0.02, levels=3)
    for result in (admm(y, prior, blur, rho=1.0, maxiter=300, tol=1e-5), pgd(y, prior, blur, maxiter=1000, tol=1e-6)):
        assert bool(result.converged.all())
        assert float((result.x - clean).square().mean()) < 0.5 * float((y - clean).square().mean())


def test_bad_arguments_and_nan():
    y = torch.ones(2, 4, 4)
    with pytest.raises(ValueError, match="rho"):
        admm(y, SoftThreshold(0.1), rho=0.0)
    with pytest.raises(ValueError, match="box"):
        admm(y, SoftThreshold(0.1), box=(1.0, 0.0))
    with pytest.raises(ValueError, match="tol"):
        pgd(y, SoftThreshold(0.1), tol=0.0)
    with pytest.raises(FloatingPointError, match="NaN"):
        pgd(y, lambda v, t: v * torch.nan)
    with pytest.raises(ValueError, match="divisible"):
        HaarThreshold(0.1, levels=3)(torch.ones(1, 12, 12), 1.0)
    with pytest.raises(ValueError, match=r"x0 must have the images' shape \(2, 4, 4\)"):
        admm(y, SoftThreshold(0.1), x0=torch.ones(2, 5, 5))
    with pytest.raises(ValueError, match="batch"):
        pgd(torch.ones(4), SoftThreshold(0.1))
    from neuralsolvers.solvers.proximal.forward_operators import SubsampledFourier, random_mask

    sensing = SubsampledFourier(random_mask((8, 8), 0.25, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="do not fit SubsampledFourier"):  # measurements of another mask size
        admm(torch.ones(2, 7, dtype=torch.complex64), SoftThreshold(0.1), sensing)
