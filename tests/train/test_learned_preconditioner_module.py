"""The learned-preconditioner module on sparse matrices: a tiny learned Jacobi polynomial trained with
Lightning on a finite-element store lowers its PCG-residual loss, the validation solves are logged,
an elasticity store's rigid-body modes reach the models that take ``near_nullspace`` (and a kept
``plan`` comes back), a model without the protocol or a data module of another kind is refused, and
the neural multigrid trains in the same module on diffusion scenes."""

import math

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from neuralsolvers.data_gen.diffusion_scenes import DiffusionScenes
from neuralsolvers.data_gen.fe_elasticity import FiniteElementElasticity, load_elasticity
from neuralsolvers.data_gen.finite_elements import FiniteElementDiffusion
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import ConfigError
from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.models.registry import register_model
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.train import LearnedPreconditionerModule, MatrixDataModule, SceneDataModule


def diagonal(A: torch.Tensor) -> torch.Tensor:
    crow, col, values = A.crow_indices(), A.col_indices().long(), A.values()
    rows = torch.repeat_interleave(torch.arange(A.shape[0]), crow.diff().long())
    on = rows == col
    return torch.zeros(A.shape[0], dtype=A.dtype).index_add_(0, rows[on], values[on])


class JacobiSweeps(Preconditioner):
    """``sweeps`` damped Jacobi sweeps from zero: ``p(D⁻¹A) D⁻¹``, SPD for any weight > 0 when
    ``sweeps`` is odd (``1 − (1 − ωλ)^sweeps > 0`` for every eigenvalue ``λ > 0`` of ``D⁻¹A``)."""

    def __init__(self, A: torch.Tensor, weight: torch.Tensor, sweeps: int):
        self.A, self.weight, self.sweeps, self.inverse_diagonal = A, weight, sweeps, 1 / diagonal(A)
        self.shape, self.dtype, self.device = tuple(A.shape), A.dtype, A.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        column = r.dim() == 1
        r = r[:, None] if column else r
        z = torch.zeros_like(r)
        for _ in range(self.sweeps):
            z = z + self.weight * self.inverse_diagonal[:, None] * (r - self.A @ z)
        return z[:, 0] if column else z


@register_model("test_learned_jacobi")
class LearnedJacobi(nn.Module):
    """Three Jacobi sweeps with a learned weight ``ω = 2·sigmoid(θ)``; classically ``ω = 1``."""

    def __init__(self, weight: float = 0.1, sweeps: int = 3):
        super().__init__()
        self.sweeps = sweeps
        self.theta = nn.Parameter(torch.tensor(math.log(weight / (2 - weight))))

    def preconditioner(self, A: torch.Tensor, *, differentiable: bool = False) -> JacobiSweeps:
        weight = 2 * torch.sigmoid(self.theta.to(A.dtype))
        return JacobiSweeps(A, weight if differentiable else weight.detach(), self.sweeps)

    def classical_preconditioner(self, A: torch.Tensor) -> JacobiSweeps:
        return JacobiSweeps(A, torch.tensor(1.0, dtype=A.dtype), self.sweeps)


