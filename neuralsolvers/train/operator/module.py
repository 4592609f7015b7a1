"""Supervised operator learning: one LightningModule for DeepONet, MgNO, FNO and later operators.

The network is an argument (``model``), so every operator trains with the same loss, metrics,
optimizer/scheduler configuration and logging. Models that take query points (DeepONet) get the
batch's ``points``; grid models get the input field alone.
"""

from __future__ import annotations

import inspect

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from neuralsolvers.physics.losses import OperatorLoss, relative_l2
from neuralsolvers.train.base import NetworkModule, SplitSteps

__all__ = ["OperatorModule"]


class OperatorModule(SplitSteps, NetworkModule):
    """Train a neural operator on input/target function pairs.

    Args:
        model: the network (a registered ``neuralsolvers.models`` class).
        loss: ``rel_l2``, ``rel_h1`` or ``mse``.
        spatial_dims: trailing spatial dimensions of the output (1 for DeepONet on points, 2 for 2D fields).
        optimizer: optimizer factory (class path and arguments in the config).
        scheduler: learning-rate scheduler factory, stepped every optimizer step; a scheduler with
            ``total_steps: null`` (``WarmupCosineLR``) gets the trainer's number of steps.
        fit_normalization: set the model's normalization statistics from the training data at fit start.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: str = "rel_l2",
        spatial_dims: int = 1,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        fit_normalization: bool = True,
    ):
        super().__init__(model, optimizer, scheduler)
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler"])
        self.criterion = OperatorLoss(loss, spatial_dims)
        self._takes_points = "points" in inspect.signature(model.forward).parameters

    def forward(self, x: torch.Tensor, points: torch.Tensor | None = None) -> torch.Tensor:
        if self._takes_points:
            return self.model(x, points)
        return self.model(x)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        wants_stats = self.hparams.fit_normalization and hasattr(self.model, "fit_normalization")
        if stage == "fit" and wants_stats and hasattr(datamodule, "train_tensors"):
            self.model.fit_normalization(*datamodule.train_tensors())

    def _step(self, batch: dict[str, torch.Tensor], split: str) -> torch.Tensor:
        prediction = self(batch["x"], batch.get("points"))
        loss = self.criterion(prediction, batch["y"])
        on_step = split == "train"
        size = len(batch["x"])
        self.log(f"{split}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True)
        with torch.no_grad():
            rel = relative_l2(prediction.detach(), batch["y"]).mean()
        self.log(f"{split}/rel_l2", rel, on_step=on_step, on_epoch=True, prog_bar=split != "train", batch_size=size, sync_dist=True)
        return loss

