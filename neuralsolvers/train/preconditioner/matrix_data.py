"""Sparse matrices for the unsupervised training of a learned preconditioner: a padded-CSR data set
(``fe_diffusion``, ``fe_elasticity``, or any store of the same arrays) or a ``pore_network`` graph
store (each network's Laplacian grounded at its inlet and outlet pores, `load_graph_systems`) per split.

Training batches are systems ``{"A", "b", "index"}`` of any sizes (with ``"near_nullspace"`` where
the store has rigid-body modes, as ``fe_elasticity``'s); the loss draws its own random right-hand
sides, so no solution is needed. Validation systems come at the training size (``val``) and, to
watch the iteration count as the systems grow, at a larger size (``large``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import scipy.sparse as sp
import torch
from torch.utils.data import DataLoader, Dataset

from neuralsolvers.data_gen.finite_elements import SYSTEM_KEYS, load_systems
from neuralsolvers.data_gen.graphs import load_graph_systems
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers.operators import scipy_to_torch_csr
from neuralsolvers.train.base import SplitLoaders
from neuralsolvers.train.sampling import split_loader

__all__ = ["NEAR_NULLSPACE_KEY", "SYSTEM_READERS", "MatrixDataModule", "MatrixDataset"]

NEAR_NULLSPACE_KEY = "rigid_body_modes"  # the stored array (N, max_n, k) that items carry as "near_nullspace"
# the generators whose stores hold no padded CSR (SYSTEM_KEYS), and their (A, b) readers; every other store is read as padded CSR
SYSTEM_READERS = {"pore_network": load_graph_systems}


class MatrixDataset(Dataset):
    """The systems of a data set split (``data/<name>/<split>``): padded CSR (``fe_diffusion``,
    ``fe_elasticity``, any store of those arrays) or ``pore_network``'s grounded graph Laplacians
    (`neuralsolvers.data_gen.graphs.load_graph_systems`), chosen by the store's generator; a store
    of another generator is one ``ConfigError``. Item ``i`` is ``{"A": (n, n) torch sparse CSR
    float64, "b": (n,) float64, "index": i}``, ``n`` per system, and also ``"near_nullspace": (n, k) float64`` where the store holds
    ``rigid_body_modes`` (``fe_elasticity``: smoothed aggregation's ``B``).

    Args:
        directory: the split's directory.
        count: use only the first ``count`` systems.
    """

    def __init__(self, directory: str | Path, count: int | None = None):
        self.directory = str(directory)
        store = ShardedDataset(directory)
        generator = store.metadata["generator"]
        if generator not in SYSTEM_READERS and not set(SYSTEM_KEYS) <= store.metadata["shapes"].keys():
            raise ConfigError(f"{directory}: a store of generator {generator!r} holds no sparse systems; MatrixDataset reads those of "
                              f"fe_diffusion, fe_elasticity, pyamg_examples, {', '.join(sorted(SYSTEM_READERS))} (or any store of the padded-CSR "
                              f"arrays {', '.join(SYSTEM_KEYS)})")  # fmt: skip
        self.systems = SYSTEM_READERS.get(generator, load_systems)(directory, count)
        self._items = [{"A": scipy_to_torch_csr(A), "b": torch.as_tensor(b, dtype=torch.float64), "index": index}
                       for index, (A, b) in enumerate(self.systems)]  # fmt: skip
        if NEAR_NULLSPACE_KEY in store.metadata["shapes"]:
            modes = store.load([NEAR_NULLSPACE_KEY])[NEAR_NULLSPACE_KEY]
            for item, padded, (A, _) in zip(self._items, modes[: len(self.systems)], self.systems, strict=True):
                item["near_nullspace"] = torch.tensor(padded[: A.shape[0]], dtype=torch.float64)

    def __len__(self) -> int:
        return len(self.systems)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return dict(self._items[index])

    def matrix(self, index: int) -> sp.csr_matrix:
        """System ``index``'s matrix, SciPy CSR float64."""
        return self.systems[index][0]

    def rhs(self, index: int) -> torch.Tensor:
        """System ``index``'s stored right-hand side, ``(n,)`` float64."""
        return self._items[index]["b"]

    def sizes(self) -> np.ndarray:
        """The number of unknowns of every system."""
        return np.array([A.shape[0] for A, _ in self.systems], dtype=np.int64)

    def item_operator(self, item: dict[str, Any], dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
        """The matrix of a batch item (one of this data set's items), torch sparse CSR in ``dtype`` on ``device``."""
        return item["A"].to(device=device, dtype=dtype)

    def operator(self, index: int, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
        """System ``index``'s matrix, torch sparse CSR in ``dtype`` on ``device``."""
        return self.item_operator(self._items[index], dtype, device)

    def label(self, index: int) -> str:
        """System ``index``'s size, for figures: ``n=<unknowns>``."""
        return f"n={self.systems[index][0].shape[0]}"


def _systems(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Systems are kept as a list (their sizes differ; each builds its own preconditioner)."""
    return batch


class MatrixDataModule(SplitLoaders, pl.LightningDataModule):
    """Training and validation systems of padded-CSR data sets (e.g. ``fe_diffusion``) or of
    ``pore_network`` graph stores (see `MatrixDataset`).

    Args:
        train: directory of the training split (e.g. ``data/fe_diffusion_2d/train``).
        val: directory of validation systems at the training size.
        large: directory of validation systems of a larger size (a finer mesh), or None.
        num_train: use only the first ``num_train`` training systems.
        num_val: validation systems used from ``val`` and from ``large``.
        batch_size: systems per optimizer step.
        seed: seed of the shuffling.

    Batches: a list of ``batch_size`` systems, each ``{"A", "b", "index"}`` (and ``"near_nullspace"``
    from a store with rigid-body modes; see `MatrixDataset`).
    """

    def __init__(
        self,
        train: str,
        val: str,
        large: str | None = None,
        num_train: int | None = None,
        num_val: int = 4,
        batch_size: int = 4,
        seed: int = 0,
    ):
        super().__init__()
        if batch_size < 1 or num_val < 1 or (num_train is not None and num_train < 1):
            raise ConfigError(f"data.batch_size, data.num_val and data.num_train must be positive, got {batch_size}, {num_val}, {num_train}")
        self.save_hyperparameters()
        self.splits: dict[str, MatrixDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if self.splits:
            return
        self.splits = {"train": MatrixDataset(hp.train, hp.num_train), "val": MatrixDataset(hp.val, hp.num_val)}
        if hp.large is not None:
            self.splits["large"] = MatrixDataset(hp.large, hp.num_val)
        empty = [split for split, dataset in self.splits.items() if len(dataset) == 0]
        if empty:
            raise ConfigError(f"data: no systems in {', '.join(f'data.{split}' for split in empty)}")

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return split_loader(self.splits[split], self.hparams.batch_size, self.hparams.seed, shuffle, collate_fn=_systems)

    def test_dataloader(self) -> DataLoader:
        """The validation systems again (a preconditioner's test is its solves)."""
        return self._loader("val", shuffle=False)
