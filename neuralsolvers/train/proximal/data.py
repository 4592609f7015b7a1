"""Clean/measured pairs for learned proximal networks, from ``laplace_toy`` or ``image_patches`` datasets.

Batches are ``(measured, clean)``: signals ``(B, n)`` (``laplace_toy``: arrays ``y``, ``x``) or
images ``(B, 1, p, p)`` (``image_patches``: ``measured``, ``clean``). With ``noise_sigma`` set the
stored measurements are replaced by ``clean + σ n`` (a denoiser at any noise level from any
``image_patches`` data): new noise for every training batch (the LPN paper's training: unlimited noise
draws), noise drawn once from ``seed`` for validation and test.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset, TensorDataset

from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.train.base import HeldOutSplits

__all__ = ["ProximalDataModule"]

FIELDS = {"laplace_toy": ("y", "x"), "image_patches": ("measured", "clean")}


class ProximalDataModule(HeldOutSplits, pl.LightningDataModule):
    """Training pairs for a proximal network.

    Args:
        train: training split directory; test: test split directory or None; val: validation split
            directory, or None to hold out the last ``val_fraction`` of ``train``.
        expect: generator parameters the data must have been made with (checked).
        num_train: use only the first ``num_train`` training samples.
        batch_size: samples per batch.
        val_fraction: held-out fraction when ``val`` is None.
        noise_sigma: denoising pairs ``clean + σ n`` at this σ instead of the stored measurements
            (``image_patches`` data only).
        seed: shuffling seed, and the seed of the validation/test noise.
    """

    def __init__(
        self,
        train: str,
        test: str | None = None,
        val: str | None = None,
        expect: dict[str, Any] | None = None,
        num_train: int | None = None,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        noise_sigma: float | None = None,
        seed: int = 0,
    ):
        super().__init__()
        if noise_sigma is not None and not noise_sigma > 0:
            raise ConfigError(f"data.noise_sigma must be positive, got {noise_sigma}")
        if batch_size < 1 or not 0 < val_fraction < 1:
            raise ConfigError(f"data.batch_size must be positive and data.val_fraction in (0, 1), got {batch_size}, {val_fraction}")
        self.save_hyperparameters()
        self.splits: dict[str, Dataset] = {}
        self.parameters: dict[str, Any] = {}

    def _read(self, directory: str) -> TensorDataset:
        dataset = ShardedDataset(directory, expect=self.hparams.expect)
        generator = dataset.metadata["generator"]
        if generator not in FIELDS:
            raise ConfigError(f"{directory}: made by {generator!r}; proximal training reads {sorted(FIELDS)} data")
        self.generator, self.parameters = generator, dataset.metadata["parameters"]
        sigma = self.hparams.noise_sigma
        if sigma is not None and generator != "image_patches":
            raise ConfigError(f"{directory}: data.noise_sigma needs image_patches data (it noises the clean images)")
        measured_key, clean_key = FIELDS[generator]
        arrays = dataset.load([measured_key, clean_key])
        measured, clean = torch.from_numpy(arrays[measured_key]).float(), torch.from_numpy(arrays[clean_key]).float()
        if generator == "image_patches":
            measured, clean = measured[:, None], clean[:, None]
        if sigma is not None:
            noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(self.hparams.seed))
            measured = clean + sigma * noise
        return TensorDataset(measured, clean)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.hparams.noise_sigma is not None and self.trainer is not None and self.trainer.training:
            measured, clean = batch
            return clean + self.hparams.noise_sigma * torch.randn_like(clean), clean
        return batch
