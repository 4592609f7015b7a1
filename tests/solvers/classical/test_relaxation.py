"""SOR/SSOR: Gauss–Seidel at ω = 1, orderings agree on the solution, SSOR-PCG, per-column ω, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from pyamg.gallery import poisson

from neuralsolvers.solvers import SSOR, SORSplitting, cg, matrix_colors, sor
from neuralsolvers.solvers.classical.triangular import TriangularSolver


def gauss_seidel_by_hand(A: np.ndarray, b: np.ndarray, sweeps: int, omega: float = 1.0) -> np.ndarray:
    """The textbook sequential sweep, one unknown at a time."""
    x = np.zeros_like(b)
    for _ in range(sweeps):
        for i in range(len(b)):
            update = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
            x[i] = (1 - omega) * x[i] + omega * update
    return x


@pytest.fixture
def grid_system():
    A = poisson((7, 6), format="csr")
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    return A, b


@pytest.mark.parametrize("omega", [1.0, 1.4])
def test_lexicographic_sor_is_the_sequential_sweep(grid_system, omega):
    A, b = grid_system
    for sweeps in (1, 3):
        result = sor(A, torch.from_numpy(b), omega=omega, maxiter=sweeps, rtol=0.0)
        np.testing.assert_allclose(result.x.numpy(), gauss_seidel_by_hand(A.toarray(), b, sweeps, omega), rtol=1e-12, atol=1e-12)
        assert int(result.iterations) == sweeps


def test_redblack_is_gauss_seidel_in_colour_order(grid_system):
    A, b = grid_system
    colors = matrix_colors(A)
    assert colors.max() == 1  # the 5-point graph is bipartite
    order = np.argsort(colors, kind="stable")
    permuted = A[order][:, order].toarray()
    result = sor(A, torch.from_numpy(b), omega=1.2, ordering="redblack", maxiter=2, rtol=0.0)
    np.testing.assert_allclose(result.x.numpy()[order], gauss_seidel_by_hand(permuted, b[order], 2, 1.2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("symmetric", [False, True])
def test_orderings_converge_to_the_same_solution(grid_system, symmetric):
    A, b = grid_system
    exact = spla.spsolve(A.tocsc(), b)
    for ordering in ("lexicographic", "redblack"):
        result = sor(A, torch.from_numpy(b), omega=1.5, rtol=1e-10, ordering=ordering, symmetric=symmetric)
        assert result.converged and result.info == 0
        assert np.linalg.norm(b - A @ result.x.numpy()) <= 1e-10 * np.linalg.norm(b)
        np.testing.assert_allclose(result.x.numpy(), exact, rtol=1e-8, atol=1e-9)


def test_ssor_preconditioner_is_the_explicit_matrix_and_spd(grid_system):
    A, _ = grid_system
    omega = 1.3
    dense = A.toarray()
    D, L = np.diag(np.diag(dense)), np.tril(dense, -1)
    M = omega / (2 - omega) * (D / omega + L) @ np.linalg.inv(D) @ (D / omega + L.T)
    inverse = np.linalg.inv(M)
    preconditioner = SSOR(A, omega)
    probe = torch.from_numpy(np.random.default_rng(2).standard_normal((A.shape[0], 3)))
    np.testing.assert_allclose(preconditioner.apply(probe).numpy(), inverse @ probe.numpy(), rtol=1e-10, atol=1e-12)
    assert preconditioner.linear_spd and np.linalg.eigvalsh((inverse + inverse.T) / 2).min() > 0


def test_ssor_pcg_beats_cg_and_backends_agree():
    A = poisson((20, 20), format="csr")
    b = torch.from_numpy(np.random.default_rng(3).standard_normal(A.shape[0]))
    plain = cg(A, b, rtol=1e-8)
    results = {backend: cg(A, b, rtol=1e-8, M=SSOR(A, 1.6, backend=backend)) for backend in ("superlu", "levels")}
    for result in results.values():
        assert result.converged and int(result.iterations) < int(plain.iterations) / 2
    assert int(results["superlu"].iterations) == int(results["levels"].iterations)
    torch.testing.assert_close(results["superlu"].x, results["levels"].x, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("ordering", ["lexicographic", "redblack"])
def test_one_omega_per_column_equals_separate_solves(grid_system, ordering):
    A, b = grid_system
    omegas = np.array([1.0, 1.3, 1.7])
    rhs = torch.from_numpy(b)
    batched = cg(A, rhs[:, None].expand(-1, 3), rtol=1e-9, M=SSOR(A, omegas, ordering=ordering))
    for j, omega in enumerate(omegas):
        alone = cg(A, rhs, rtol=1e-9, M=SSOR(A, float(omega), ordering=ordering))
        assert int(batched.iterations[j]) == int(alone.iterations)
        torch.testing.assert_close(batched.x[:, j], alone.x, rtol=1e-10, atol=1e-12)
    swept = sor(A, rhs[:, None].expand(-1, 3), omega=omegas, rtol=1e-8, ordering=ordering)
    for j, omega in enumerate(omegas):
        assert int(swept.iterations[j]) == int(sor(A, rhs, omega=float(omega), rtol=1e-8, ordering=ordering).iterations)


def test_greedy_colouring_of_a_non_bipartite_graph():
    A = sp.csr_matrix(np.array([[4.0, -1, -1, 0], [-1, 4, -1, 0], [-1, -1, 4, -1], [0, 0, -1, 4]]))
    colors = matrix_colors(A)
    assert colors.max() == 2  # a triangle needs three colours
    b = torch.ones(4, dtype=torch.float64)
    result = sor(A, b, omega=1.1, ordering="redblack", rtol=1e-12)
    np.testing.assert_allclose(result.x.numpy(), np.linalg.solve(A.toarray(), b.numpy()), rtol=1e-10)


def test_nonsymmetric_matrix_uses_its_own_upper_triangle():
    A = poisson((5, 5), format="csr") + sp.diags([0.3 * np.ones(24)], [1])
    b = torch.from_numpy(np.random.default_rng(4).standard_normal(25))
    result = sor(A, b, omega=1.2, symmetric=True, rtol=1e-10)
    assert result.converged
    np.testing.assert_allclose(result.x.numpy(), spla.spsolve(A.tocsc(), b.numpy()), rtol=1e-8, atol=1e-9)
    preconditioner = SSOR(A, 1.2)
    assert not preconditioner.linear_spd
    with pytest.raises(TypeError, match="linear SPD"):
        cg(A, b, M=preconditioner)


def test_bad_inputs_are_refused(grid_system):
    A, b = grid_system
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        SORSplitting(A, omega=2.0)
    with pytest.raises(ValueError, match="ordering"):
        SORSplitting(A, ordering="diagonal")
    with pytest.raises(ValueError, match="nonzero diagonal"):
        SORSplitting(sp.csr_matrix(np.array([[0.0, 1], [1, 2]])))
    with pytest.raises(ValueError, match="coupled unknowns"):
        SORSplitting(A, ordering="redblack", colors=np.zeros(A.shape[0], dtype=int))
    with pytest.raises(ValueError, match="right-hand-side columns"):
        SSOR(A, [1.0, 1.5]).apply(torch.from_numpy(b))
    with pytest.raises(ValueError, match="positive diagonal"):
        SSOR(-A)


def test_divergent_iteration_reports_breakdown_not_convergence():
    A = sp.csr_matrix(np.array([[1.0, 3.0], [3.0, 1.0]]))  # symmetric, indefinite: SOR diverges
    result = sor(A, torch.ones(2, dtype=torch.float64), omega=1.0, maxiter=2000)
    assert not result.converged and result.info != 0


def test_triangular_solves_agree_across_backends_and_triangles():
    A = poisson((6, 5), format="csr") + sp.diags([0.2 * np.ones(29)], [-1])
    b = torch.from_numpy(np.random.default_rng(6).standard_normal((30, 2)))
    for triangle, lower in ((sp.tril(A, format="csr"), True), (sp.triu(A, format="csr"), False)):
        dense = torch.from_numpy(triangle.toarray())
        for backend in ("superlu", "levels"):
            solver = TriangularSolver(triangle, lower=lower, backend=backend)
            torch.testing.assert_close(dense @ solver.solve(b), b, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(dense.T @ solver.solve(b, transpose=True), b, rtol=1e-10, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("ordering", ["lexicographic", "redblack"])
def test_sweeps_on_the_gpu_match_the_cpu(ordering):
    A = poisson((30, 30), format="csr")
    b = torch.from_numpy(np.random.default_rng(7).standard_normal(A.shape[0]))
    cpu = cg(A, b, rtol=1e-8, M=SSOR(A, 1.5, ordering=ordering))
    gpu = cg(A, b.cuda(), rtol=1e-8, M=SSOR(A, 1.5, ordering=ordering, device="cuda"))
    assert gpu.converged and gpu.x.device.type == "cuda" and int(gpu.iterations) == int(cpu.iterations)
    swept = sor(A, b.cuda(), omega=1.5, ordering=ordering, rtol=1e-8)
    assert swept.converged and abs(int(swept.iterations) - int(sor(A, b, omega=1.5, ordering=ordering, rtol=1e-8).iterations)) <= 1


def test_a_matrix_with_nan_off_the_diagonal_is_one_clear_error():
    # found by tests/test_fuzz.py: SuperLU's sweep set-up raised "Factor is exactly singular"
    A = np.eye(4)
    A[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite entries"):
        SSOR(A, 1.2)
