"""Physics-informed training: one LightningModule with a pluggable PDE, sampler and loss balancing.

Every training step draws fresh collocation points (``batch_size`` per term and boundary piece,
uniform or Sobol), evaluates the problem's loss terms (``neuralsolvers.physics.pinn_problems``),
lets the balancing (``neuralsolvers.physics.loss_balancing``) update the weights, and minimizes
``Σ λ_i L_i``; with measurements (the data module's ``measurements``) the term ``data`` is the mean
square misfit of the network's outputs there. Validation and test compare the network with the reference solution of
``PINNDataModule`` (a generator's reference data, or the exact
solution): ``rel_l2 = ‖u_θ − u‖₂ / ‖u‖₂`` over the reference grid (``loss``: the mean square error there). Logged: the total loss, every
term, every weight, the learning rate, ``val/rel_l2``; the figure shows the reference, the
prediction, the error and the weight history. Configs set ``trainer.inference_mode: false``.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from neuralsolvers.errors import ConfigError
from neuralsolvers.physics.loss_balancing import FixedWeights, LossBalancing
from neuralsolvers.physics.losses import relative_l2
from neuralsolvers.physics.pinn_problems import CollocationSampler, PDEProblem, standardize
from neuralsolvers.train.base import NetworkModule

__all__ = ["PINNModule"]

HISTORY_EVERY = 100  # steps between entries of the loss/weight history drawn after fit


class PINNModule(NetworkModule):
    """Train a coordinate network so it satisfies a PDE and its boundary and initial conditions.

    Args:
        model: the network ``(N, d) -> (N, 1)`` (``PINNNet``; built
            without ``center``/``scale``, it is standardized to the problem's domain).
        problem: the PDE (``neuralsolvers.physics.pinn_problems``).
        optimizer: factories, as in the other modules (the paper: Adam 1e-3, decay 0.9
            every 1,000 steps: ``ExponentialLR`` with ``gamma: 0.99989464``).
        scheduler: see `optimizer`.
        balancing: loss weights (default: all 1).
        batch_size: points per term and per boundary piece in each step.
        sampler: ``uniform`` or ``sobol``; seed: its seed.
    """

    def __init__(
        self,
        model: nn.Module,
        problem: PDEProblem,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balancing: LossBalancing | None = None,
        batch_size: int = 128,
        sampler: str = "uniform",
        seed: int = 0,
    ):
        super().__init__(model, optimizer, scheduler)
        if batch_size < 1:
            raise ConfigError(f"model.batch_size must be positive, got {batch_size}")
        self.problem, self.balancing = problem, balancing or FixedWeights()
        self.sampler = CollocationSampler(sampler, seed)
        self.batch_size = batch_size
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler", "problem", "balancing"])
        problem.check_network(model)
        with torch.no_grad():
            standardize(model, problem)
        self.history: list[tuple[int, dict[str, float], dict[str, float]]] = []  # (step, losses, weights)

    def forward(self, points: torch.Tensor, grid_shape: tuple[int, ...]) -> torch.Tensor:
        """The solution ``(N,)`` at the reference grid's ``points`` ``(N, d)`` (the problem's
        ``predict``: the network's first output, or interpolated from a moving frame)."""
        return self.problem.predict(self.model, points, grid_shape)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        like = next(self.model.parameters())
        losses = self.problem.losses(self.model, self.sampler, self.batch_size, like)
        if isinstance(batch, dict):  # measurements: the data term
            predicted = self.model(batch["points"])
            losses["data"] = (predicted.reshape(batch["values"].shape) - batch["values"]).square().mean()
        changed = self.balancing.update(losses, self.model, self.global_step)
        if changed or self.global_step % HISTORY_EVERY == 0:
            self.history.append((self.global_step, {term: float(loss) for term, loss in losses.items()},
                                 {term: self.balancing.weight(term) for term in losses}))  # fmt: skip
        total = self.balancing.total(losses)
        if not bool(torch.isfinite(total)):
            raise FloatingPointError(f"non-finite PINN loss at step {self.global_step}: {({k: float(v) for k, v in losses.items()})}")
        self.log("train/loss", total, on_step=True, on_epoch=True, prog_bar=True, batch_size=self.batch_size, sync_dist=True)
        for term, loss in losses.items():
            self.log(f"train/loss_{term}", loss, on_step=True, on_epoch=True, batch_size=self.batch_size, sync_dist=True)
            if term != "residual":
                self.log(f"train/weight_{term}", self.balancing.weight(term), on_step=True, batch_size=self.batch_size)
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], on_step=True, batch_size=self.batch_size)
        return total

    def _evaluate(self, batch: dict[str, torch.Tensor], split: str) -> None:
        with torch.no_grad():
            prediction = self(batch["points"], tuple(batch["shape"].tolist()))
        error = relative_l2(prediction[None], batch["u"][None])[0]
        self.log(f"{split}/rel_l2", error, prog_bar=True, batch_size=len(prediction), sync_dist=True)
        self.log(f"{split}/loss", (prediction - batch["u"]).square().mean(), batch_size=len(prediction), sync_dist=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["loss_weights"] = dict(self.balancing.weights)
        checkpoint["collocation_sampler"] = self.sampler.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.balancing.weights.update(checkpoint.get("loss_weights", {}))
        if "collocation_sampler" in checkpoint:
            self.sampler.load_state_dict(checkpoint["collocation_sampler"])

    def draw_figure(self, split: str) -> Figure | None:
        """Reference, prediction and absolute error on the reference grid, and the loss weights."""
        datamodule = getattr(self.trainer, "datamodule", None)
        reference = getattr(datamodule, "reference", None)
        if reference is None:
            return None
        points, truth, shape = reference["points"], reference["u"], datamodule.grid_shape
        with torch.no_grad():
            prediction = self(points.to(self.device), shape).cpu()
        error = float(relative_l2(prediction[None], truth[None])[0])
        figure, axes = plt.subplots(1, 4, figsize=(17, 3.8))
        names = self.problem.coordinates
        extent = [float(points[:, 0].min()), float(points[:, 0].max())]
        extent += [float(points[:, -1].min()), float(points[:, -1].max())] if len(names) > 1 else [0.0, 1.0]
        panels = (("reference", truth), (f"{type(self.model).__name__}", prediction), (f"|error|, rel. L2 {error:.2e}", (prediction - truth).abs()))
        for axis, (title, values) in zip(axes[:3], panels, strict=True):
            if len(names) == 1:
                axis.plot(points[:, 0].numpy(), values.numpy())
            else:
                image = axis.imshow(values.reshape(shape).numpy(), origin="lower", extent=extent, aspect="auto", cmap="jet")
                figure.colorbar(image, ax=axis)
                axis.set_ylabel(names[1])
            axis.set_xlabel(names[0])
            axis.set_title(title, fontsize=9)
        weights_axis = axes[3].twinx()
        for term in sorted({t for _, losses, _ in self.history for t in losses}):
            steps = [step for step, losses, _ in self.history if term in losses]
            line = axes[3].plot(steps, [losses[term] for _, losses, _ in self.history if term in losses], label=f"L {term}")[0]
            if term != "residual":
                weights_axis.plot(steps, [weights[term] for _, losses, weights in self.history if term in losses], "--",
                                  color=line.get_color(), label=f"λ {term}")  # fmt: skip
        for axis, label in ((axes[3], "loss term"), (weights_axis, "weight λ (dashed)")):
            axis.set_yscale("log")
            axis.set_ylabel(label, fontsize=8)
        axes[3].set_xlabel("step")
        axes[3].set_title(f"loss terms and weights ({type(self.balancing).__name__})", fontsize=9)
        axes[3].legend(fontsize=7, loc="lower left")
        figure.tight_layout()
        return figure
