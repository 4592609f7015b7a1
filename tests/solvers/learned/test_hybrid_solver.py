"""hybrid (HINTS): relaxation + learned corrections reaches 1e-8 whatever the network."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
from torch import nn

from neuralsolvers.data_gen.darcy import Darcy2D, darcy_operator
from neuralsolvers.solvers.krylov.conjugate_gradient import BREAKDOWN_NONFINITE
from neuralsolvers.solvers.learned.field_preconditioner import FieldPreconditioner
from neuralsolvers.solvers.learned.hybrid_solver import hybrid

RTOL = 1e-8


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/solvers/conftest.py


def darcy_system(resolution: int):
    """Piecewise 12/3 Darcy coefficient on a node grid; ``(resolution − 2)²`` interior unknowns."""
    rng = np.random.default_rng(0)
    a = Darcy2D(resolution=resolution).generate(1, rng)["a"][0].astype(np.float64)
    return a, darcy_operator(a)


@pytest.fixture(scope="module")
def small():
    """16 × 16 interior: relaxation alone needs ~10³ sweeps, fine for a test."""
    return darcy_system(18)


@pytest.fixture(scope="module")
def medium():
    """32 × 32 interior."""
    return darcy_system(34)


def random_network(a: np.ndarray, dtype: torch.dtype = torch.float32) -> FieldPreconditioner:
    """An untrained conv net (PyTorch's default init, seed 0) on (a, r) fields: a bad correction."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, 1, 3, padding=1))
    condition = torch.from_numpy(a[1:-1, 1:-1])
    return FieldPreconditioner(net.to(dtype), condition.shape, condition=condition)


def oracle(A):
    """``N(r) = A⁻¹ r`` by a sparse LU: the perfect correction."""
    lu = spla.splu(A.to_scipy().tocsc())
    return lambda r: torch.from_numpy(lu.solve(r.numpy()))


def ones(A) -> torch.Tensor:
    return torch.ones(A.shape[0], dtype=torch.float64)


def assert_solves(result, A, b):
    assert result.converged and result.info == 0
    assert result.true_residual <= RTOL
    true = torch.linalg.vector_norm(b - A @ result.x) / torch.linalg.vector_norm(b)
    assert float(true) <= RTOL * (1 + 1e-9)
    assert len(result.residuals) == result.iterations + 1
    exact = spla.spsolve(A.to_scipy().tocsc(), b.numpy())
    assert np.linalg.norm(result.x.numpy() - exact) <= 1e-6 * np.linalg.norm(exact)


@pytest.mark.parametrize("smoother", ["jacobi", "redblack"])
def test_untrained_network_still_converges(small, smoother):
    """The safeguard rejects the random net's badly scaled corrections; with the line search its
    directions are used and help a little (Jacobi 1722 → 1265 iterations, red-black 584 → 516)."""
    a, A = small
    b = ones(A)
    result = hybrid(A, b, M=random_network(a), smoother=smoother, maxiter=5000, rtol=RTOL)
    assert_solves(result, A, b)
    assert "rejected" in result.message
    plain = hybrid(A, b, M=torch.zeros_like, smoother=smoother, maxiter=5000, rtol=RTOL)
    assert abs(result.iterations - plain.iterations) <= 2
    searched = hybrid(A, b, M=random_network(a), smoother=smoother, maxiter=5000, line_search=True, rtol=RTOL)
    assert_solves(searched, A, b)
    assert searched.iterations < plain.iterations


def test_without_safeguard_untrained_network_diverges(small):
    a, A = small
    result = hybrid(A, ones(A), M=random_network(a), safeguard=False, maxiter=2000, rtol=RTOL)
    assert not result.converged and result.info != 0


@pytest.mark.parametrize("smoother", ["jacobi", "redblack"])
def test_oracle_correction_converges_at_first_correction(medium, smoother):
    _, A = medium
    b = ones(A)
    result = hybrid(A, b, M=oracle(A), smoother=smoother, rtol=RTOL)
    assert_solves(result, A, b)
    assert result.iterations == 25 and result.message == "converged"
    unnormalized = hybrid(A, b, M=oracle(A), period=3, normalize_residual=False, rtol=RTOL)
    assert unnormalized.converged and unnormalized.iterations == 3


def test_nonfinite_network_is_reported(medium):
    _, A = medium
    result = hybrid(A, ones(A), M=lambda r: torch.full_like(r, float("nan")), period=5, rtol=RTOL)
    assert result.info == BREAKDOWN_NONFINITE and not result.converged
    assert "NaN" in result.message and result.iterations == 5
    assert bool(torch.isfinite(result.x).all())  # the NaN correction was not applied


def test_batched_matches_columns(small):
    a, A = small
    B = torch.randn(A.shape[0], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    B[:, 0] = 1.0
    N = random_network(a, torch.float64)
    batched = hybrid(A, B, M=N, smoother="redblack", maxiter=2000, line_search=True, rtol=RTOL)
    assert bool(batched.converged.all()) and batched.residuals.shape[1] == 3
    for j in range(3):
        single = hybrid(A, B[:, j], M=N, smoother="redblack", maxiter=2000, line_search=True, rtol=RTOL)
        assert single.converged and single.iterations == int(batched.iterations[j])
        torch.testing.assert_close(batched.x[:, j], single.x, rtol=1e-10, atol=0)


def test_rejects_bad_arguments(medium):
    _, A = medium
    with pytest.raises(ValueError, match="DiffusionStencil"):
        hybrid(A.to_scipy(), ones(A), M=torch.zeros_like, smoother="redblack", rtol=RTOL)
    with pytest.raises(ValueError, match="smoother"):
        hybrid(A, ones(A), M=torch.zeros_like, smoother="sor", rtol=RTOL)
    with pytest.raises(ValueError, match="period"):
        hybrid(A, ones(A), M=torch.zeros_like, period=0, rtol=RTOL)
