"""Neural multigrid: linear, symmetric and positive definite for any network weights (2D and 3D,
obstacles, Neumann walls, coefficient jumps); the untrained network is the classical geometric
multigrid; plain cg and SciPy's cg take it; its defaults are what the configs ship, and a checkpoint
records every constructor argument."""

import inspect
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
import yaml

from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import DiffusionStencil, GeometricMultigrid, cg
from neuralsolvers.solvers.multigrid.neural import StencilLayout, stencil_features
from tests.solvers.multigrid.test_geometric_multigrid import NEUMANN_2D, NEUMANN_3D, scene

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "2d-stencil3": ((14, 11), NEUMANN_2D, {"stencil": 3}),
    "2d-stencil1": ((14, 11), NEUMANN_2D, {"stencil": 1}),
    "2d-no-transfer": ((13, 12), True, {"stencil": 3, "transfer": False}),
    "3d-stencil3": ((6, 7, 5), NEUMANN_3D, {"stencil": 3}),
    "3d-stencil1": ((6, 7, 5), NEUMANN_3D, {"stencil": 1}),
}


def dense(M, n):
    return M.apply(torch.eye(n, dtype=torch.float64))


def randomized(network, seed, std=1.0):
    """Every weight drawn at random: the guarantees must not depend on training."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * std)
    return network


@pytest.mark.parametrize("case", list(CASES))
def test_random_weights_give_linear_symmetric_positive_definite_cycles(case):
    grid, walls, options = CASES[case]
    A = scene(grid, walls=walls)
    n = A.shape[0]
    for seed in range(3):
        net = randomized(NeuralMultigrid(dim=len(grid), coarsest=8, **options).double(), seed)
        M = net.preconditioner(A)
        assert len(M.levels) >= 2 and M.linear and M.linear_spd
        matrix = dense(M, n)
        assert torch.allclose(matrix, matrix.T, rtol=0, atol=1e-10 * matrix.abs().max()), case
        eigenvalues = torch.linalg.eigvalsh((matrix + matrix.T) / 2)
        assert eigenvalues.min() > 1e-9 * eigenvalues.max(), (case, seed, eigenvalues.min())
        x, y = torch.randn(n, 2, dtype=torch.float64).unbind(1)
        assert torch.allclose(M.apply(2 * x - 3 * y), 2 * M.apply(x) - 3 * M.apply(y), atol=1e-10 * M.apply(x).abs().max())


@pytest.mark.parametrize("case", ["2d-stencil3", "3d-stencil3", "2d-no-transfer"])
def test_untrained_network_is_the_geometric_multigrid(case):
    grid, walls, options = CASES[case]
    A = scene(grid, walls=walls)
    net = NeuralMultigrid(dim=len(grid), coarsest=8, **options).double()
    torch.nn.init.normal_(net.body[0].weight)  # hidden layers do not matter while the output layer is zero
    ours, classical = dense(net.preconditioner(A), A.shape[0]), dense(GeometricMultigrid(A, coarsest=8), A.shape[0])
    assert (ours - classical).abs().max() <= 1e-12 * classical.abs().max()


def test_cg_and_scipy_cg_take_it():
    A = scene((40, 36), walls=NEUMANN_2D)
    net = randomized(NeuralMultigrid(dim=2), seed=5, std=0.3)
    M = net.preconditioner(A)
    b = torch.randn(A.shape[0], dtype=torch.float64) * A.mask.reshape(-1)
    ours = cg(A, b, M=M, rtol=1e-8)
    assert ours.converged and ours.true_residual <= 1e-8
    iterations = []
    x, info = spla.cg(A.to_scipy(), b.numpy(), rtol=1e-8, M=M.as_linear_operator(), callback=lambda xk: iterations.append(1), maxiter=500)
    assert info == 0 and abs(len(iterations) - ours.iterations) <= 2
    assert np.linalg.norm(b.numpy() - A.to_scipy() @ x) <= 1.01e-8 * np.linalg.norm(b.numpy())


def test_features_are_dimensionless_fractions():
    """The network sees the same features whatever the spacing or the scale of the coefficient, so
    one network serves every level and grid size."""
    A = scene((32, 32), walls=NEUMANN_2D)
    features = stencil_features(A)
    assert features.shape == (1, 6, 32, 32) and features.min() >= 0 and features.max() <= 1
    fluid = features[0, 0]
    assert torch.allclose(features[0, 1:].sum(0), fluid)  # face fractions and the Dirichlet share sum to 1 on fluid
    scaled = DiffusionStencil(A.grid, 7.0 * A.coefficient, A.mask, spacing=0.25, dirichlet_walls=A.walls)
    assert torch.allclose(stencil_features(scaled), features)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="the neural multigrid is 2D but the grid 6×6×6 is 3D"):
        NeuralMultigrid(dim=2).preconditioner(scene((6, 6, 6)))
    with pytest.raises(ValueError, match="needs the system as a DiffusionStencil"):
        NeuralMultigrid(dim=2).classical_preconditioner(torch.eye(4).to_sparse_csr())
    with pytest.raises(ValueError, match="stencil 1 or 3"):
        StencilLayout(2, stencil=5)
    with pytest.raises(ValueError, match="needs the system as a DiffusionStencil .* got a Tensor$"):
        NeuralMultigrid(dim=2).preconditioner(torch.eye(4))


@pytest.mark.gpu
def test_cuda_cycle_matches_the_cpu_one():
    A = scene((64, 48), walls=NEUMANN_2D)
    net = randomized(NeuralMultigrid(dim=2), seed=2, std=0.3)
    r = torch.randn(A.shape[0], 3, dtype=torch.float64)
    cpu = net.preconditioner(A).apply(r)
    cuda = net.to("cuda").preconditioner(A.to(device="cuda")).apply(r.cuda()).cpu()
    assert torch.allclose(cuda, cpu, rtol=1e-5, atol=1e-6 * cpu.abs().max())  # the network runs in float32


@pytest.mark.parametrize("config", ["neural_mg_poisson2d.yaml", "neural_mg_poisson3d.yaml"])
def test_the_defaults_are_what_the_configs_ship(config):
    shipped = yaml.safe_load((ROOT / "configs" / config).read_text())["model"]["init_args"]["model"]["init_args"]
    defaults = {name: parameter.default for name, parameter in inspect.signature(NeuralMultigrid).parameters.items()}
    for name, value in shipped.items():
        assert name == "dim" or defaults[name] == value, (config, name)


def test_checkpoints_record_every_argument_so_a_default_change_cannot_alter_them():
    """``init_args`` holds the defaults too (the registry applies them), and the committed old
    checkpoint, written when the defaults were ``hidden=16, stencil=3``, recorded all of them."""
    from neuralsolvers.checkpoints import read_checkpoint

    names = set(inspect.signature(NeuralMultigrid).parameters)
    assert set(NeuralMultigrid().init_args) == names and NeuralMultigrid(dim=3).init_args["hidden"] == 8
    recorded = read_checkpoint(ROOT / "tests/data/old_layout/neural_mg_2d.ckpt")["neuralsolvers_model"]["init_args"]
    assert set(recorded) == names - {"galerkin", "interpolation_range", "kernel"}  # added after it was written; their defaults keep the old meaning
