"""Unsupervised training of a neural multigrid preconditioner on random scenes.

Every step builds the V-cycle of each scene of the batch with the network's current stencils
(``NeuralMultigrid.preconditioner(A, differentiable=True)``), runs ``steps`` preconditioned CG
iterations on ``probes`` random right-hand sides and lowers the mean log relative residual
(`neuralsolvers.train.preconditioner.losses.pcg_residual_loss`): no solutions are needed, and the
loss is what CG with the cycle achieves. Validation solves the validation scenes (``data.val``) with
plain ``cg`` to ``val_rtol``,
at the training size and at the larger size of ``data.large``, and logs the iteration counts of the
neural multigrid and of the classical geometric multigrid with the same cycle (``val/iterations``,
``val/gmg_iterations``, ``val/iterations_large``, ``val/gmg_iterations_large``). Checkpoints carry
the record ``neuralsolvers.load_preconditioner`` reads.
"""

from __future__ import annotations

from typing import Any

import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from neuralsolvers.data_gen.diffusion_scenes import scene_stencil
from neuralsolvers.errors import ConfigError
from neuralsolvers.models.neural_multigrid import NeuralMultigrid
from neuralsolvers.solvers.krylov.conjugate_gradient import SolverResult, cg
from neuralsolvers.solvers.multigrid.geometric import GeometricMultigrid
from neuralsolvers.solvers.stencils import DiffusionStencil
from neuralsolvers.train.base import NetworkModule
from neuralsolvers.train.preconditioner.losses import pcg_residual_loss
from neuralsolvers.train.preconditioner.scene_data import SceneDataModule
from neuralsolvers.train.preconditioner.validation import ValidationSolves

__all__ = ["NEURAL_MULTIGRID_RECORD", "NeuralMultigridModule"]

NEURAL_MULTIGRID_RECORD = {"kind": "neural_multigrid", "solver": "cg", "linear": True, "spd": True}


class NeuralMultigridModule(ValidationSolves, NetworkModule):
    """Train a [`NeuralMultigrid`][neuralsolvers.models.neural_multigrid.NeuralMultigrid] on a [`SceneDataModule`][neuralsolvers.train.preconditioner.scene_data.SceneDataModule].

    Args:
        model: the network.
        optimizer: optimizer factory.
        scheduler: learning-rate scheduler factory, stepped every optimizer step.
        steps: preconditioned CG steps of the loss.
        probes: random right-hand sides per scene and step.
        val_rtol: relative true residual of the validation solves.
        val_maxiter: iteration cap of the validation solves.
    """

    classical_method, classical_metric = "gmg", "gmg_iterations"

    def __init__(
        self,
        model: NeuralMultigrid,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        steps: int = 6,
        probes: int = 4,
        val_rtol: float = 1e-6,
        val_maxiter: int = 200,
    ):
        super().__init__(model, optimizer, scheduler)
        if not isinstance(model, NeuralMultigrid):
            raise ConfigError(f"NeuralMultigridModule trains a NeuralMultigrid, got {type(model).__name__}")
        if steps < 1 or probes < 1 or not 0 < val_rtol < 1 or val_maxiter < 1:
            raise ValueError(f"need steps, probes, val_maxiter ≥ 1 and 0 < val_rtol < 1; got {steps}, {probes}, {val_maxiter}, {val_rtol}")
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler"])
        self._classical: dict[tuple[str, int], int] = {}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also record that the network is a multigrid cycle, for ``neuralsolvers.load_preconditioner``."""
        super().on_save_checkpoint(checkpoint)
        checkpoint["neuralsolvers_preconditioner"] = dict(NEURAL_MULTIGRID_RECORD)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if not isinstance(datamodule, SceneDataModule):
            raise ConfigError("NeuralMultigridModule trains on a SceneDataModule (data.class_path: neuralsolvers.train.SceneDataModule)")
        datamodule.setup(stage)
        dim = datamodule.splits["train"].arrays["mask"].ndim - 1
        if dim != self.model.dim:
            raise ConfigError(f"the model is {self.model.dim}D but the scenes of data.train are {dim}D")

    def _operator(self, scene: dict[str, torch.Tensor]) -> DiffusionStencil:
        return scene_stencil(scene["mask"], scene["coefficient"], scene["walls"].tolist(), torch.float32, self.device)

    def _loss(self, scenes: list[dict[str, torch.Tensor]], seed: int | None = None) -> torch.Tensor:
        """The mean loss over ``scenes``; right-hand sides from ``seed`` when given (the same at every validation)."""
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        losses = []
        for scene in scenes:
            A = self._operator(scene)
            M = self.model.preconditioner(A, differentiable=True)
            fluid = A.mask.reshape(-1, 1).to(torch.float32)
            b = torch.randn(A.shape[0], self.hparams.probes, generator=generator).to(self.device) * fluid
            losses.append(pcg_residual_loss(A.matmat, M.apply, b, self.hparams.steps))
        return torch.stack(losses).mean()

    def training_step(self, batch: list[dict[str, torch.Tensor]], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch), sync_dist=True)
        return loss

    def validation_step(self, batch: list[dict[str, torch.Tensor]], batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch, seed=batch_idx), on_epoch=True, prog_bar=True, batch_size=len(batch), sync_dist=True)

    def test_step(self, batch: list[dict[str, torch.Tensor]], batch_idx: int) -> None:
        self.log("test/loss", self._loss(batch, seed=batch_idx), on_epoch=True, batch_size=len(batch), sync_dist=True)

    def solve(self, split: str, index: int, method: str = "neural_multigrid") -> SolverResult:
        """PCG on scene ``index`` of ``split`` (``val`` or ``large``), float64, with the neural
        multigrid or (``method="gmg"``) the classical geometric multigrid."""
        dataset = self.trainer.datamodule.splits[split]
        A = dataset.operator(index, torch.float64, self.device)
        b = dataset.rhs(index).to(self.device)
        with torch.no_grad():
            if method == "gmg":
                M = GeometricMultigrid(A, options=self.model.cycle)
            else:
                M = self.model.preconditioner(A)
            return cg(A, b, M=M, rtol=self.hparams.val_rtol, maxiter=self.hparams.val_maxiter)

    def on_validation_epoch_end(self) -> None:
        self._log_solves("val")

    def on_test_epoch_end(self) -> None:
        self._log_solves("test")

    def draw_figure(self, split: str) -> Figure | None:
        """Relative true residual against iteration on the first validation scene of each size
        (``data.val``, ``data.large``): neural against classical geometric multigrid."""
        splits = self.trainer.datamodule.splits
        return self._residual_figure(
            lambda name: "×".join(map(str, splits[name].arrays["mask"].shape[1:])),
            (("neural_multigrid", "-", "neural MG"), ("gmg", ":", "GMG")),
            "Neural against geometric multigrid PCG on validation scene 0 (data.val, data.large)",
        )
