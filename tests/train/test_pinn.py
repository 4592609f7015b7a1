"""Physics-informed training: residuals of exact solutions, collocation, learning-rate annealing by
hand, a short Poisson 1D run, references checked against the problem."""

import math

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from neuralsolvers.data_gen import HelmholtzReference
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import DatasetError
from neuralsolvers.models import PINNNet
from neuralsolvers.physics.pinn_lagrangian import LagrangianTransport
from neuralsolvers.physics.pinn_problems import (
    CollocationSampler,
    Convection,
    Helmholtz2D,
    KleinGordon,
    Poisson1D,
)
from neuralsolvers.train import FixedWeights, LearningRateAnnealing, PINNDataModule, PINNModule


class Exact(nn.Module):
    """A "network" that is the exact solution, so residuals and condition terms must vanish."""

    def __init__(self, problem):
        super().__init__()
        self.problem = problem

    def forward(self, x):
        return self.problem.exact(x)[:, None]


@pytest.mark.parametrize("problem", [Poisson1D(2.0), Helmholtz2D(), KleinGordon(), Convection(30.0)], ids=lambda p: type(p).__name__)
def test_exact_solutions_have_zero_residual_and_losses(problem):
    like = torch.zeros((), dtype=torch.float64)
    sampler = CollocationSampler("sobol", seed=1)
    x = sampler.sample(256, problem.low, problem.high, like).requires_grad_(True)
    residual = problem.residual(Exact(problem), x)
    assert residual.shape == (256,) and float(residual.abs().max()) < 1e-8  # autograd = analytic
    losses = problem.losses(Exact(problem), sampler, 64, like)
    assert set(losses) == set(problem.terms) and max(float(v) for v in losses.values()) < 1e-16


class ExactCharacteristics(nn.Module):
    """``(x₀, t) -> (U, X)`` of ``u_t + βu_x = νu_xx``, ``u(x, 0) = sin x``: ``U = e^{−νt} sin x₀``, ``X = x₀ + βt``."""

    def __init__(self, beta, nu):
        super().__init__()
        self.beta, self.nu = beta, nu

    def forward(self, x):
        return torch.stack([torch.exp(-self.nu * x[:, 1]) * torch.sin(x[:, 0]), x[:, 0] + self.beta * x[:, 1]], dim=1)


@pytest.mark.parametrize("nu", [0.0, 0.1])
def test_lagrangian_transform_of_an_exact_convection_solution(nu):
    problem = LagrangianTransport(beta=3.0, nu=nu)
    like = torch.zeros((), dtype=torch.float64)
    sampler = CollocationSampler("sobol")
    losses = problem.losses(ExactCharacteristics(3.0, nu), sampler, 128, like)
    assert set(losses) == {"residual", "characteristic", "initial"} and max(float(v) for v in losses.values()) < 1e-20
    # the chain rule matters: with ν > 0, a curve stretched in x₀ changes U_XX, and U_t must follow
    stretched = lambda x: torch.stack([torch.exp(-nu * x[:, 1]) * torch.sin(x[:, 0]), 2 * x[:, 0] + 3.0 * x[:, 1]], dim=1)  # noqa: E731
    x = sampler.sample(64, problem.low, problem.high, like).requires_grad_(True)
    assert (float(problem.residual(stretched, x).abs().max()) > 1e-3) == (nu > 0)
    # back on the fixed grid: interpolation from the moved positions gives the Eulerian solution
    xs, ts = torch.linspace(0, 2 * math.pi, 257, dtype=torch.float64)[:-1], torch.linspace(0, 1, 11, dtype=torch.float64)
    grid = torch.stack([g.ravel() for g in torch.meshgrid(xs, ts, indexing="xy")], dim=1)
    predicted = problem.predict(ExactCharacteristics(3.0, nu), grid, (11, 256))
    assert float((predicted - problem.exact(grid)).abs().max()) < 2e-4  # linear interpolation, h = 2π/256


def test_residual_is_not_zero_for_a_wrong_solution():
    problem = Helmholtz2D()
    x = torch.rand(64, 2, dtype=torch.float64).requires_grad_(True)
    assert float(problem.residual(lambda p: 0.9 * problem.exact(p)[:, None], x).abs().mean()) > 1.0


def test_collocation_points_lie_in_the_box_and_faces_are_fixed():
    like = torch.zeros(())
    for kind in ("uniform", "sobol"):
        points = CollocationSampler(kind).sample(500, [0.0, -1.0], [2.0, 1.0], like)
        assert points.shape == (500, 2) and float(points[:, 0].min()) >= 0 and float(points[:, 1].max()) <= 1
        assert float(points[:, 0].max()) > 1.9  # fills the box
    face = Convection()._face(CollocationSampler(), 10, 1, 0.0, like)
    assert bool((face[:, 1] == 0).all()) and float(face[:, 0].max()) > 0
    first = CollocationSampler("uniform", seed=3).sample(5, [0.0], [1.0], like)
    torch.testing.assert_close(first, CollocationSampler("uniform", seed=3).sample(5, [0.0], [1.0], like))
    for kind in ("uniform", "sobol"):  # a restored sampler continues the same stream
        sampler = CollocationSampler(kind, seed=1)
        sampler.sample(7, [0.0, 0.0], [1.0, 1.0], like)
        restored = CollocationSampler(kind, seed=1)
        restored.load_state_dict(sampler.state_dict())
        torch.testing.assert_close(restored.sample(4, [0.0, 0.0], [1.0, 1.0], like), sampler.sample(4, [0.0, 0.0], [1.0, 1.0], like))


