"""gmres / bicgstab against SciPy on nonsymmetric systems: same solutions, comparable iteration
counts, batched columns independent, honest about breakdown and caps."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers import Jacobi, ModulePreconditioner, bicgstab, gmres
from neuralsolvers.solvers.krylov.conjugate_gradient import (
    BREAKDOWN_NONFINITE,
    BREAKDOWN_RECURRENCE,
)

RTOL = 1e-8


def convection_diffusion(n: int, peclet: float) -> sp.csr_matrix:
    """Upwind 2D convection–diffusion on an ``n × n`` grid, flow along (1, 0.5): nonsymmetric M-matrix."""
    h = 1.0 / (n + 1)
    identity = sp.identity(n)
    second = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n)) / h**2
    upwind = sp.diags([-1.0, 1.0], [-1, 0], shape=(n, n)) / h
    diffusion = sp.kron(identity, second) + sp.kron(second, identity)
    convection = peclet * (sp.kron(identity, upwind) + 0.5 * sp.kron(upwind, identity))
    return sp.csr_matrix(diffusion + convection)


def random_dominant(n: int) -> sp.csr_matrix:
    rng = np.random.default_rng(3)
    A = sp.random(n, n, density=0.05, random_state=rng, data_rvs=rng.standard_normal)
    return sp.csr_matrix(A + sp.diags(np.abs(A).sum(1).A1 + 1.0))


SYSTEMS = {"convection_diffusion": lambda: convection_diffusion(16, 50.0), "random_dominant": lambda: random_dominant(200)}


@pytest.fixture(params=sorted(SYSTEMS))
def system(request):
    A = SYSTEMS[request.param]()
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    return A, b


def check(result, A, b):
    assert result.converged and result.info == 0, result.message
    x = result.x.numpy()
    assert np.linalg.norm(b - A @ x) <= RTOL * np.linalg.norm(b) * (1 + 1e-9)
    exact = spla.spsolve(A.tocsc(), b)
    np.testing.assert_allclose(x, exact, rtol=0, atol=1e-5 * np.abs(exact).max())
    assert result.residuals[-1] == pytest.approx(result.true_residual)
    assert len(result.residuals) == result.iterations + 1


def test_gmres_matches_scipy(system):
    A, b = system
    result = gmres(A, torch.from_numpy(b), rtol=RTOL, restart=20)
    check(result, A, b)
    estimates = []
    _, info = spla.gmres(A, b, rtol=RTOL, restart=20, maxiter=100, callback=estimates.append, callback_type="pr_norm")
    assert info == 0
    assert abs(result.iterations - len(estimates)) <= 2


def test_bicgstab_matches_scipy(system):
    A, b = system
    result = bicgstab(A, torch.from_numpy(b), rtol=RTOL)
    check(result, A, b)
    count = [0]
    _, info = spla.bicgstab(A, b, rtol=RTOL, callback=lambda _: count.__setitem__(0, count[0] + 1))
    assert info == 0
    assert abs(result.iterations - count[0]) <= 0.2 * count[0] + 2


@pytest.mark.parametrize("solver", [gmres, bicgstab])
def test_batched_columns_equal_separate_solves(system, solver):
    A, b = system
    B = torch.from_numpy(np.stack([b, 2 * np.roll(b, 5), np.ones_like(b)], axis=1))
    batched = solver(A, B, rtol=RTOL)
    assert bool(batched.converged.all())
    for j in range(3):
        single = solver(A, B[:, j], rtol=RTOL)
        assert int(batched.iterations[j]) == single.iterations
        torch.testing.assert_close(batched.x[:, j], single.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver", [gmres, bicgstab])
def test_jacobi_preconditioner_cuts_iterations(solver):
    """Columns (unknowns) scaled over four orders of magnitude: right Jacobi preconditioning undoes it."""
    A = convection_diffusion(16, 50.0)
    A = sp.csr_matrix(A @ sp.diags(np.logspace(0, 4, A.shape[0])))
    b = torch.from_numpy(np.random.default_rng(2).standard_normal(A.shape[0]))
    preconditioned = solver(A, b, rtol=RTOL, M=Jacobi(A))
    check(preconditioned, A, b.numpy())
    # fewer than half the iterations: unpreconditioned, twice as many do not reach the tolerance
    # (measured: 4924 GMRES / 1073 BiCGStab iterations, against 82 / 27 with Jacobi)
    plain = solver(A, b, rtol=RTOL, maxiter=2 * preconditioned.iterations)
    assert not plain.converged and plain.iterations == 2 * preconditioned.iterations


def test_flexible_gmres_takes_a_changing_preconditioner(system):
    """A few inner BiCGStab steps as preconditioner: a nonlinear map, fine for flexible GMRES."""
    A, b = system

    def inner(r: torch.Tensor) -> torch.Tensor:
        return bicgstab(A, r, rtol=1e-2, maxiter=3).x

    result = gmres(A, torch.from_numpy(b), rtol=RTOL, M=ModulePreconditioner(inner, A.shape[0]))
    check(result, A, b)
    assert result.iterations < gmres(A, torch.from_numpy(b), rtol=RTOL).iterations


def test_restart_and_x0(system):
    A, b = system
    short = gmres(A, torch.from_numpy(b), rtol=RTOL, restart=3)
    check(short, A, b)
    cold = gmres(A, torch.from_numpy(b), rtol=RTOL)
    rough = gmres(A, torch.from_numpy(b), rtol=1e-4)
    warm = gmres(A, torch.from_numpy(b), x0=rough.x, rtol=RTOL)
    check(warm, A, b)
    assert warm.iterations < cold.iterations


@pytest.mark.parametrize("solver", [gmres, bicgstab])
def test_iteration_cap_is_not_convergence(system, solver):
    A, b = system
    result = solver(A, torch.from_numpy(b), rtol=1e-14, maxiter=4)
    assert not result.converged and result.info == 4 == result.iterations
    assert "not converged" in result.message


def test_bicgstab_breakdown_is_reported():
    """A rotation: the first A p̂ is orthogonal to the shadow vector, so α is undefined."""
    A = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)
    result = bicgstab(A, torch.tensor([1.0, 0.0], dtype=torch.float64))
    assert result.info == BREAKDOWN_RECURRENCE and not result.converged
    assert "recurrence" in result.message


def test_gmres_singular_operator_is_reported():
    result = gmres(torch.zeros(3, 3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    assert result.info == BREAKDOWN_RECURRENCE and not result.converged


@pytest.mark.parametrize("solver", [gmres, bicgstab])
def test_nan_preconditioner_is_reported(solver):
    A = convection_diffusion(8, 10.0)
    M = ModulePreconditioner(lambda r: r * torch.nan, A.shape[0], linear=True)  # declared linear, as a broken linear map would be
    result = solver(A, torch.ones(A.shape[0], dtype=torch.float64), M=M)
    assert result.info == BREAKDOWN_NONFINITE and not result.converged


def test_bad_arguments():
    A = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="restart"):
        gmres(A, torch.ones(3, dtype=torch.float64), restart=0)
    with pytest.raises(ValueError, match="b must have shape"):
        bicgstab(A, torch.ones(4, dtype=torch.float64))
