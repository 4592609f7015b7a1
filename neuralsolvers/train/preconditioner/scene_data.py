"""Scenes for the unsupervised training of a neural multigrid (`LearnedPreconditionerModule`): a
``diffusion_scenes`` data set per split.

Training batches are scenes (mask, coefficient, walls); the loss draws its own random right-hand
sides, so no solution is needed. Validation scenes come at the training size (``val``) and, to watch
the iteration count as the grid grows, at a larger size (``large``).
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from neuralsolvers.data_gen.diffusion_scenes import load_scenes, scene_operator, scene_stencil
from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers.stencils import DiffusionStencil
from neuralsolvers.train.base import SplitLoaders
from neuralsolvers.train.sampling import split_loader

__all__ = ["SceneDataModule", "SceneDataset"]


class SceneDataset(Dataset):
    """The scenes of a ``diffusion_scenes`` split: item ``i`` is ``{"mask", "coefficient", "walls"}``."""

    def __init__(self, directory: str, count: int | None = None):
        self.arrays = load_scenes(directory, count)
        self.directory = directory

    def __len__(self) -> int:
        return len(self.arrays["mask"])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "mask": torch.as_tensor(self.arrays["mask"][index].astype(bool)),
            "coefficient": torch.as_tensor(self.arrays["coefficient"][index].astype(np.float32)),
            "walls": torch.as_tensor(self.arrays["walls"][index].astype(bool)),
        }

    def operator(self, index: int, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> DiffusionStencil:
        """Scene ``index``'s matrix-free operator."""
        return scene_operator(self.arrays, index, dtype, device)

    def rhs(self, index: int) -> torch.Tensor:
        """Scene ``index``'s stored right-hand side, flattened ``(n,)`` float64."""
        return torch.as_tensor(self.arrays["b"][index].astype(np.float64)).reshape(-1)

    def item_operator(self, item: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> DiffusionStencil:
        """The matrix-free operator of a batch item (a scene of this data set)."""
        return scene_stencil(item["mask"], item["coefficient"], item["walls"].tolist(), dtype, device)

    def label(self, index: int) -> str:
        """Scene ``index``'s grid, for figures: ``64×64``."""
        return "×".join(map(str, self.arrays["mask"].shape[1:]))


def _scenes(batch: list[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    """Scenes are kept as a list (each builds its own hierarchy)."""
    return batch


class SceneDataModule(SplitLoaders, pl.LightningDataModule):
    """Training and validation scenes of ``diffusion_scenes`` data sets.

    Args:
        train: directory of the training split (e.g. ``data/diffusion_scenes_2d_64/train``).
        val: directory of validation scenes at the training size.
        large: directory of validation scenes at a larger size (e.g. 4× per axis), or None.
        num_train: use only the first ``num_train`` training scenes.
        num_val: validation scenes used from ``val`` and from ``large``.
        batch_size: scenes per optimizer step.
        seed: seed of the shuffling.

    Batches: a list of ``batch_size`` scenes, each ``{"mask", "coefficient", "walls"}``.
    """

    def __init__(
        self,
        train: str,
        val: str,
        large: str | None = None,
        num_train: int | None = None,
        num_val: int = 4,
        batch_size: int = 2,
        seed: int = 0,
    ):
        super().__init__()
        if batch_size < 1 or num_val < 1:
            raise ConfigError(f"data.batch_size and data.num_val must be positive, got {batch_size}, {num_val}")
        self.save_hyperparameters()
        self.splits: dict[str, SceneDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if self.splits:
            return
        self.splits = {"train": SceneDataset(hp.train, hp.num_train), "val": SceneDataset(hp.val, hp.num_val)}
        if hp.large is not None:
            self.splits["large"] = SceneDataset(hp.large, hp.num_val)
        dims = {split: dataset.arrays["mask"].ndim - 1 for split, dataset in self.splits.items()}
        if len(set(dims.values())) != 1:
            raise ConfigError(f"data: the scene sets differ in dimension ({dims})")

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return split_loader(self.splits[split], self.hparams.batch_size, self.hparams.seed, shuffle, collate_fn=_scenes)

    def test_dataloader(self) -> DataLoader:
        """The validation scenes again (a preconditioner's test is its solves)."""
        return self._loader("val", shuffle=False)
