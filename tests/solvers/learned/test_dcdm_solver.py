"""The DCDM iteration: exact in one step with an exact inverse, A-orthogonal kept directions,
convergence on the true residual, breakdown reported."""

import pytest
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers import Jacobi, cg, dcdm
from neuralsolvers.solvers.krylov.conjugate_gradient import (
    BREAKDOWN_NONFINITE,
    BREAKDOWN_STAGNATION,
)


@pytest.fixture(scope="module")
def system(darcy_system):
    return darcy_system(26, 2)


def test_exact_inverse_converges_in_one_step(system):
    stencil, matrix, b = system
    lu = spla.splu(matrix)
    result = dcdm(stencil, b, M=lambda r: 5.0 * torch.from_numpy(lu.solve(r.numpy())), rtol=1e-10)
    assert result.converged and result.iterations == 1 and result.true_residual <= 1e-10


def test_kept_directions_are_a_orthogonal(system):
    stencil, matrix, b = system
    jacobi = Jacobi(stencil)
    iterates = [torch.zeros_like(b)]
    result = dcdm(stencil, b, M=lambda r: torch.tanh(jacobi.apply(r)), rtol=1e-8, callback=lambda x: iterates.append(x.clone()))
    assert result.converged and result.true_residual <= 1e-8
    steps = [later - earlier for earlier, later in zip(iterates[:-1], iterates[1:], strict=True)]
    for k in range(2, min(len(steps), 30)):
        Ap = stencil.matvec(steps[k])
        for j in (k - 1, k - 2):
            cosine = float(steps[j] @ Ap) / float(torch.sqrt((steps[j] @ stencil.matvec(steps[j])) * (steps[k] @ Ap)))
            assert abs(cosine) < 1e-8, (k, j, cosine)
    # a nonlinear direction map still converges, in fewer iterations than plain CG
    assert result.iterations < cg(stencil, b, rtol=1e-8).iterations


def test_network_nan_is_a_breakdown_and_columns_are_batched(system):
    stencil, _, b = system
    result = dcdm(stencil, b, M=lambda r: torch.full_like(r, float("nan")))
    assert not result.converged and result.info == BREAKDOWN_NONFINITE
    jacobi = Jacobi(stencil)
    B = torch.stack([b, torch.linspace(0, 1, len(b), dtype=torch.float64)], dim=1)
    batched = dcdm(stencil, B, M=jacobi.apply, rtol=1e-8)
    single = dcdm(stencil, B[:, 1], M=jacobi.apply, rtol=1e-8)
    assert bool(batched.converged.all()) and int(batched.iterations[1]) == single.iterations
    torch.testing.assert_close(batched.x[:, 1], single.x, rtol=1e-10, atol=0)


def test_a_direction_map_that_ignores_the_residual_is_reported_as_no_progress(system):
    stencil, _, b = system
    result = dcdm(stencil, b, M=lambda r: torch.ones_like(r), rtol=1e-8)
    assert not result.converged and result.info == BREAKDOWN_STAGNATION and "no progress" in result.message
    assert result.iterations == 1  # the one step along the constant was taken, then nothing new
