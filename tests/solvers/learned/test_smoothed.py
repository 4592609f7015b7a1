"""The smoothed two-level preconditioner: SPD alone, exact with an exact inner solve, batched."""

import pytest
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers import ModulePreconditioner, SmoothedPreconditioner, cg, fcg


@pytest.fixture(scope="module")
def system(darcy_system):
    return darcy_system(34, 0)


def test_smoothing_alone_is_an_spd_preconditioner_for_cg(system):
    stencil, _, b = system
    M = SmoothedPreconditioner(stencil, sweeps=2)
    assert M.linear_spd
    plain, smoothed = cg(stencil, b, rtol=1e-8), cg(stencil, b, rtol=1e-8, M=M)
    assert smoothed.converged and smoothed.true_residual <= 1e-8
    assert smoothed.iterations < 0.6 * plain.iterations  # measured 171 → 53


def test_exact_inner_solve_converges_at_once(system):
    stencil, matrix, b = system
    lu = spla.splu(matrix)

    def exact(r: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(lu.solve(r.numpy()))

    M = SmoothedPreconditioner(stencil, inner=ModulePreconditioner(exact, stencil.shape[0]), sweeps=3)
    assert not M.linear_spd
    result = fcg(stencil, b, rtol=1e-8, M=M)
    assert result.converged and result.iterations <= 2
    r = torch.randn(stencil.shape[0], 3, dtype=torch.float64)
    torch.testing.assert_close(M(r)[:, 1], M(r[:, 1]))
    with pytest.raises(ValueError, match="sweeps"):
        SmoothedPreconditioner(stencil, sweeps=-1)


def test_a_nonlinear_inner_map_makes_it_nonlinear(system):
    """A network inner map (not declared linear) cannot hide inside a linear preconditioner: SciPy's
    operator and bicgstab refuse it, fcg takes it."""
    from neuralsolvers.solvers import bicgstab

    stencil, _, b = system
    network = ModulePreconditioner(lambda r: r + 1e-3 * r**2, stencil.shape[0], linear_spd=False)
    M = SmoothedPreconditioner(stencil, inner=network, sweeps=2)
    assert not M.linear and not M.linear_spd
    with pytest.raises(TypeError, match="not declared linear"):
        M.as_linear_operator()
    with pytest.raises(TypeError, match="fcg"):
        bicgstab(stencil, b, M=M)
    assert fcg(stencil, b, rtol=1e-6, M=M).converged
    assert SmoothedPreconditioner(stencil, inner=ModulePreconditioner(lambda r: 0.5 * r, stencil.shape[0], linear=True, linear_spd=False)).linear