def test_learning_rate_annealing_matches_a_hand_computation():
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0]]))
        model.bias.fill_(0.5)
    w, b = model.weight[0], model.bias[0]

    def losses():
        # ∇L_r = (2w₁, 3, 0) = (2, 3, 0); ∇L_b = (1, 2w₂, 2) = (1, −4, 2)
        return {"residual": w[0] ** 2 + 3 * w[1], "boundary": w[0] + w[1] ** 2 + 2 * b}

    paper = LearningRateAnnealing(alpha=0.9, every=10)
    assert paper.update(losses(), model, step=0)
    # λ̂ = max|∇L_r| / mean|∇L_b| over all parameters = 3 / (7/3) = 9/7; λ = 0.1·1 + 0.9·9/7
    assert paper.weights["boundary"] == pytest.approx(0.1 + 0.9 * 9 / 7)
    assert not paper.update(losses(), model, step=5)  # only every 10 steps
    code = LearningRateAnnealing(alpha=0.1, variant="code", weights={"boundary": 2.0})
    code.update(losses(), model, step=10)
    # weights only: max|∇L_r| = 3; gradient of the weighted term 2·L_b: (2, −8), mean 5 → λ̂ = 0.6
    assert code.weights["boundary"] == pytest.approx(0.9 * 2.0 + 0.1 * 0.6)
    total = FixedWeights({"boundary": 10.0}).total(losses())
    assert float(total) == pytest.approx((1 - 6) + 10 * (1 + 4 + 1))
    with pytest.raises(ValueError, match="alpha"):
        LearningRateAnnealing(alpha=0.0)
    with pytest.raises(ValueError, match="variant"):
        LearningRateAnnealing(variant="other")


def _trainer(steps: int) -> pl.Trainer:
    return pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, inference_mode=False, num_sanity_val_steps=0)  # fmt: skip


def test_short_poisson_run_reaches_the_stated_error():
    torch.manual_seed(0)
    model = PINNNet(in_features=1, hidden=20, layers=2)
    module = PINNModule(model, Poisson1D(1.0), optimizer=lambda p: torch.optim.Adam(p, lr=5e-3), batch_size=64)
    data = PINNDataModule(steps_per_epoch=250)
    trainer = _trainer(1000)
    trainer.fit(module, datamodule=data)
    error = float(trainer.callback_metrics["val/rel_l2"])
    # measured: 1000 steps (~5 s on 2 CPU cores) give a relative L2 error of 1.4e-3 (untrained ~1)
    assert error < 1e-2, error
    assert float(model.center[0]) == 0.5 and float(model.scale[0]) == pytest.approx(1 / math.sqrt(12))
    assert module.draw_figure("val") is not None


def test_annealing_inside_training_updates_and_checkpoints_the_weights():
    torch.manual_seed(0)
    module = PINNModule(PINNNet(in_features=2, hidden=16, layers=2), Helmholtz2D(), balancing=LearningRateAnnealing(every=5))
    _trainer(20).fit(module, datamodule=PINNDataModule(steps_per_epoch=20, resolution=11))
    assert [step for step, _, _ in module.history] == [0, 5, 10, 15]  # every weight update (and every 100 steps)
    weight = module.balancing.weights["boundary"]
    assert weight > 1.0  # the residual's gradients dominate at the start (the paper's pathology)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    resumed = PINNModule(PINNNet(in_features=2, hidden=16, layers=2), Helmholtz2D(), balancing=LearningRateAnnealing())
    resumed.on_load_checkpoint(checkpoint)
    assert resumed.balancing.weights["boundary"] == weight


def test_reference_must_match_the_problem(tmp_path):
    generate_split(HelmholtzReference(resolution=16, a2=2.0), tmp_path / "helmholtz", 1, seed=0)
    module = PINNModule(PINNNet(hidden=8, layers=1), Helmholtz2D(a2=4.0))
    with pytest.raises(DatasetError, match="a2"):
        _trainer(1).fit(module, datamodule=PINNDataModule(str(tmp_path / "helmholtz")))
    matching = PINNModule(PINNNet(hidden=8, layers=1), Helmholtz2D(a2=2.0))
    data = PINNDataModule(str(tmp_path / "helmholtz"), steps_per_epoch=2)
    _trainer(2).fit(matching, datamodule=data)
    assert data.grid_shape == (16, 16) and data.reference["points"].shape == (256, 2)
    assert 0 < float(_trainer(2).validate(matching, datamodule=data)[0]["val/rel_l2"]) < 10


def test_a_network_that_does_not_fit_the_problem_is_a_clear_error():
    from neuralsolvers.errors import ConfigError
    from neuralsolvers.physics.pinn_hidden import LotkaVolterraHidden

    with pytest.raises(ConfigError, match="LagrangianNet"):
        PINNModule(PINNNet(in_features=2, out_features=2), LagrangianTransport())
    with pytest.raises(ConfigError, match="hidden term"):
        PINNModule(PINNNet(in_features=1, out_features=2), LotkaVolterraHidden())
