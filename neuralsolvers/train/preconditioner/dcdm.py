"""Unsupervised learning of a preconditioner: the deep conjugate-direction method's training.

The network ``f`` maps a right-hand side ``b`` to a direction ``f(b) ≈ c·A⁻¹b``; the loss
``‖b − α A f(b)‖²`` with the exact step ``α = f(b)ᵀb / f(b)ᵀA f(b)``
([dcdm_loss][neuralsolvers.train.preconditioner.losses.dcdm_loss]) needs no solutions and ignores the
scale of ``f``. ``A`` is the matrix-free stencil of the training scene on the module's device.
Inputs are scaled to unit RMS and outputs zeroed on obstacle cells, exactly as
``neuralsolvers.solvers.dcdm_preconditioner`` does inside the solver, so the trained network sees in
the solver what it saw in training. Each validation also solves the validation systems (the data
module's ``systems``, scenes unseen in training) with the DCDM iteration and logs the iteration
counts (``val/dcdm_iterations``); after fit, the residual histories of those solves (DCDM against
CG) are drawn and logged. Checkpoints record the wrapping
(``neuralsolvers.solvers.learned.dcdm_solver.dcdm_wrapping``), which
``neuralsolvers.load_preconditioner`` reads.

``PreconditionerModule``, the module's old name, is kept for one release (with a
``DeprecationWarning``): old configs and checkpoints that name
``neuralsolvers.train.PreconditionerModule`` still load.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from neuralsolvers.data_gen.poisson import PoissonSystem
from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers.krylov.conjugate_gradient import SolverResult, cg
from neuralsolvers.solvers.learned.dcdm_solver import dcdm, dcdm_preconditioner, dcdm_wrapping
from neuralsolvers.train.base import NetworkModule
from neuralsolvers.train.preconditioner.losses import dcdm_loss

__all__ = ["DCDMModule"]


class DCDMModule(NetworkModule):
    """Train a DCDM network on Krylov-vector right-hand sides (a ``KrylovDataModule``).

    Args:
        model: the network (``DCDMNet``; ``in_channels = 2`` also gives it the fluid mask).
        optimizer: optimizer factory (the paper: Adam, lr 1e-4).
        scheduler: learning-rate scheduler factory, stepped every optimizer step.
        val_rtol: relative true residual the validation solves stop at.
        val_maxiter: iteration cap of the validation solves.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        val_rtol: float = 1e-6,
        val_maxiter: int = 100,
    ):
        super().__init__(model, optimizer, scheduler)
        if not 0 < val_rtol < 1 or val_maxiter < 1:
            raise ValueError(f"val_rtol must lie in (0, 1) and val_maxiter be positive, got {val_rtol}, {val_maxiter}")
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler"])
        self.operator: Any = None
        self.mask: torch.Tensor | None = None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also record how the network is wrapped in the solver, for ``neuralsolvers.load_preconditioner``."""
        super().on_save_checkpoint(checkpoint)
        checkpoint["neuralsolvers_preconditioner"] = dcdm_wrapping(self.model).record()

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if not hasattr(datamodule, "training_operator"):
            raise ConfigError("DCDMModule trains on a KrylovDataModule (data.class_path: neuralsolvers.train.KrylovDataModule)")
        datamodule.setup(stage)

    def _scene(self) -> tuple[Any, torch.Tensor]:
        """The training operator (float32) and fluid mask on the module's device, built once."""
        if self.operator is None or self.operator.device != self.device:
            datamodule = self.trainer.datamodule
            self.operator = datamodule.training_operator(torch.float32, self.device)
            self.mask = datamodule.mask.to(self.device, torch.float32)
        return self.operator, self.mask

    def directions(self, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``f(b)`` for fields ``b`` ``(B, *grid)`` and the fluid mask ``grid`` → ``(B, *grid)``."""
        n = math.prod(b.shape[1:])
        rms = b.flatten(1).norm(dim=1) / math.sqrt(n)
        fields = (b / rms.clamp_min(1e-30).reshape(-1, *([1] * (b.dim() - 1))))[:, None]
        if getattr(self.model, "in_channels", 1) == 2:
            fields = torch.cat([mask.expand_as(fields), fields], dim=1)
        return self.model(fields)[:, 0] * mask

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        """Directions on the training scene, ``(B, *grid)`` → ``(B, *grid)``."""
        return self.directions(b, self._scene()[1])

    def _loss(self, b: torch.Tensor) -> torch.Tensor:
        operator, mask = self._scene()
        direction = self.directions(b, mask).flatten(1)
        return dcdm_loss(direction, b.flatten(1), lambda v: operator.matmat(v.T).T)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch[0])
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch[0]), sync_dist=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch[0]), on_epoch=True, prog_bar=True, batch_size=len(batch[0]), sync_dist=True)

    def test_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("test/loss", self._loss(batch[0]), on_epoch=True, batch_size=len(batch[0]), sync_dist=True)

    def solve(self, system: PoissonSystem, method: str = "dcdm") -> SolverResult:
        """Solve one validation system on the module's device with ``dcdm`` or plain ``cg`` to ``val_rtol``."""
        system = system.to(self.device)
        if method == "cg":
            return cg(system.operator, system.b, rtol=self.hparams.val_rtol, maxiter=20 * self.hparams.val_maxiter)
        direction = dcdm_preconditioner(self.model, system.mask, device=self.device)
        return dcdm(system.operator, system.b, M=direction, rtol=self.hparams.val_rtol, maxiter=self.hparams.val_maxiter)

    def on_validation_epoch_end(self) -> None:
        self._log_solves("val")

    def on_test_epoch_end(self) -> None:
        self._log_solves("test")

    def _log_solves(self, split: str) -> None:
        """Mean DCDM iterations and fraction converged over the validation systems."""
        systems = self._systems()
        if not systems or self.trainer.sanity_checking:
            return
        results = [self.solve(system) for system in systems]
        iterations = torch.tensor([float(r.iterations) for r in results])
        self.log(f"{split}/dcdm_iterations", iterations.mean(), prog_bar=True, sync_dist=True)
        self.log(f"{split}/dcdm_converged", torch.tensor([float(r.converged) for r in results]).mean(), sync_dist=True)

    def _systems(self) -> list[PoissonSystem]:
        """The datamodule's validation systems, on the module's device."""
        datamodule = getattr(self.trainer, "datamodule", None)
        datamodule.systems = [system.to(self.device) for system in getattr(datamodule, "systems", [])]
        return datamodule.systems

    def draw_figure(self, split: str) -> Figure | None:
        """Relative true residual against iteration on the validation systems: DCDM and CG."""
        systems = self._systems()
        if not systems:
            return None
        figure, axis = plt.subplots(figsize=(6, 4))
        for index, system in enumerate(systems):
            for method, style in (("dcdm", "-"), ("cg", ":")):
                history = self.solve(system, method).residuals.cpu().numpy()
                axis.semilogy(history, style, color=f"C{index}", label=f"system {index}: {method.upper()}")
        axis.axhline(self.hparams.val_rtol, color="k", lw=0.5)
        axis.set_xlabel("iteration")
        axis.set_ylabel("relative residual ‖b − Ax‖ / ‖b‖")
        axis.set_title(f"{type(self.model).__name__} in DCDM vs CG on the {len(systems)} validation systems (data.systems)")
        axis.legend(fontsize=7, ncol=2)
        figure.tight_layout()
        return figure


def __getattr__(name: str) -> Any:
    """``PreconditionerModule``: ``DCDMModule``'s old name, for one release."""
    if name != "PreconditionerModule":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn("neuralsolvers.train.PreconditionerModule is deprecated: use neuralsolvers.train.DCDMModule", DeprecationWarning, stacklevel=2)
    return DCDMModule
