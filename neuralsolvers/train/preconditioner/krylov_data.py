"""DCDM's training data: Krylov-vector right-hand sides of one scene, held-out systems for validation.

The training set is a ``krylov_vectors`` dataset (``neuralsolvers generate --config
configs/data/krylov_vectors_2d.yaml``): right-hand sides ``b`` ``(N, *grid)`` with ‖b‖ = 1 and the
fluid mask of the one scene whose operator made them. That operator is rebuilt matrix-free from the
dataset's own parameters (grid, walls) and mask, so the loss needs no stored matrix. Validation
solves run on held-out scenes of a ``poisson_obstacles`` dataset (``systems``), unseen in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from neuralsolvers.data_gen.poisson import PoissonObstacles, PoissonSystem, load_systems
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers.stencils import DiffusionStencil
from neuralsolvers.train.base import SplitLoaders
from neuralsolvers.train.sampling import split_loader

__all__ = ["KrylovDataModule"]


class KrylovDataModule(SplitLoaders, pl.LightningDataModule):
    """Right-hand sides for DCDM's unsupervised loss, and validation systems for solve counts.

    Args:
        train: directory of a ``krylov_vectors`` dataset split (e.g. ``data/krylov_vectors_2d_64/train``).
        systems: directory of a ``poisson_obstacles`` split whose first ``num_systems`` systems are
            solved with DCDM at every validation (their iteration counts are logged), or None.
        num_systems: validation systems.
        expect: generator parameters the Krylov dataset must have been made with (checked).
        num_train: use only the first ``num_train`` right-hand sides.
        batch_size: right-hand sides per batch (the paper: 10).
        val_fraction: fraction of the right-hand sides held out for the validation (and test) loss.
        seed: seed of the shuffling.

    Batches: ``{"b": (B, *grid)}`` float32.
    """

    def __init__(
        self,
        train: str,
        systems: str | None = None,
        num_systems: int = 4,
        expect: dict[str, Any] | None = None,
        num_train: int | None = None,
        batch_size: int = 10,
        val_fraction: float = 0.05,
        seed: int = 0,
    ):
        super().__init__()
        if batch_size < 1 or num_systems < 0:
            raise ConfigError(f"data.batch_size must be positive and data.num_systems non-negative, got {batch_size}, {num_systems}")
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must lie in (0, 1), got {val_fraction}")
        self.save_hyperparameters()
        self.splits: dict[str, TensorDataset] = {}
        self.scene: PoissonObstacles | None = None
        self.mask: torch.Tensor | None = None
        self.systems: list[PoissonSystem] = []

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if self.splits:
            return
        dataset = ShardedDataset(hp.train, expect=hp.expect, generator="krylov_vectors")
        parameters = dataset.metadata["parameters"]
        self.scene = PoissonObstacles(grid=parameters["grid"], walls=parameters["walls"], solve=False)
        self.mask = torch.as_tensor(dataset.shared["mask"].astype(bool))
        b = torch.from_numpy(dataset.load(["b"])["b"][: hp.num_train].astype(np.float32))
        num_val = max(1, int(round(hp.val_fraction * len(b))))
        if num_val >= len(b):
            raise ConfigError(f"{hp.train}: {len(b)} right-hand sides are too few to hold out a validation set")
        self.splits = {"train": TensorDataset(b[:-num_val]), "val": TensorDataset(b[-num_val:])}
        if hp.systems is not None and hp.num_systems > 0:
            self.systems = load_systems(hp.systems, hp.num_systems)
            if self.systems[0].mask.dim() != self.mask.dim():
                raise ConfigError(f"data.systems: {hp.systems} holds {self.systems[0].mask.dim()}D scenes, the training data is {self.mask.dim()}D")

    def training_operator(self, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> DiffusionStencil:
        """The matrix-free operator the training right-hand sides were made with."""
        if self.scene is None or self.mask is None:
            raise RuntimeError("call setup() first")
        return self.scene.operator(self.mask.numpy(), dtype=dtype, device=device)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return split_loader(self.splits[split], self.hparams.batch_size, self.hparams.seed, shuffle)

    def test_dataloader(self) -> DataLoader:
        """The held-out right-hand sides again (the test of a preconditioner is its solves)."""
        return self._loader("val", shuffle=False)
