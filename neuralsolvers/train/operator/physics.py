"""Physics-informed operator learning with soft or hard constraints (PI-SC, PI-HC, PI-HC-MoE).

A neural operator maps the initial field of a diffusion–sorption problem to the space–time
solution on the data grid, trained from the physics alone (no solution data, as in Chalapathi et
al. 2024): the loss is ``DiffusionSorption1D.losses``
(PDE residual, initial, inflow and outflow misfits) of the predicted field. With ``constraint:
null`` the network's single output is the field (soft constraint); with a
``HardConstraint`` the network outputs ``N`` basis
functions and the constraint's least-squares solve per expert makes the field (``experts: 1`` is
one global hard constraint, ``experts > 1`` the mixture). The reference trajectories are used only
for the metrics: ``rel_l2`` (mean over samples of ‖u − u_ref‖ / ‖u_ref‖) and ``rel_l2_pooled``
(over the whole batch, the paper's metric). Also logged: every loss term, and for hard constraints
the LM iterations and the fraction of converged solves.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from neuralsolvers.errors import ConfigError
from neuralsolvers.physics.hard_constraint import HardConstraint
from neuralsolvers.physics.losses import relative_l2
from neuralsolvers.physics.sorption import DiffusionSorption1D
from neuralsolvers.train.base import NetworkModule, SplitSteps

__all__ = ["PhysicsOperatorModule"]

VALIDATION_SEED = 12345  # the hard constraint's point draws in validation and test (the same every time)


class PhysicsOperatorModule(SplitSteps, NetworkModule):
    """Train an operator ``u0 ↦ u(t, x)`` from the physics, with a soft or a hard constraint.

    Args:
        model: a grid network ``(S, 3, num_t, num_x) -> (S, N, num_t, num_x)`` (e.g.
            ``FNO`` with ``in_channels: 3``); ``N = 1`` without a constraint.
        physics: the PDE on the data grid.
        constraint: ``None`` (soft) or a ``HardConstraint``.
        optimizer: factories, as in the other modules.
        scheduler: see `optimizer`.
    """

    def __init__(
        self,
        model: nn.Module,
        physics: DiffusionSorption1D,
        constraint: HardConstraint | None = None,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
    ):
        super().__init__(model, optimizer, scheduler)
        self.physics, self.constraint = physics, constraint
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler", "physics", "constraint"])
        self._training_draws: torch.Tensor | None = None

    def forward(self, u0: torch.Tensor) -> torch.Tensor:
        """The field ``(S, num_t, num_x)`` from initial fields ``u0`` ``(S, num_x)``."""
        basis = self.model(self.physics.inputs(u0))
        if basis.dim() != 4 or basis.shape[0] != len(u0):
            raise ConfigError(f"the network must return (S, N, num_t, num_x), got {tuple(basis.shape)}")
        if self.constraint is None:
            if basis.shape[1] != 1:
                raise ConfigError(f"without a constraint the network must have one output channel, got {basis.shape[1]}")
            return basis[:, 0]
        return self.constraint(self.physics, basis.double(), u0.double()).to(u0.dtype)

    def _step(self, batch: dict[str, torch.Tensor], split: str) -> torch.Tensor:
        u0, reference = batch["x"], batch["y"]
        self.physics.check_shape(reference)
        u = self(u0)
        losses = self.physics.losses(u, u0)
        total = sum(losses.values())
        on_step, size = split == "train", len(u0)
        self.log(f"{split}/loss", total, on_step=on_step, on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True)
        for term, loss in losses.items():
            self.log(f"{split}/loss_{term}", loss, on_step=on_step, on_epoch=True, batch_size=size, sync_dist=True)
        with torch.no_grad():
            error = relative_l2(u.detach(), reference)
            pooled = (u.detach() - reference).norm() / reference.norm()
        self.log(f"{split}/rel_l2", error.mean(), on_step=on_step, on_epoch=True, prog_bar=not on_step, batch_size=size, sync_dist=True)
        self.log(f"{split}/rel_l2_pooled", pooled, on_step=on_step, on_epoch=True, batch_size=size, sync_dist=True)
        result = getattr(self.constraint, "last_result", None)
        if result is not None:
            self.log(f"{split}/lm_iterations", float(result.iterations), on_step=on_step, on_epoch=True, batch_size=size, sync_dist=True)
            self.log(f"{split}/lm_converged", result.converged.double().mean(), on_step=on_step, on_epoch=True, batch_size=size, sync_dist=True)
        return total

    def _fixed_draws(self) -> None:
        if self.constraint is not None:
            self._training_draws = self.constraint.generator.get_state()
            self.constraint.generator.manual_seed(VALIDATION_SEED)

    def _training_draws_back(self) -> None:
        if self.constraint is not None and self._training_draws is not None:
            self.constraint.generator.set_state(self._training_draws)

    def on_validation_epoch_start(self) -> None:
        self._fixed_draws()

    def on_validation_epoch_end(self) -> None:
        self._training_draws_back()

    def on_test_epoch_start(self) -> None:
        self._fixed_draws()

    def on_test_epoch_end(self) -> None:
        self._training_draws_back()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.constraint is not None:
            checkpoint["constraint_draws"] = self.constraint.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.constraint is not None and "constraint_draws" in checkpoint:
            self.constraint.load_state_dict(checkpoint["constraint_draws"])

    def draw_figure(self, split: str) -> Figure | None:
        """The first sample of ``split``: reference, prediction and error over (x, t), and profiles."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None:
            return None
        batch = next(iter(getattr(datamodule, f"{split}_dataloader")()))
        u0, reference = batch["x"][:1].to(self.device), batch["y"][:1]
        self._fixed_draws()
        with torch.no_grad():
            prediction = self(u0).cpu()
        self._training_draws_back()
        error = float(relative_l2(prediction, reference)[0])
        kind = "soft constraint" if self.constraint is None else f"hard constraint, {self.constraint.experts} expert(s)"
        extent = [0.0, 1.0, 0.0, self.physics.t_final]
        figure, axes = plt.subplots(1, 4, figsize=(18, 3.8))
        panels = (("reference", reference[0]), (kind, prediction[0]), (f"|error|, rel. L2 {error:.2e}", (prediction - reference)[0].abs()))
        for axis, (title, values) in zip(axes[:3], panels, strict=True):
            image = axis.imshow(values.numpy(), origin="lower", extent=extent, aspect="auto", cmap="jet")
            figure.colorbar(image, ax=axis)
            axis.set_xlabel("x")
            axis.set_ylabel("t (s)")
            axis.set_title(title, fontsize=9)
        x = torch.linspace(0.0, 1.0, reference.shape[-1])
        for row in (1, self.physics.num_t // 10, self.physics.num_t // 2, self.physics.num_t - 1):
            line = axes[3].plot(x, reference[0, row], label=f"t = {row * self.physics.dt:.0f} s")[0]
            axes[3].plot(x, prediction[0, row], "--", color=line.get_color())
        axes[3].set_xlabel("x")
        axes[3].set_title("reference (solid) and prediction (dashed)", fontsize=9)
        axes[3].legend(fontsize=7)
        figure.tight_layout()
        return figure
