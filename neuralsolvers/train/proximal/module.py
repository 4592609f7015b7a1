"""Training learned proximal networks: ℓ2, ℓ1 or proximal matching with LPN's γ schedule.

``loss: prox_matching`` runs the paper's schedule (``MatchingSchedule``): ℓ1 for
``pretrain_steps`` (at ``pretrain_lr`` if given), then ``1 − exp(−(‖f(y) − x‖/γ)²)`` with γ stepped
down in ``num_stages`` equal stages over the remaining steps, ``γ = γ_min · 2^(stages−1−stage)``,
``γ_min = gamma_min`` or ``0.08 √n`` (``n`` entries per sample). ``l2`` and ``l1`` train the
posterior mean and median instead (the toy's contrast). After every optimizer step the network's
``project()`` restores its constraints (LPN: non-negative weights, so ``f`` stays a gradient of a
convex function). Logged: ``loss``, ``gamma``, ``psnr`` (data range ``psnr_range``), ``mse``, ``lr``;
the figure draws 1D proximal maps against the exact curves of the Laplace toy, or image triples.
LPN needs autograd at evaluation: configs set ``trainer.inference_mode: false``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from neuralsolvers.data_gen.imaging import laplace_map_prox, laplace_mmse, laplace_posterior_median
from neuralsolvers.errors import ConfigError
from neuralsolvers.train.base import NetworkModule, SplitSteps
from neuralsolvers.train.proximal.losses import proximal_matching_loss

__all__ = ["LOSSES", "MatchingSchedule", "ProximalModule", "psnr"]

LOSSES = ("prox_matching", "l2", "l1")


def psnr(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean over samples of ``10 log10(range² / MSE)`` in dB, ``(B, ...)`` inputs."""
    mse = (prediction - target).flatten(1).square().mean(1).clamp_min(1e-20)
    return (10 * torch.log10(data_range**2 / mse)).mean()


