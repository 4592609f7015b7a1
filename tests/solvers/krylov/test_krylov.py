"""cg / fcg against SciPy: same iteration counts, same solutions, batched, honest about breakdown."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers import AMG, IncompleteCholesky, Jacobi, ModulePreconditioner, cg, fcg
from neuralsolvers.solvers.krylov.conjugate_gradient import (
    BREAKDOWN_INDEFINITE,
    BREAKDOWN_NONFINITE,
)

RTOL = 1e-8


def scipy_iterations(A, b, M=None):
    count = [0]
    x, info = spla.cg(A, b, rtol=RTOL, maxiter=10 * A.shape[0], M=M, callback=lambda _: count.__setitem__(0, count[0] + 1))
    assert info == 0
    return count[0]


def check_solution(result, A, b):
    assert result.converged and result.info == 0 and result.message == "converged"
    exact = spla.spsolve(A.tocsc(), b)
    x = result.x.numpy()
    assert np.linalg.norm(b - A @ x) <= RTOL * np.linalg.norm(b) * (1 + 1e-9)
    # error bound from the residual: ‖x − x*‖ ≤ κ‖r‖/‖b‖·‖x*‖; κ of these systems < 1e5
    assert np.linalg.norm(x - exact) <= 1e5 * RTOL * np.linalg.norm(exact)
    assert result.residuals[-1] == pytest.approx(result.true_residual)
    assert len(result.residuals) == result.iterations + 1


def test_cg_matches_scipy(system):
    _, A, b = system
    result = cg(A, torch.from_numpy(b), rtol=RTOL)
    check_solution(result, A, b)
    assert abs(result.iterations - scipy_iterations(A, b)) <= 2


def test_jacobi_pcg_matches_scipy(system):
    _, A, b = system
    result = cg(A, torch.from_numpy(b), rtol=RTOL, M=Jacobi(A))
    check_solution(result, A, b)
    assert abs(result.iterations - scipy_iterations(A, b, M=sp.diags(1 / A.diagonal()))) <= 2


@pytest.mark.parametrize("method", ["smoothed_aggregation", "ruge_stuben"])
def test_amg_pcg_matches_pyamg(system, method):
    _, A, b = system
    M = AMG(A, method=method, max_coarse=20)
    result = cg(A, torch.from_numpy(b), rtol=RTOL, M=M)
    check_solution(result, A, b)
    residuals = []
    M.pyamg.solve(b, tol=RTOL, accel="cg", residuals=residuals, maxiter=500)
    assert abs(result.iterations - (len(residuals) - 1)) <= 2
    np.testing.assert_allclose(M.apply(torch.from_numpy(b)).numpy(), M.pyamg.aspreconditioner() @ b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["superlu", "levels"])
def test_ic0_pcg_converges_and_beats_jacobi(system, backend):
    _, A, b = system
    M = IncompleteCholesky(A, backend=backend)
    result = cg(A, torch.from_numpy(b), rtol=RTOL, M=M)
    check_solution(result, A, b)
    assert result.iterations < cg(A, torch.from_numpy(b), rtol=RTOL, M=Jacobi(A)).iterations


@pytest.mark.parametrize("make", [lambda A: None, Jacobi, IncompleteCholesky, AMG])
def test_fcg_with_every_preconditioner(system, make):
    _, A, b = system
    result = fcg(A, torch.from_numpy(b), rtol=RTOL, M=make(A), keep=2)
    check_solution(result, A, b)


def test_fcg_with_fixed_spd_preconditioner_equals_pcg(system):
    _, A, b = system
    M = Jacobi(A)
    assert abs(fcg(A, torch.from_numpy(b), rtol=RTOL, M=M).iterations - cg(A, torch.from_numpy(b), rtol=RTOL, M=M).iterations) <= 2


def test_batched_equals_column_by_column(system):
    _, A, b = system
    B = torch.from_numpy(np.stack([b, np.cos(np.arange(len(b))), np.ones(len(b))], axis=1))
    for solver in (cg, fcg):
        batched = solver(A, B, rtol=RTOL, M=Jacobi(A))
        assert batched.converged.all()
        for k in range(3):
            single = solver(A, B[:, k], rtol=RTOL, M=Jacobi(A))
            assert single.iterations == int(batched.iterations[k])
            torch.testing.assert_close(batched.x[:, k], single.x, rtol=1e-9, atol=1e-12)


def test_nonlinear_preconditioner_refused_by_cg_accepted_by_fcg():
    A = sp.csr_matrix(np.diag(np.arange(1.0, 41.0)) + sp.diags([-0.4, -0.4], [-1, 1], shape=(40, 40)))
    b = torch.ones(40, dtype=torch.float64)
    inverse_diagonal = torch.from_numpy(1 / A.diagonal())[:, None]
    # a preconditioner that changes with its input: Jacobi scaled by a factor depending on r
    changing = ModulePreconditioner(lambda r: inverse_diagonal * r * (1 + 0.5 * torch.tanh(r)), n=40)
    with pytest.raises(TypeError, match="fcg"):
        cg(A, b, M=changing)
    result = fcg(A, b, rtol=RTOL, M=changing, keep=3)
    assert result.converged
    with pytest.raises(TypeError, match="ModulePreconditioner"):
        cg(A, b, M=torch.nn.Identity())


def test_indefinite_matrix_is_a_breakdown():
    A = sp.diags([1.0, 2.0, -3.0, 4.0]).tocsr()
    result = cg(A, torch.ones(4, dtype=torch.float64))
    assert result.info == BREAKDOWN_INDEFINITE and not result.converged
    assert "not SPD" in result.message


def test_nan_from_preconditioner_is_a_breakdown():
    A = sp.diags([1.0, 2.0, 3.0, 4.0]).tocsr()
    broken = ModulePreconditioner(lambda r: r * float("nan"), n=4)
    for result in (fcg(A, torch.ones(4, dtype=torch.float64), M=broken),):
        assert result.info == BREAKDOWN_NONFINITE and not result.converged
        assert "NaN" in result.message
    spd_but_nan = ModulePreconditioner(lambda r: r * float("nan"), n=4, linear_spd=True)
    result = cg(A, torch.ones(4, dtype=torch.float64), M=spd_but_nan)
    assert result.info == BREAKDOWN_NONFINITE and not result.converged


def test_maxiter_reports_not_converged(system):
    _, A, b = system
    result = cg(A, torch.from_numpy(b), rtol=RTOL, maxiter=3)
    assert not result.converged and result.info == 3 and "not converged" in result.message


def test_zero_rhs_and_initial_guess():
    A = sp.diags([1.0, 2.0, 3.0]).tocsr()
    result = cg(A, torch.zeros(3, dtype=torch.float64))
    assert result.converged and result.iterations == 0
    exact = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    result = cg(A, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), x0=exact)
    assert result.converged and result.iterations == 0


def test_mismatched_input_is_refused():
    A = sp.diags([1.0, 2.0, 3.0]).tocsr()
    with pytest.raises(ValueError, match="shape"):
        cg(A, torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(3,\) or \(3, k\)"):
        cg(A, torch.ones(3, 2, 2, dtype=torch.float64))


def test_preconditioners_work_inside_scipy(system):
    _, A, b = system
    for M in (Jacobi(A), IncompleteCholesky(A), AMG(A)):
        ours = cg(A, torch.from_numpy(b), rtol=RTOL, M=M)
        assert abs(scipy_iterations(A, b, M=M.as_linear_operator()) - ours.iterations) <= 2


def test_matrix_free_stencil_solve_matches_assembled():
    from neuralsolvers.solvers import DiffusionStencil

    mask = torch.ones(16, 16, dtype=torch.bool)
    mask[5:9, 6:10] = False
    stencil = DiffusionStencil((16, 16), mask=mask)
    b = torch.randn(256, dtype=torch.float64) * mask.reshape(-1)
    free = cg(stencil, b, rtol=RTOL)
    assembled = cg(stencil.to_scipy(), b, rtol=RTOL)
    assert free.iterations == assembled.iterations
    torch.testing.assert_close(free.x, assembled.x)


@pytest.mark.gpu
def test_cuda_solves_match_cpu(system):
    _, A, b = system
    from neuralsolvers.solvers import as_operator

    bc = torch.from_numpy(b).cuda()
    operator = as_operator(A, device="cuda")
    for M in (None, Jacobi(operator), AMG(A, device="cuda"), IncompleteCholesky(A, device="cuda")):
        gpu = cg(operator, bc, rtol=RTOL, M=M)
        assert gpu.converged and gpu.x.device.type == "cuda"
        np.testing.assert_allclose(A @ gpu.x.cpu().numpy(), b, atol=1e-6 * np.linalg.norm(b))


def test_with_fallback_finishes_failed_columns_from_the_learned_iterate():
    from pyamg.gallery import poisson

    from neuralsolvers.solvers import ModulePreconditioner, with_fallback

    A = poisson((16, 16), format="csr")
    b = torch.from_numpy(np.random.default_rng(3).standard_normal((256, 2)))
    nan_in_second = ModulePreconditioner(lambda r: torch.stack([r[:, 0], torch.full_like(r[:, 1], float("nan"))], 1), 256)
    first = fcg(A, b, rtol=1e-8, M=nan_in_second, maxiter=400)
    assert bool(first.converged[0]) and not bool(first.converged[1]) and first.info == -2
    result = with_fallback(first, A, b, Jacobi(A), rtol=1e-8, name="Jacobi")
    assert bool(result.converged.all()) and result.fallback.tolist() == [False, True]
    # the NaN column broke down at once (x = 0 kept): its count is a whole Jacobi-PCG solve from zero
    assert int(first.iterations[1]) == 0 and not bool(torch.as_tensor(first.x)[:, 1].any())
    alone = cg(A, b[:, 1], rtol=1e-8, M=Jacobi(A))
    assert result.iterations.tolist() == [int(first.iterations[0]), alone.iterations]
    assert "NaN" in result.message and "Jacobi took over" in result.message
    np.testing.assert_allclose(A @ result.x.numpy(), b.numpy(), atol=1e-7 * np.linalg.norm(b.numpy(), axis=0).max())
    converged = fcg(A, b[:, 0], rtol=1e-8)
    assert with_fallback(converged, A, b[:, 0]) is converged


def test_fcg_reports_a_vanishing_direction_as_no_progress():
    from pyamg.gallery import poisson

    from neuralsolvers.solvers import ModulePreconditioner
    from neuralsolvers.solvers.krylov.conjugate_gradient import BREAKDOWN_STAGNATION

    A = poisson((8, 8), format="csr")
    b = torch.ones(64, dtype=torch.float64)
    result = fcg(A, b, rtol=1e-8, M=ModulePreconditioner(torch.zeros_like, 64))
    assert not result.converged and result.info == BREAKDOWN_STAGNATION and "no progress" in result.message
