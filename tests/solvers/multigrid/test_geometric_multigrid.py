"""Geometric multigrid: a symmetric positive definite V-cycle on scenes with obstacles, Neumann walls
and coefficient jumps (2D and 3D); PCG against spsolve and SciPy's cg; iterations nearly flat in size."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers import DiffusionStencil, GeometricMultigrid, cg
from neuralsolvers.solvers.multigrid.geometric import coarsen, prolong, restrict


def scene(grid, seed=0, jump=100.0, walls=True):
    """Box obstacles, a coefficient with jumps of ``jump``, the given walls."""
    rng = np.random.default_rng(seed)
    mask = np.ones(grid, bool)
    for _ in range(4):
        corner = [rng.integers(0, s) for s in grid]
        width = [rng.integers(1, max(2, s // 4)) for s in grid]
        mask[tuple(slice(c, c + w) for c, w in zip(corner, width, strict=True))] = False
    coefficient = np.where(rng.random(grid) > 0.5, jump, 1.0)
    return DiffusionStencil(grid, torch.from_numpy(coefficient), torch.from_numpy(mask), dirichlet_walls=walls)


NEUMANN_2D = [True, False, False, True]  # Dirichlet on two walls, Neumann on the others
NEUMANN_3D = [True, False, True, False, False, True]
CASES = {
    "2d-jacobi": ((18, 15), NEUMANN_2D, {}),
    "2d-redblack-band": ((18, 15), NEUMANN_2D, {"smoother": "redblack", "boundary_sweeps": 2}),
    "3d-jacobi-band": ((7, 8, 9), NEUMANN_3D, {"boundary_sweeps": 1, "boundary_width": 2}),
    "3d-redblack": ((7, 8, 9), True, {"smoother": "redblack", "coarsening": "any"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_symmetric_positive_definite(case):
    grid, walls, options = CASES[case]
    A = scene(grid, walls=walls)
    M = GeometricMultigrid(A, coarsest=8, **options)
    assert len(M.levels) >= 3
    n = A.shape[0]
    B = M.apply(torch.eye(n, dtype=torch.float64))
    assert (B - B.T).abs().max() <= 1e-12 * B.abs().max()
    # Lanczos on the assembled symmetric M (cheap products), checked by the dense spectrum; then MA,
    # similar to M^½ A M^½, has a real positive spectrum
    dense = B.numpy()
    smallest = spla.eigsh(dense, k=1, which="SA", return_eigenvectors=False, tol=1e-12, maxiter=20 * n)[0]
    assert smallest > 0 and np.isclose(smallest, np.linalg.eigvalsh(dense).min(), rtol=1e-6)
    spectrum = np.linalg.eigvals(dense @ A.to_scipy().toarray())
    assert spectrum.real.min() > 0 and np.abs(spectrum.imag).max() < 1e-8 * np.abs(spectrum).max()


@pytest.mark.parametrize("case", list(CASES))
def test_pcg_solves_to_spsolve_and_matches_scipy_cg(case):
    grid, walls, options = CASES[case]
    A = scene(grid, seed=1, walls=walls)
    M = GeometricMultigrid(A, coarsest=8, **options)
    matrix = A.to_scipy()
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    result = cg(matrix, b, rtol=1e-10, M=M)
    exact = spla.spsolve(matrix.tocsc(), b)
    assert result.converged and result.iterations < 0.5 * cg(matrix, b, rtol=1e-10).iterations
    np.testing.assert_allclose(result.x, exact, rtol=1e-6, atol=1e-8 * np.abs(exact).max())
    count = [0]
    _, info = spla.cg(matrix, b, rtol=1e-10, M=M.as_linear_operator(), callback=lambda _: count.__setitem__(0, count[0] + 1))
    assert info == 0 and abs(count[0] - result.iterations) <= 2


def test_iterations_nearly_flat_as_the_grid_doubles():
    """Box scenes at 32², 64², 128² (the same boxes scaled), Jacobi 2+2 with boundary smoothing:
    measured 7, 8, 8 iterations to 1e-6; allowed at most one more per doubling."""
    iterations = []
    for n in (32, 64, 128):
        mask = torch.ones(n, n, dtype=torch.bool)
        mask[n // 4 : n // 2, n // 8 : n // 3] = False
        mask[n // 2 : 3 * n // 4, n // 2 : 7 * n // 8] = False
        A = DiffusionStencil((n, n), mask=mask)
        b = torch.ones(n * n, dtype=torch.float64) * mask.reshape(-1)
        iterations.append(cg(A, b, rtol=1e-6, M=GeometricMultigrid(A, boundary_sweeps=3)).iterations)
    assert all(later - earlier <= 1 for earlier, later in zip(iterations, iterations[1:], strict=False)), iterations


def test_transfer_operators_are_adjoint_and_coarsening_rules():
    grid = (9, 6)
    r, e = torch.randn(3, *grid, dtype=torch.float64), torch.randn(3, 5, 3, dtype=torch.float64)
    for walls in (None, (True, False, False, True), (False, False, False, False)):
        # ⟨R r, e⟩ = ⟨r, Rᵀ e⟩ with P = 4 Rᵀ
        torch.testing.assert_close((restrict(r, grid, walls) * e).sum(), (r * prolong(e, grid, walls)).sum() / 4, rtol=1e-12, atol=1e-12)
    ones = prolong(torch.ones(1, 5, 3, dtype=torch.float64), grid)
    assert torch.allclose(ones[:, 1:-1, 1:-1], torch.ones_like(ones[:, 1:-1, 1:-1]))  # interpolation keeps constants inside
    neumann = prolong(torch.ones(1, 5, 3, dtype=torch.float64), grid, (False,) * 4)
    assert torch.allclose(neumann, torch.ones_like(neumann))  # and up to Neumann walls
    mask = torch.ones(grid, dtype=torch.bool)
    mask[0, 0] = False
    A = DiffusionStencil(grid, mask=mask)
    assert not coarsen(A, "all").mask[0, 0] and coarsen(A, "any").mask[0, 0]
    assert coarsen(A).grid == (5, 3) and coarsen(A).spacing == 2.0


def test_bad_arguments():
    A = DiffusionStencil((8, 8))
    with pytest.raises(TypeError, match="DiffusionStencil"):
        GeometricMultigrid(A.to_scipy())
    with pytest.raises(ValueError, match="omega"):
        GeometricMultigrid(A, omega=1.5)
    with pytest.raises(ValueError, match="smoother"):
        GeometricMultigrid(A, smoother="sor")


@pytest.mark.gpu
def test_same_iterations_on_cuda():
    A = scene((40, 40))
    b = torch.ones(A.shape[0], dtype=torch.float64)
    cpu = cg(A, b, rtol=1e-8, M=GeometricMultigrid(A, boundary_sweeps=3))
    gpu_A = A.to(device="cuda")
    gpu = cg(gpu_A, b.cuda(), rtol=1e-8, M=GeometricMultigrid(gpu_A, boundary_sweeps=3))
    assert gpu.converged and abs(gpu.iterations - cpu.iterations) <= 1
