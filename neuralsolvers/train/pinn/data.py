"""Data of physics-informed training: a step counter for training, the reference solution for evaluation.

Training draws its own collocation points (``PINNModule``), so the
training loader only counts ``steps_per_epoch`` steps, or, with ``measurements``, hands the same
measurement set (``points`` ``(M, d)``, ``values`` ``(M,)`` or ``(M, C)``) to every step for the data
term. Validation and test use one batch: the reference grid ``points`` ``(N, d)``, values ``u``
``(N,)`` or ``(N, C)`` and the grid ``shape``, read from a generator's dataset (``neuralsolvers
generate --config configs/data/<problem>_reference.yaml``) and checked against the training
module's problem (generator name and parameters), or else the problem's exact solution on a
``resolution``-point-per-axis grid.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.physics.pinn_problems import PDEProblem

__all__ = ["PINNDataModule"]


class PINNDataModule(pl.LightningDataModule):
    """Step counter and reference solution for ``PINNModule``.

    Args:
        reference: a reference split directory (e.g. ``data/helmholtz_reference/reference``);
            None: the problem's exact solution.
        field: the reference array compared with the network (``u``).
        steps_per_epoch: optimizer steps per epoch (validation runs after each epoch unless
            ``trainer.val_check_interval`` says otherwise).
        resolution: points per axis of the exact-solution grid when ``reference`` is None.
        measurements: a dataset with ``measurement_points`` (shared, or its one sample's) and the
            array ``measured_field`` (``(1, M)`` or ``(1, M, C)``), checked against the problem like
            the reference; None: no data term.
    """

    def __init__(
        self,
        reference: str | None = None,
        field: str = "u",
        steps_per_epoch: int = 1000,
        resolution: int = 101,
        measurements: str | None = None,
        measured_field: str = "measured",
    ):
        super().__init__()
        if steps_per_epoch < 1 or resolution < 2:
            raise ConfigError(f"data.steps_per_epoch must be ≥ 1 and resolution ≥ 2, got {steps_per_epoch}, {resolution}")
        self.save_hyperparameters()
        self.reference: dict[str, torch.Tensor] | None = None
        self.measured: dict[str, torch.Tensor] | None = None
        self.grid_shape: tuple[int, ...] = ()

    def setup(self, stage: str | None = None) -> None:
        if self.reference is not None:
            return
        problem = self.trainer.lightning_module.problem
        hp = self.hparams
        if hp.reference is None:
            axes = [np.linspace(lo, hi, hp.resolution) for lo, hi in zip(problem.low, problem.high, strict=True)]
            mesh = np.meshgrid(*axes)  # first coordinate fastest, as in the generators' references
            points = torch.from_numpy(np.stack([m.ravel() for m in mesh], axis=1)).float()
            values = problem.exact(points)
            if values is None:
                raise ConfigError(f"{type(problem).__name__} has no exact solution: give data.reference")
            self.grid_shape = tuple(len(a) for a in reversed(axes))
        else:
            dataset = self._dataset(hp.reference, problem)
            points = torch.from_numpy(dataset.shared["points"]).float()
            field = dataset.load([hp.field])[hp.field][0]
            values = torch.from_numpy(field.reshape(len(points), -1)).float().squeeze(1)  # (N,) or (N, C)
            self.grid_shape = tuple(field.shape[: field.ndim - (values.dim() - 1)])
        self.reference = {"points": points, "u": values.float(), "shape": torch.tensor(self.grid_shape)}
        if hp.measurements is not None:
            dataset = self._dataset(hp.measurements, problem)
            if "measurement_points" in dataset.shared:
                where = dataset.shared["measurement_points"]
            elif "measurement_points" in dataset.metadata["shapes"]:
                where = dataset.load(["measurement_points"])["measurement_points"][0]
            else:
                raise ConfigError(f"{hp.measurements}: the dataset has no measurement_points")
            measured = dataset.load([hp.measured_field])[hp.measured_field][0]
            self.measured = {"points": torch.from_numpy(where).float(), "values": torch.from_numpy(measured).float()}

    @staticmethod
    def _dataset(path: str, problem: PDEProblem) -> ShardedDataset:
        if problem.reference_generator is None:
            raise ConfigError(f"{type(problem).__name__} has no reference generator: leave data.reference unset")
        return ShardedDataset(path, expect=problem.reference_parameters(), generator=problem.reference_generator)

    def train_dataloader(self) -> DataLoader:
        if self.measured is not None:
            return DataLoader([self.measured] * self.hparams.steps_per_epoch, batch_size=None)
        return DataLoader(torch.arange(self.hparams.steps_per_epoch), batch_size=1)

    def _reference_loader(self) -> DataLoader:
        return DataLoader([self.reference], batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return self._reference_loader()

    def test_dataloader(self) -> DataLoader:
        return self._reference_loader()
