"""What every training module and data module here shares."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.utils.data import DataLoader

from neuralsolvers.models.registry import model_spec
from neuralsolvers.train.schedules import optimizer_and_schedule

__all__ = ["NetworkModule", "SplitLoaders"]


class NetworkModule(pl.LightningModule):
    """A LightningModule around one registered network: its optimizer and schedule from the config's
    factories, and its name and constructor arguments in every checkpoint (so
    ``neuralsolvers.load`` rebuilds it without Lightning)."""

    def __init__(self, model: nn.Module, optimizer: OptimizerCallable = torch.optim.Adam, scheduler: LRSchedulerCallable | None = None):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler

    def configure_optimizers(self) -> Any:
        return optimizer_and_schedule(self, self.optimizer_factory, self.scheduler_factory)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["neuralsolvers_model"] = model_spec(self.model)


class SplitLoaders:
    """``train/val/test_dataloader`` of a data module from its ``_loader(split, shuffle)``."""

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
