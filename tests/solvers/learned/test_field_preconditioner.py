"""FieldPreconditioner: field layout, normalization, and flexible CG on a Darcy system."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
from torch import nn

from neuralsolvers.data_gen.darcy import Darcy2D, darcy_operator
from neuralsolvers.solvers import cg, fcg
from neuralsolvers.solvers.learned.field_preconditioner import FieldPreconditioner, normalized_call

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/solvers/conftest.py


@pytest.fixture(scope="module")
def darcy():
    """Piecewise 12/3 coefficient on a 34 × 34 node grid: 32 × 32 interior unknowns, f = 1."""
    a = Darcy2D(resolution=34).generate(1, np.random.default_rng(0))["a"][0].astype(np.float64)
    A = darcy_operator(a)
    return a, A, torch.ones(A.shape[0], dtype=torch.float64)


def smoothing_network() -> nn.Module:
    """Untrained conv net with fixed weights: positive 3 × 3 smoothing of the residual channel
    (channel 1; the condition, channel 0, gets weight 0), tanh (nonlinear at the unit-RMS scale
    residuals are given at), smoothing again. Float32, like a trained model."""
    kernel = torch.tensor([1.0, 4.0, 1.0])
    kernel = kernel[:, None] * kernel[None] / 36
    net = nn.Sequential(
        nn.Conv2d(2, 1, 3, padding=1, bias=False),
        nn.Tanh(),
        nn.Conv2d(1, 1, 3, padding=1, bias=False),
    )
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].weight[0, 1] = kernel
        net[2].weight[0, 0] = kernel
    return net


def test_layout_condition_and_padding():
    grid, pad = (3, 4), 1
    condition = torch.arange(5.0 * 6).reshape(5, 6)
    seen = []

    def network(fields):
        seen.append(fields)
        return 2 * fields[:, 1:]

    M = FieldPreconditioner(network, grid, condition=condition, pad=pad, normalize=False)
    r = torch.randn(12, 2, dtype=torch.float64)
    z = M(r)
    fields = seen[0]
    assert fields.shape == (2, 2, 5, 6) and fields.dtype == torch.float64
    assert torch.equal(fields[:, 0], condition.double().expand(2, 5, 6))
    assert torch.equal(fields[1, 1, 1:-1, 1:-1], r[:, 1].reshape(3, 4))
    assert fields[:, 1, 0].abs().sum() == 0 and fields[:, 1, :, -1].abs().sum() == 0
    torch.testing.assert_close(z, 2 * r)
    torch.testing.assert_close(M(r[:, 0]), 2 * r[:, 0])  # (n,) in, (n,) out


def test_normalization_is_positively_homogeneous():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 1, 3, padding=1))
    M = FieldPreconditioner(net, (6, 5))
    r = torch.randn(30, 3, dtype=torch.float64)
    z = M(r)
    assert z.dtype == torch.float64 and z.shape == (30, 3)
    torch.testing.assert_close(M(1e6 * r), 1e6 * z, rtol=1e-6, atol=0)
    torch.testing.assert_close(normalized_call(lambda v: v, r), r)
    assert normalized_call(lambda v: v + 1, torch.zeros(4, 1)).abs().sum() == 0


def test_is_flexible_only(darcy):
    _, A, b = darcy
    M = FieldPreconditioner(smoothing_network(), A.grid)
    assert not M.linear_spd and not M.linear and M.solver is fcg  # declared nonlinear: flexible CG only
    with pytest.raises(TypeError, match="fcg"):
        cg(A, b, M=M)
    with pytest.raises(ValueError, match="condition"):
        FieldPreconditioner(smoothing_network(), A.grid, condition=torch.ones(3, 3))


@pytest.mark.parametrize("pad", [0, 1])
def test_fcg_with_network_reaches_tolerance(darcy, pad):
    """The coefficient as channel 0: on the interior grid, or on all nodes with the boundary padded."""
    a, A, b = darcy
    condition = torch.from_numpy(a if pad else a[1:-1, 1:-1])
    M = FieldPreconditioner(smoothing_network(), A.grid, condition=condition, pad=pad)
    result = fcg(A, b, rtol=1e-8, M=M, keep=5, maxiter=500)
    assert result.converged and result.info == 0 and result.true_residual <= 1e-8
    assert result.iterations < cg(A, b, rtol=1e-8).iterations  # 85 vs 171
    exact = spla.spsolve(A.to_scipy().tocsc(), b.numpy())
    assert np.linalg.norm(result.x.numpy() - exact) <= 1e-6 * np.linalg.norm(exact)


def test_fcg_batched_matches_columns(darcy):
    _, A, _ = darcy
    B = torch.randn(A.shape[0], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    M = FieldPreconditioner(smoothing_network().double(), A.grid, condition=torch.ones(A.grid))
    batched = fcg(A, B, rtol=1e-8, M=M, keep=5, maxiter=500)
    assert bool(batched.converged.all())
    for j in range(3):
        single = fcg(A, B[:, j], rtol=1e-8, M=M, keep=5, maxiter=500)
        assert single.iterations == int(batched.iterations[j])
        torch.testing.assert_close(batched.x[:, j], single.x, rtol=1e-10, atol=0)
