"""Data modules that read the HDF5 datasets written by ``neuralsolvers generate``.

Batches are dicts: ``x`` (inputs), ``y`` (targets) and, for models that take query points (DeepONet),
``points``. Whole datasets are held in memory and batches are sliced from them directly (no
per-sample collation), which is what keeps small operator-learning runs fast on a CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

from neuralsolvers.data_gen.darcy import subsample
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.train.base import SplitLoaders
from neuralsolvers.train.sampling import EpochBatches, EpochOrder, ResumableDataLoader

__all__ = ["OperatorDataModule", "TensorBatches"]


class TensorBatches(Dataset):
    """Index with a list of sample indices, get the batch dict.

    Args:
        x: inputs ``(N, ...)``; y: targets ``(N, P)`` or ``(N, ...)``.
        points: query points ``(P, d)`` shared by all samples, or ``None``.
        points_per_sample: if set, each sample of a batch gets its own random subset of that many
            query points (aligned DeepONet form); ``x`` → ``(B, m)``, ``points`` → ``(B, k, d)``.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        points: torch.Tensor | None = None,
        points_per_sample: int | None = None,
        seed: int = 0,
    ):
        self.x, self.y, self.points = x, y, points
        self.points_per_sample = points_per_sample
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(indices)
        batch = {"x": self.x[index], "y": self.y[index]}
        if self.points is None:
            return batch
        if self.points_per_sample is None:
            batch["points"] = self.points
            return batch
        chosen = torch.randint(len(self.points), (len(index), self.points_per_sample), generator=self.generator)
        batch["points"] = self.points[chosen]
        batch["y"] = torch.gather(batch["y"], 1, chosen)
        return batch


class OperatorDataModule(SplitLoaders, pl.LightningDataModule):
    """Supervised operator-learning data: input functions and target functions.

    Args:
        train: dataset directory of the training split (e.g. ``data/antiderivative/train``).
        test: dataset directory of the test split.
        val: dataset directory of the validation split; if ``None`` the last ``val_fraction`` of the
            training set is held out.
        input_key: name of the input array in the dataset (e.g. ``u``), or a list of names of fields
            stacked as channels (e.g. ``[a, f]`` → ``(N, 2, s, s)``; the target gets a channel axis).
        target_key: name of the target array (e.g. ``s``).
        points_key: name of the shared query-point array, or ``None`` for grid models.
        generator: the generator name the datasets must come from (checked).
        expect: generator parameters the datasets must have been generated with (checked).
        num_train: use only the first ``num_train`` training samples.
        batch_size: samples per batch.
        val_fraction: fraction held out for validation when ``val`` is not given.
        points_per_sample: random query points per sample per batch (aligned form) instead of all.
        seed: seed of the shuffling and point sampling.
        stride: keep the nodes ``[::stride, ::stride]`` of 2D node-grid fields ``(N, s, s)`` (an exact
            coarser grid when ``stride`` divides ``s − 1``: Darcy 241 → 121, 61, 49, 41, ...).
        flatten_grid: for point-based models (DeepONet) on 2D fields: inputs and targets become
            ``(N, s²)`` and the points the ``(s², 2)`` node coordinates (from the dataset's shared
            ``grid`` axis when it has one, else equispaced on [0, 1]).
    """

    def __init__(
        self,
        train: str,
        test: str | None = None,
        val: str | None = None,
        input_key: str | list[str] = "u",
        target_key: str = "s",
        points_key: str | None = "points",
        generator: str | None = None,
        expect: dict[str, Any] | None = None,
        num_train: int | None = None,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        points_per_sample: int | None = None,
        seed: int = 0,
        stride: int = 1,
        flatten_grid: bool = False,
    ):
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size must be positive, got {batch_size}")
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must lie in (0, 1), got {val_fraction}")
        self.save_hyperparameters()
        self.splits: dict[str, TensorBatches] = {}
        self.points: torch.Tensor | None = None

    def _read(self, directory: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        hp = self.hparams
        dataset = ShardedDataset(Path(directory), expect=hp.expect, generator=hp.generator)
        keys = [hp.input_key] if isinstance(hp.input_key, str) else list(hp.input_key)
        arrays = dataset.load([*keys, hp.target_key])
        y = arrays[hp.target_key]
        if isinstance(hp.input_key, str):
            x = arrays[hp.input_key]
        else:
            x, y = np.stack([arrays[key] for key in keys], axis=1), y[:, None]
        if hp.stride != 1:
            try:
                x, y = subsample(x, hp.stride), subsample(y, hp.stride)
            except ValueError as error:
                raise ConfigError(f"data.stride: {directory}: {error}") from None
        if hp.flatten_grid:
            axis = dataset.shared["grid"][:: hp.stride] if "grid" in dataset.shared else np.linspace(0.0, 1.0, x.shape[-1])
            grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
            return _tensor(x.reshape(len(x), -1)), _tensor(y.reshape(len(y), -1)), _tensor(grid)
        points = None
        if hp.points_key is not None:
            if hp.points_key not in dataset.shared:
                raise ConfigError(f"{directory}: no shared array {hp.points_key!r} (data.points_key)")
            points = _tensor(dataset.shared[hp.points_key])
        return _tensor(x), _tensor(y), points

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if stage in (None, "fit", "validate") and "train" not in self.splits:
            x, y, self.points = self._read(hp.train)
            if hp.num_train is not None:
                x, y = x[: hp.num_train], y[: hp.num_train]
            if hp.val is not None:
                xv, yv, _ = self._read(hp.val)
            else:
                num_val = max(1, int(round(hp.val_fraction * len(x))))
                if num_val >= len(x):
                    raise ConfigError(f"{hp.train}: {len(x)} samples are too few to hold out a validation set")
                x, xv, y, yv = x[:-num_val], x[-num_val:], y[:-num_val], y[-num_val:]
            self.splits["train"] = TensorBatches(x, y, self.points, hp.points_per_sample, hp.seed)
            self.splits["val"] = TensorBatches(xv, yv, self.points)
        if stage in (None, "test") and "test" not in self.splits:
            if hp.test is None:
                raise ConfigError("data.test is not set: give the test split's dataset directory")
            x, y, self.points = self._read(hp.test)
            self.splits["test"] = TensorBatches(x, y, self.points)

    def train_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The training inputs, targets and points (for fitting normalization statistics)."""
        train = self.splits["train"]
        return train.x, train.y, self.points

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.splits[split]
        if shuffle:  # training: resumable mid-epoch
            batches = EpochBatches(EpochOrder(len(dataset), self.hparams.seed), self.hparams.batch_size)
            return ResumableDataLoader(dataset, sampler=batches, batch_size=None)
        return DataLoader(dataset, sampler=BatchSampler(SequentialSampler(dataset), self.hparams.batch_size, drop_last=False), batch_size=None)


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