@dataclass
class MatchingSchedule:
    """ℓ1 warm-up for ``pretrain_steps``, then proximal matching at ``gammas[0] > gammas[1] > …``,
    each for an equal share of the remaining steps (the last one to the end)."""

    pretrain_steps: int
    gammas: list[float]

    def at(self, step: int, total_steps: int) -> tuple[str, float | None]:
        """The loss (``l1`` or ``prox_matching``) and γ at optimizer step ``step`` of ``total_steps``."""
        if step < self.pretrain_steps:
            return "l1", None
        per_stage = max(1, (total_steps - self.pretrain_steps) // len(self.gammas))
        stage = min((step - self.pretrain_steps) // per_stage, len(self.gammas) - 1)
        return "prox_matching", self.gammas[stage]


class ProximalModule(SplitSteps, NetworkModule):
    """Train a denoiser ``f(y) ≈ x`` on ``(measured, clean)`` batches; with LPN it is a proximal operator.

    Args:
        model: the network (``LPN``, or an unconstrained one for contrast).
        optimizer: factories, as in the other modules.
        scheduler: see `optimizer`.
        loss: ``prox_matching``, ``l2`` or ``l1``.
        pretrain_steps: ℓ1 warm-up steps before proximal matching (the paper: half the run).
        pretrain_lr: learning rate during the warm-up, then the optimizer's own once (a scheduler acts
            from there: MultiStepLR scales the current rate); None: no switch.
        gamma_min: final γ; None: ``0.08 √n``.
        num_stages: γ stages, halving from ``2^(stages−1) γ_min`` to ``γ_min``.
        gammas: explicit decreasing γ stages instead of ``gamma_min``/``num_stages``.
        psnr_range: data range of the PSNR (1 for images in [0, 1]).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        loss: str = "prox_matching",
        pretrain_steps: int = 0,
        pretrain_lr: float | None = None,
        gamma_min: float | None = None,
        num_stages: int = 4,
        gammas: list[float] | None = None,
        psnr_range: float = 1.0,
    ):
        super().__init__(model, optimizer, scheduler)
        if loss not in LOSSES:
            raise ConfigError(f"model.loss must be one of {LOSSES}, got {loss!r}")
        if pretrain_steps < 0 or num_stages < 1 or (gamma_min is not None and gamma_min <= 0):
            raise ConfigError("model.pretrain_steps must be ≥ 0, num_stages ≥ 1 and gamma_min > 0")
        if gammas is not None and (not gammas or min(gammas) <= 0 or sorted(gammas, reverse=True) != list(gammas)):
            raise ConfigError(f"model.gammas must be positive and decreasing, got {gammas}")
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler"])
        self.schedule: MatchingSchedule | None = None
        self.base_lrs: list[float] = []
        self.total_steps: int | None = None

    def _matching_schedule(self, sample: torch.Tensor) -> MatchingSchedule:
        hp = self.hparams
        if hp.gammas is not None:
            return MatchingSchedule(hp.pretrain_steps, list(hp.gammas))
        gamma_min = hp.gamma_min if hp.gamma_min is not None else 0.08 * math.sqrt(sample[0].numel())
        return MatchingSchedule(hp.pretrain_steps, [gamma_min * 2 ** (hp.num_stages - 1 - k) for k in range(hp.num_stages)])

    def _loss(self, prediction: torch.Tensor, target: torch.Tensor, step: int | None) -> tuple[torch.Tensor, float | None]:
        """The loss at ``step`` (None: the final stage, for validation) and its γ."""
        name, gamma = self.hparams.loss, None
        if name == "prox_matching":
            if self.schedule is None:
                self.schedule = self._matching_schedule(target)
            total = self.total_steps or 1
            name, gamma = self.schedule.at(total if step is None else step, total)
        if name == "prox_matching":
            return proximal_matching_loss(prediction, target, gamma), gamma
        if name == "l1":
            return (prediction - target).abs().mean(), gamma
        return (prediction - target).square().mean(), gamma

    def on_train_start(self) -> None:
        self.base_lrs = [group["lr"] for group in self.optimizers().param_groups]
        self.total_steps = int(self.trainer.estimated_stepping_batches)

    def on_train_batch_start(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        if self.hparams.pretrain_lr is None or self.global_step > self.hparams.pretrain_steps:
            return
        warm = self.global_step < self.hparams.pretrain_steps
        for group, base in zip(self.optimizers().param_groups, self.base_lrs, strict=True):
            group["lr"] = self.hparams.pretrain_lr if warm else base

    def optimizer_step(self, *args, **kwargs) -> None:
        super().optimizer_step(*args, **kwargs)
        project = getattr(self.model, "project", None)
        if project is not None:
            project()

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        measured, clean = batch
        prediction = self.model(measured)
        loss, gamma = self._loss(prediction, clean, self.global_step if split == "train" else None)
        size = len(clean)
        self.log(f"{split}/loss", loss, on_step=split == "train", on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True)
        with torch.no_grad():
            self.log(f"{split}/psnr", psnr(prediction, clean, self.hparams.psnr_range), on_epoch=True, batch_size=size, sync_dist=True)
            self.log(f"{split}/mse", (prediction - clean).square().mean(), on_epoch=True, batch_size=size, sync_dist=True)
        if gamma is not None:
            self.log(f"{split}/gamma", gamma, on_epoch=True, batch_size=size, sync_dist=True)
        if split == "train":
            self.log("train/lr", self.optimizers().param_groups[0]["lr"], on_step=True, batch_size=size)
        return loss

    def draw_figure(self, split: str) -> Figure | None:
        """1D data: ``f`` on [−3, 3] against the toy's MAP (soft threshold), mean and median. Images:
        measured, clean and denoised for the first samples of ``split``."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or split not in getattr(datamodule, "splits", {}):
            return None
        dataset = datamodule.splits[split]
        measured, clean = (torch.stack(column) for column in zip(*(dataset[i] for i in range(min(4, len(dataset)))), strict=True))
        if measured.dim() == 2 and measured.shape[1] == 1:
            return self._toy_figure(datamodule.parameters)
        shown = measured.to(self.device)
        with torch.no_grad():
            denoised = self.model(shown).cpu()
        figure, axes = plt.subplots(3, len(shown), figsize=(2.2 * len(shown), 6.6), squeeze=False)
        for column in range(len(shown)):
            for row, (title, image) in enumerate((("measured", shown[column].cpu()), ("clean", clean[column]), ("network", denoised[column]))):
                axes[row, column].imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
                axes[row, column].set_axis_off()
                axes[row, column].set_title(title, fontsize=8)
        figure.tight_layout()
        return figure

    def _toy_figure(self, parameters: dict) -> Figure:
        b, sigma = float(parameters.get("b", 1.0)), float(parameters.get("noise_sigma", 1.0))
        y = torch.linspace(-3, 3, 601)
        with torch.no_grad():
            learned = self.model(y[:, None].to(self.device)).cpu()[:, 0].numpy()
        grid = y.numpy()
        figure, axis = plt.subplots(figsize=(5, 4.5))
        axis.plot(grid, learned, "k", lw=2, label=f"network ({self.hparams.loss})")
        for label, curve in (("MAP = soft threshold", laplace_map_prox), ("posterior mean", laplace_mmse), ("posterior median", laplace_posterior_median)):
            axis.plot(grid, curve(grid, b, sigma), "--", label=label)
        error = float(np.abs(learned - laplace_map_prox(grid, b, sigma)).max())
        axis.set_title(f"max |f − soft threshold| on [−3, 3]: {error:.3f}", fontsize=9)
        axis.set_xlabel("y")
        axis.set_ylabel("f(y)")
        axis.legend(fontsize=8)
        figure.tight_layout()
        return figure