class OwnLoss(LearnedJacobi):
    def training_loss(self, A: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
        return (self.theta - 1.0) ** 2 + 0 * probes.sum()


class LossLog(pl.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("fe")
    small = FiniteElementDiffusion(mesh=["square", "delaunay"], refine=3, coefficients=["lognormal", "binary"])
    generate_split(small, root / "train", num_samples=8, seed=0)
    generate_split(small, root / "val", num_samples=2, seed=1)
    generate_split(FiniteElementDiffusion(mesh=["square"], refine=4), root / "large", num_samples=1, seed=2)
    return root


def data(store, **options):
    return MatrixDataModule(str(store / "train"), str(store / "val"), large=str(store / "large"), num_val=2, batch_size=4, **options)


def trainer(**options):
    return pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, **options)  # fmt: skip


def test_matrix_data_module_gives_lists_of_sparse_systems(store):
    datamodule = data(store)
    datamodule.setup("fit")
    assert {split: len(dataset) for split, dataset in datamodule.splits.items()} == {"train": 8, "val": 2, "large": 1}
    batch = next(iter(datamodule.train_dataloader()))
    assert isinstance(batch, list) and len(batch) == 4
    for item in batch:
        A, b = item["A"], item["b"]
        assert A.layout == torch.sparse_csr and A.dtype == torch.float64 and b.dtype == torch.float64
        assert A.shape == (b.shape[0], b.shape[0])
    val = datamodule.splits["val"]
    np.testing.assert_allclose(val[0]["A"].to_dense().numpy(), val.matrix(0).toarray())
    assert datamodule.splits["large"].matrix(0).shape[0] > max(val.sizes())
    with pytest.raises(ConfigError, match="batch_size"):
        MatrixDataModule("train", "val", batch_size=0)


def test_training_lowers_the_loss_and_logs_the_validation_solves(store):
    torch.manual_seed(0)
    module = LearnedPreconditionerModule(LearnedJacobi(), optimizer=lambda p: torch.optim.Adam(p, lr=0.1), steps=4, probes=4)
    losses = LossLog()
    fit = trainer(max_steps=40, check_val_every_n_epoch=10, callbacks=[losses], num_sanity_val_steps=1)
    fit.fit(module, datamodule=data(store))
    assert len(losses.losses) == 40
    # ω from 0.1 to about 0.66: the log residual after 4 PCG steps falls by more than 0.5 (×0.6; measured 0.7)
    assert np.mean(losses.losses[-10:]) < losses.losses[0] - 0.5, losses.losses
    metrics = fit.callback_metrics
    for key in ("val/loss", "val/iterations", "val/classical_iterations", "val/iterations_large", "val/classical_iterations_large"):
        assert key in metrics and math.isfinite(float(metrics[key])), key
    assert 1 <= float(metrics["val/iterations"]) < module.hparams.val_maxiter
    assert float(metrics["val/iterations"]) <= float(metrics["val/classical_iterations"])  # ω ≈ 0.66 beats ω = 1 here
    assert set(module._classical) == {("val", 0), ("val", 1), ("large", 0)}  # the classical solves are cached
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    assert checkpoint["neuralsolvers_preconditioner"] == {"kind": "matrix", "solver": "cg", "linear": True, "spd": True}
    assert checkpoint["neuralsolvers_model"]["name"] == "test_learned_jacobi"
    figure = module.draw_figure("val")
    assert len(figure.axes[0].lines) == 5  # learned and classical on val and large, and the tolerance


def test_a_model_with_its_own_loss_trains_on_it(store):
    module = LearnedPreconditionerModule(OwnLoss(), optimizer=lambda p: torch.optim.SGD(p, lr=0.1), dtype="float64")
    fit = trainer(max_steps=2, limit_val_batches=0)
    start = module.model.theta.item()
    fit.fit(module, datamodule=data(store))
    assert module.model.theta.item() > start  # the gradient of (θ − 1)², θ < 1
    systems = [fit.datamodule.splits["train"][0], fit.datamodule.splits["train"][1]]
    assert module._loss(systems).item() == pytest.approx((module.model.theta.item() - 1) ** 2)


class Untrainable(LearnedJacobi):
    """Its preconditioner never depends on the weight (as a learned AMG on a matrix too small to coarsen)."""

    def preconditioner(self, A: torch.Tensor, *, differentiable: bool = False) -> JacobiSweeps:
        return self.classical_preconditioner(A)


def test_a_batch_whose_loss_does_not_depend_on_the_weights_is_one_clear_error(store):
    module = LearnedPreconditionerModule(Untrainable(), dtype="float64")
    with pytest.raises(ConfigError, match=r"do not depend on the network's weights: too small to coarsen\?"):
        trainer(max_steps=1, limit_val_batches=0).fit(module, datamodule=data(store))


class NoClassical(nn.Module):
    def preconditioner(self, A, *, differentiable=False):
        raise AssertionError


def test_a_model_or_data_module_of_another_kind_is_refused(store):
    with pytest.raises(ConfigError, match="has no preconditioner and no classical_preconditioner"):
        LearnedPreconditionerModule(nn.Linear(2, 2))
    with pytest.raises(ConfigError, match="NoClassical has no classical_preconditioner$"):
        LearnedPreconditionerModule(NoClassical())
    with pytest.raises(ConfigError, match="model.dtype"):
        LearnedPreconditionerModule(LearnedJacobi(), dtype="float16")
    module = LearnedPreconditionerModule(LearnedJacobi())
    with pytest.raises(ConfigError, match="MatrixDataModule"):
        trainer(max_steps=1).fit(module, datamodule=pl.LightningDataModule())


class Recording(LearnedJacobi):
    """Records the keywords every build was given; its preconditioners keep a ``plan`` (a fresh object)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, method, A, near_nullspace, plan, differentiable=False):
        self.calls.append({"method": method, "n": A.shape[0], "near_nullspace": near_nullspace, "plan": plan, "differentiable": differentiable})
        M = (super().preconditioner(A, differentiable=differentiable) if method == "preconditioner"
             else super().classical_preconditioner(A))  # fmt: skip
        M.plan = plan if plan is not None else object()
        return M

    def preconditioner(self, A, *, differentiable=False, near_nullspace=None, plan=None):
        return self._record("preconditioner", A, near_nullspace, plan, differentiable)

    def classical_preconditioner(self, A, *, near_nullspace=None, plan=None):
        return self._record("classical", A, near_nullspace, plan)


@pytest.fixture(scope="module")
def elastic_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("elasticity")
    generator = FiniteElementElasticity(mesh=["square"], refine=2)
    for split, count, seed in (("train", 2, 0), ("val", 1, 1), ("large", 1, 2)):
        generate_split(generator, root / split, num_samples=count, seed=seed)
    return root


def test_an_elasticity_store_passes_its_rigid_body_modes_to_the_model(elastic_store, store):
    datamodule = MatrixDataModule(*(str(elastic_store / split) for split in ("train", "val")), large=str(elastic_store / "large"), batch_size=2, num_val=1)
    datamodule.setup("fit")
    item, stored = datamodule.splits["train"][1], load_elasticity(elastic_store / "train")[1]
    assert item["index"] == 1 and item["near_nullspace"].dtype == torch.float64 and item["near_nullspace"].shape == (item["b"].shape[0], 3)
    np.testing.assert_array_equal(item["near_nullspace"].numpy(), stored.modes)
    np.testing.assert_array_equal(item["A"].to_dense().numpy(), stored.matrix.toarray())
    model = Recording()
    module = LearnedPreconditionerModule(model, optimizer=lambda p: torch.optim.Adam(p, lr=0.1), steps=2, probes=2)
    fit = trainer(max_epochs=2, num_sanity_val_steps=0)
    fit.fit(module, datamodule=datamodule)
    modes = {(split, index): dataset[index]["near_nullspace"] for split, dataset in datamodule.splits.items() for index in range(len(dataset))}
    assert {(call["method"], call["differentiable"]) for call in model.calls} == {("preconditioner", True), ("preconditioner", False), ("classical", False)}
    for call in model.calls:  # every build got its system's modes
        assert call["near_nullspace"] is not None
        assert any(call["near_nullspace"] is mode for mode in modes.values())
        assert call["near_nullspace"].shape[0] == call["n"]
    # every later build got the system's first plan back, whichever method made it: one fresh plan per system
    fresh = [call for call in model.calls if call["plan"] is None]
    assert len(fresh) == len({id(call["near_nullspace"]) for call in model.calls})
    assert sum(call["plan"] is not None for call in model.calls) > 0
    # models without the keywords keep working on the same store; a diffusion store has no modes
    plain = LearnedPreconditionerModule(LearnedJacobi(), optimizer=lambda p: torch.optim.Adam(p, lr=0.1), steps=2, probes=2)
    trainer(max_steps=2, num_sanity_val_steps=0).fit(plain, datamodule=datamodule)
    diffusion = data(store)
    diffusion.setup("fit")
    assert "near_nullspace" not in diffusion.splits["train"][0]


@pytest.fixture(scope="module")
def scene_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    for split, grid, count, seed in (("train", 16, 4, 0), ("val", 16, 1, 1), ("large", 32, 1, 2)):
        generate_split(DiffusionScenes(grid=[grid, grid], families=["boxes"]), root / split, num_samples=count, seed=seed)
    return root


def test_the_neural_multigrid_trains_in_the_same_module_on_scenes(scene_store):
    """One module for every learned preconditioner: the neural multigrid on a SceneDataModule (its
    probes zero outside the fluid), validated against its classical geometric multigrid."""
    torch.manual_seed(0)
    scenes = SceneDataModule(*(str(scene_store / split) for split in ("train", "val")), large=str(scene_store / "large"), num_val=1, batch_size=2)
    module = LearnedPreconditionerModule(NeuralMultigrid(dim=2, hidden=4, depth=1), optimizer=lambda p: torch.optim.Adam(p, lr=0.01), steps=3, probes=2)
    fit = trainer(max_steps=2, num_sanity_val_steps=0)
    fit.fit(module, datamodule=scenes)
    metrics = fit.callback_metrics
    for key in ("val/iterations", "val/classical_iterations", "val/iterations_large", "val/classical_iterations_large"):
        assert key in metrics and 1 <= float(metrics[key]) < module.hparams.val_maxiter, key
    classical = module.solve("large", 0, "classical")
    assert classical.converged and classical.iterations == float(metrics["val/classical_iterations_large"])
    untrained = LearnedPreconditionerModule(NeuralMultigrid(dim=2, hidden=4, depth=1))
    untrained.trainer = fit  # the untrained network is geometric multigrid: the same iterations
    assert untrained.solve("large", 0).iterations == classical.iterations
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    assert checkpoint["neuralsolvers_preconditioner"]["kind"] == "neural_multigrid"
    assert fit.datamodule.splits["large"].label(0) == "32×32"
    wrong = LearnedPreconditionerModule(NeuralMultigrid(dim=3, hidden=4, depth=1))
    with pytest.raises(ValueError, match="the neural multigrid is 3D but the grid 16×16 is 2D"):
        trainer(max_steps=1, num_sanity_val_steps=0).fit(wrong, datamodule=scenes)


def test_the_cycle_loss_trains_the_same_model(store):
    """``loss: cycle``: the energy-norm contraction of ``I − M A`` (Jacobi's weight from 0.1 up) falls too."""
    torch.manual_seed(0)
    module = LearnedPreconditionerModule(LearnedJacobi(), optimizer=lambda p: torch.optim.Adam(p, lr=0.1), steps=3, probes=4, loss="cycle")
    losses = LossLog()
    trainer(max_steps=30, limit_val_batches=0, callbacks=[losses]).fit(module, datamodule=data(store))
    # log contraction per application from −0.34 to about −1.06 (measured), ω from 0.1 to about 0.9
    assert np.mean(losses.losses[-5:]) < losses.losses[0] - 0.4, losses.losses
    assert 0.1 < float(2 * torch.sigmoid(module.model.theta)) < 2  # ω grew and stayed convergent
    with pytest.raises(ConfigError, match="model.loss must be one of"):
        LearnedPreconditionerModule(LearnedJacobi(), loss="energy")
