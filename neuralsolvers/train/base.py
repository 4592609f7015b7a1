"""What every training module and data module here shares."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.utils.data import DataLoader, Subset

from neuralsolvers.checkpoints import CHECKSUM_KEY, weights_checksum
from neuralsolvers.errors import ConfigError
from neuralsolvers.models.registry import model_spec
from neuralsolvers.train.sampling import EpochOrder, ResumableDataLoader
from neuralsolvers.train.schedules import optimizer_and_schedule

__all__ = ["NetworkModule", "SplitLoaders", "SplitSteps"]


class NetworkModule(pl.LightningModule):
    """A LightningModule around one registered network: its optimizer and schedule from the config's
    factories, and its name and constructor arguments in every checkpoint (so
    ``neuralsolvers.load`` rebuilds it without Lightning) beside the SHA-256 of the weights (so a
    damaged file is refused on reading)."""

    def __init__(self, model: nn.Module, optimizer: OptimizerCallable = torch.optim.Adam, scheduler: LRSchedulerCallable | None = None):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler

    def configure_optimizers(self) -> Any:
        return optimizer_and_schedule(self, self.optimizer_factory, self.scheduler_factory)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["neuralsolvers_model"] = model_spec(self.model)
        if "state_dict" in checkpoint:  # always, from Lightning
            checkpoint[CHECKSUM_KEY] = weights_checksum(checkpoint["state_dict"])


class SplitSteps:
    """``training_step``, ``validation_step`` and ``test_step`` of a module whose one
    ``_step(batch, split)`` computes and logs the loss of any split (returned for training)."""

    def _step(self, batch: Any, split: str) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "test")


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


class HeldOutSplits(SplitLoaders):
    """``setup`` and loaders of a data module whose splits are dataset directories (``hparams``:
    ``train``, ``val``, ``test``, ``num_train``, ``val_fraction``, ``batch_size``, ``seed``): the
    first ``num_train`` training samples, ``val`` or else the last ``val_fraction`` of them held out,
    ``test`` on demand; training batches shuffled from ``seed``. Subclasses give ``_read(directory)``
    (any indexable dataset) and may set ``loader_class`` (e.g. PyG's ``DataLoader``) with
    ``resumable_loader_class`` (it with ``ResumableLoading``)."""

    loader_class: type = DataLoader
    resumable_loader_class: type = ResumableDataLoader  # the same with ResumableLoading
    splits: dict[str, Any]
    hparams: Any

    def _read(self, directory: str) -> Any:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if stage in (None, "fit", "validate") and "train" not in self.splits:
            train = self._read(hp.train)
            count = len(train) if hp.num_train is None else min(hp.num_train, len(train))
            if hp.val is not None:
                self.splits["val"] = self._read(hp.val)
            else:
                held = max(1, round(hp.val_fraction * count))
                if held >= count:
                    raise ConfigError(f"{hp.train}: {count} samples are too few to hold out a validation set")
                self.splits["val"] = Subset(train, range(count - held, count))
                count -= held
            self.splits["train"] = Subset(train, range(count))
        if stage in (None, "test") and "test" not in self.splits:
            if hp.test is None:
                raise ConfigError("data.test is not set: give the test split's dataset directory")
            self.splits["test"] = self._read(hp.test)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.splits[split]
        if shuffle:  # training: resumable mid-epoch
            return self.resumable_loader_class(dataset, batch_size=self.hparams.batch_size, sampler=EpochOrder(len(dataset), self.hparams.seed))
        return self.loader_class(dataset, batch_size=self.hparams.batch_size)
