"""Resumable shuffling of training data.

The order of every epoch is a function of the seed and the epoch alone (``EpochOrder``), and a
training loader (``ResumableLoading``) saves its position within the epoch in every checkpoint
through Lightning's ``state_dict``/``load_state_dict`` interface of data loaders. A fit resumed from a
checkpoint written mid-epoch (SIGTERM, a validation inside the epoch) then sees exactly the batches the
interrupted fit had left, so it ends with the same weights (``LoaderPosition`` makes Lightning
apply the saved position). Under DDP Lightning wraps the sampler for the processes; the position is
then not kept (the resumed epoch starts over).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler

__all__ = ["EpochBatches", "EpochOrder", "LoaderPosition", "ResumableDataLoader", "ResumableLoading", "split_loader"]


class EpochOrder(Sampler[int]):
    """Indices ``0 … size − 1`` in the order of epoch ``epoch`` (a permutation drawn from ``(seed,
    epoch)``; Lightning calls ``set_epoch``), starting after the first ``skip`` of them."""

    def __init__(self, size: int, seed: int = 0):
        self.size, self.seed, self.epoch, self.skip = int(size), int(seed), 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        start, self.skip = self.skip, 0
        yield from torch.randperm(self.size, generator=generator)[start:].tolist()


class EpochBatches(BatchSampler):
    """Batches of an ``EpochOrder``, passing Lightning's ``set_epoch`` on to it."""

    def __init__(self, order: EpochOrder, batch_size: int):
        super().__init__(order, batch_size, drop_last=False)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)


class ResumableLoading:
    """Mixin for a sized ``DataLoader`` whose indices come from an ``EpochOrder`` (as its sampler,
    or as ``EpochBatches`` given as the sampler): counts the batches handed out in the epoch and
    restarts after the saved count. Lightning fetches a sized loader without looking ahead, so the
    batches handed out when it saves are the batches trained.
    """

    _handed_out = 0
    _resume_at = 0

    def _order(self) -> tuple[EpochOrder, int] | None:
        """The ``EpochOrder`` and the batch size, or None (e.g. replaced by Lightning for DDP)."""
        sampler, batch_sampler = getattr(self, "sampler", None), getattr(self, "batch_sampler", None)
        if isinstance(sampler, EpochBatches):
            return sampler.sampler, sampler.batch_size
        if isinstance(sampler, EpochOrder) and batch_sampler is not None:
            return sampler, batch_sampler.batch_size
        return None

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        start, self._resume_at = self._resume_at, 0
        if order is not None:
            order[0].skip = start * order[1]
        self._handed_out = start if order is not None else 0
        for batch in super().__iter__():  # type: ignore[misc]
            self._handed_out += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        """``epoch`` and the ``batches`` trained in it (the next epoch at 0 once all were)."""
        order = self._order()
        if order is None:
            return {}
        if self._handed_out >= len(self):  # type: ignore[arg-type]
            return {"epoch": order[0].epoch + 1, "batches": 0}
        return {"epoch": order[0].epoch, "batches": self._handed_out}

    def load_state_dict(self, state: dict[str, int]) -> None:
        order = self._order()
        if order is not None and state:
            order[0].set_epoch(state["epoch"])
            self._resume_at = int(state["batches"])


class ResumableDataLoader(ResumableLoading, DataLoader):
    """torch's ``DataLoader`` with ``ResumableLoading``."""


class LoaderPosition(pl.Callback):
    """Apply the training loader's saved position when a fit resumes.

    Lightning applies loader states when it builds the training loader, but a learning-rate schedule
    that asks for the number of steps (``trainer.estimated_stepping_batches``) makes it build the
    loader before the checkpoint's loop states are read, and the saved position is then never
    applied. At the start of training the states are known and no batch has been drawn yet (a sized
    loader is iterated lazily), so they are applied here, by Lightning's own method.
    """

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        apply = getattr(trainer.fit_loop, "_load_combined_loader_states", None)
        if callable(apply):
            apply()


def split_loader(dataset: Dataset, batch_size: int, seed: int, shuffle: bool, collate_fn: Callable[[list], Any] | None = None) -> DataLoader:
    """A loader of one split: with ``shuffle`` (training) a ``ResumableDataLoader`` in the
    ``EpochOrder`` of ``seed``, resumable mid-epoch; otherwise a plain loader in the stored order."""
    if shuffle:
        return ResumableDataLoader(dataset, batch_size=batch_size, sampler=EpochOrder(len(dataset), seed), collate_fn=collate_fn)
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate_fn)
