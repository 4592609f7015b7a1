"""DCDM's unsupervised training: a briefly trained 2D net beats Jacobi-PCG inside the DCDM iteration
on a held-out 32² obstacle problem; training and solver see the network the same way; bad data is refused."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from neuralsolvers.data_gen import KrylovVectors, PoissonObstacles
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import ConfigError, DatasetError
from neuralsolvers.models import DCDMNet
from neuralsolvers.solvers import Jacobi, cg, dcdm, dcdm_preconditioner
from neuralsolvers.train import DCDMModule, KrylovDataModule

GRID = (32, 32)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """400 Krylov right-hand sides of one 32² box scene; 4 held-out 32² box scenes (and 4 at 8³)."""
    root = tmp_path_factory.mktemp("dcdm")
    krylov = KrylovVectors(grid=GRID, scene="boxes", num_lanczos=120)
    generate_split(krylov, root / "krylov", 400, seed=0, shard_size=400)
    generate_split(PoissonObstacles(grid=GRID, scene="boxes", solve=False), root / "systems", 4, seed=7)
    generate_split(PoissonObstacles(grid=(8, 8, 8), scene="spheres", solve=False), root / "systems3d", 4, seed=7)
    return root


def _trainer(steps: int) -> pl.Trainer:
    return pl.Trainer(
        max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, inference_mode=False, num_sanity_val_steps=0,
        limit_val_batches=1, val_check_interval=steps, check_val_every_n_epoch=None,
    )


def test_briefly_trained_net_beats_jacobi_pcg(datasets):
    pl.seed_everything(0)
    data = KrylovDataModule(str(datasets / "krylov/"), systems=str(datasets / "systems"), num_systems=4, batch_size=16)
    net = DCDMNet(dim=2, in_channels=2, channels=8, blocks=(1, 2, 1))
    module = DCDMModule(net, optimizer=lambda p: torch.optim.Adam(p, lr=3e-3), val_maxiter=150)
    data.setup("fit")
    systems = data.systems
    untrained = [module.solve(system).iterations for system in systems]
    _trainer(120).fit(module, datamodule=data)
    trained = [module.solve(system) for system in systems]
    jacobi = [cg(s.operator, s.b, rtol=1e-6, M=Jacobi(s.operator)).iterations for s in systems]
    # measured: untrained ≈ 60–80, Jacobi-PCG 74–84, trained (120 steps, ~15 s) ≈ 20 iterations
    assert all(result.converged and result.true_residual <= 1e-6 for result in trained)
    assert np.median([r.iterations for r in trained]) < 0.6 * np.median(jacobi)
    assert np.median([r.iterations for r in trained]) < np.median(untrained)
    assert module.trainer.callback_metrics["val/dcdm_iterations"] < np.median(jacobi)
    figure = module.draw_figure("val")
    assert len(figure.axes[0].lines) == 2 * len(systems) + 1


def test_training_directions_match_the_solver_preconditioner(datasets):
    data = KrylovDataModule(str(datasets / "krylov"))
    data.setup("fit")
    module = DCDMModule(DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)))
    b = data.splits["train"].tensors[0][:3]
    mask = data.mask.float()
    with torch.no_grad():
        trained_view = module.directions(b, mask)
    solver_view = dcdm_preconditioner(module.model, data.mask, dtype=torch.float32)(b.flatten(1).T).T
    rms = b.flatten(1).norm(dim=1, keepdim=True) / np.sqrt(mask.numel())
    # the solver scales the output back by the residual's RMS; otherwise the two are the same map
    torch.testing.assert_close(solver_view, rms * trained_view.flatten(1), rtol=1e-5, atol=1e-7)
    assert trained_view[:, ~data.mask].abs().max() == 0  # no direction on obstacle cells


def test_matrix_free_training_operator_is_the_generators(datasets):
    data = KrylovDataModule(str(datasets / "krylov"))
    data.setup("fit")
    stencil = data.training_operator(torch.float64)
    reference = KrylovVectors(grid=GRID, scene="boxes", num_lanczos=120)._scene.operator(data.mask.numpy()).to_scipy()
    v = np.random.default_rng(0).standard_normal(stencil.shape[0])
    np.testing.assert_allclose(stencil.matvec(torch.from_numpy(v)).numpy(), reference @ v, rtol=1e-12)


def test_bad_data_is_refused(datasets):
    with pytest.raises(DatasetError, match="krylov_vectors"):
        KrylovDataModule(str(datasets / "systems")).setup("fit")
    with pytest.raises(ConfigError, match="3D scenes"):
        KrylovDataModule(str(datasets / "krylov"), systems=str(datasets / "systems3d")).setup("fit")
    with pytest.raises(ConfigError, match="batch_size"):
        KrylovDataModule(str(datasets / "krylov"), batch_size=0)
    with pytest.raises(ValueError, match="val_rtol"):
        DCDMModule(DCDMNet(dim=2), val_rtol=2.0)


def test_dcdm_with_a_3d_network_runs_on_a_3d_scene(datasets):
    from neuralsolvers.data_gen.poisson import load_systems

    system = load_systems(datasets / "systems3d", 1)[0]
    smoothing = torch.nn.Conv3d(1, 1, 3, padding=1, bias=False)  # fixed SPD smoothing: [1, 4, 1] / 6 per axis
    taper = torch.tensor([1.0, 4.0, 1.0]) / 6
    with torch.no_grad():
        smoothing.weight.copy_(taper[:, None, None] * taper[None, :, None] * taper[None, None, :])
    M = dcdm_preconditioner(smoothing, system.mask)
    r = torch.randn(system.b.shape[0], 2, dtype=torch.float64)
    fields = r.T.reshape(2, 1, 8, 8, 8).float()
    expected = (smoothing(fields).reshape(2, -1).T.double() * system.mask.reshape(-1, 1)).detach()
    torch.testing.assert_close(M(r), expected, rtol=1e-5, atol=1e-6)  # layout: C order, mask applied
    result = dcdm(system.operator, system.b, M=M, rtol=1e-6, maxiter=300)
    plain = cg(system.operator, system.b, rtol=1e-6)
    assert result.converged and result.true_residual <= 1e-6 and result.iterations <= plain.iterations
