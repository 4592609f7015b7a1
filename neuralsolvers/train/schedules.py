"""Learning-rate schedules that know the run length only once the trainer does."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["WarmupCosineLR", "optimizer_and_schedule"]


def optimizer_and_schedule(
    module: pl.LightningModule, optimizer: Callable[..., Optimizer], scheduler: Callable[[Optimizer], Any] | None
) -> Any:
    """``configure_optimizers``' return value: the optimizer of the module's parameters and, if
    given, its scheduler stepped every optimizer step (``total_steps: None`` filled in from the trainer)."""
    built = optimizer(module.parameters())
    if scheduler is None:
        return built
    schedule = scheduler(built)
    if getattr(schedule, "total_steps", 0) is None:
        schedule.total_steps = int(module.trainer.estimated_stepping_batches)
    return {"optimizer": built, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class WarmupCosineLR(LambdaLR):
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` times the base rate.

    Stepped once per optimizer step. ``total_steps=None`` lets the training module fill in the
    trainer's estimated number of steps (``trainer.estimated_stepping_batches``).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int = 0,
        total_steps: int | None = None,
        min_lr_ratio: float = 0.0,
    ):
        if warmup_steps < 0 or not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError("WarmupCosineLR needs warmup_steps >= 0 and 0 <= min_lr_ratio <= 1")
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        super().__init__(optimizer, self._factor)

    def _factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        total = self.total_steps or 1
        progress = min(1.0, (step - self.warmup_steps) / max(1, total - self.warmup_steps))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
