"""Callbacks every training run gets: stop on a non-finite loss, prediction figures, LR logging, the
training clock."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from pytorch_lightning.callbacks import LearningRateMonitor
from pytorch_lightning.utilities.exceptions import SIGTERMException

from neuralsolvers.errors import NeuralSolversError
from neuralsolvers.plotting import plot_predictions
from neuralsolvers.train.tracking import run_directory

__all__ = ["LatestCheckpoint", "LearningRateLog", "NonFiniteLossStop", "PredictionFigure", "TrainingClock", "TrainingDiverged"]


class TrainingDiverged(NeuralSolversError):
    """The training loss became NaN or infinite."""


class NonFiniteLossStop(pl.Callback):
    """Stop training with a clear message when the training loss is NaN or infinite."""

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training loss is {value} at epoch {trainer.current_epoch}, step {trainer.global_step}: "
                "lower the learning rate or check the data for NaN/Inf"
            )


class LatestCheckpoint(pl.Callback):
    """``last.ckpt`` beside the best checkpoint after every validation, at the end of training and when
    the run is stopped by SIGTERM or Ctrl-C: the latest state, to resume from (``--ckpt_path last``) and
    to evaluate. Lightning ≥ 2.6 rewrites its
    own ``last.ckpt`` only when the monitored metric improves, which leaves it equal to the best one."""

    def _save(self, trainer: pl.Trainer) -> None:
        checkpoint = trainer.checkpoint_callback
        if checkpoint is None or checkpoint.dirpath is None or trainer.sanity_checking or trainer.fast_dev_run:
            return
        trainer.save_checkpoint(Path(checkpoint.dirpath) / "last.ckpt", weights_only=False)  # full state: resumable

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._save(trainer)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        """Killed politely (SIGTERM from a scheduler, Ctrl-C): keep the exact state, mid-epoch included.
        Other exceptions (a diverged loss) leave the last good ``last.ckpt`` alone."""
        if isinstance(exception, SIGTERMException | KeyboardInterrupt) and trainer.state.fn == "fit":
            self._save(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)


class LearningRateLog(LearningRateMonitor):
    """``LearningRateMonitor`` that stays quiet (instead of failing) when the run has no logger."""

    def on_train_start(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if trainer.loggers:
            super().on_train_start(trainer, *args, **kwargs)

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if trainer.loggers:
            super().on_train_batch_start(trainer, *args, **kwargs)

    def on_train_epoch_start(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if trainer.loggers:
            super().on_train_epoch_start(trainer, *args, **kwargs)


class PredictionFigure(pl.Callback):
    """After fit (validation data) and test (test data): a figure of prediction against truth, or
    the module's own figure when it has ``draw_figure(split) -> Figure | None``.

    Saved as PNG in the run directory and logged to W&B as an image.

    Args:
        num_samples: samples drawn in the figure.
    """

    def __init__(self, num_samples: int = 4):
        self.num_samples = num_samples

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._draw(trainer, pl_module, "val")

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._draw(trainer, pl_module, "test")

    def _draw(self, trainer: pl.Trainer, pl_module: pl.LightningModule, split: str) -> None:
        datamodule = trainer.datamodule
        if not trainer.is_global_zero or datamodule is None or self.num_samples < 1:
            return
        if hasattr(pl_module, "draw_figure"):  # a module with its own picture of how it does
            self._save(trainer, pl_module.draw_figure(split), f"{split}/figure", f"figure_{split}.png")
            return
        loader = getattr(datamodule, f"{split}_dataloader")()
        batch = next(iter(loader))
        batch = {key: value.to(pl_module.device) for key, value in batch.items()}
        n = min(self.num_samples, len(batch["x"]))
        with torch.no_grad():
            prediction = pl_module(batch["x"][:n], batch.get("points"))
        points = batch.get("points")
        figure = plot_predictions(
            batch["y"][:n].cpu().numpy(),
            prediction.cpu().numpy(),
            None if points is None or points.dim() != 2 else points.cpu().numpy(),
            title=f"{type(pl_module.model).__name__}: {split} samples",
        )
        self._save(trainer, figure, f"{split}/predictions", f"predictions_{split}.png")

    @staticmethod
    def _save(trainer: pl.Trainer, figure: Figure | None, key: str, filename: str) -> None:
        """Save ``figure`` in the run directory and log it to W&B under ``key``."""
        if figure is None:
            return
        path = Path(run_directory(trainer)) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(key=key, images=[str(path)])
        plt.close(figure)


class TrainingClock(pl.Callback):
    """Wall time spent in ``fit``, summed over resumed runs, written into every checkpoint.

    ``checkpoint["training_time"] = {"seconds", "device", "num_devices", "steps"}``: what the
    evaluations read to charge a learned method its training cost (device-hours = seconds ×
    num_devices / 3600) and to say after how many solves it pays for itself.
    """

    def __init__(self) -> None:
        self.seconds, self.started = 0.0, None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds, self.started = self._elapsed(), None

    def _elapsed(self) -> float:
        return self.seconds + (time.perf_counter() - self.started if self.started is not None else 0.0)

    def state_dict(self) -> dict[str, float]:
        return {"seconds": self._elapsed()}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        self.seconds = float(state_dict.get("seconds", 0.0))

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        device = pl_module.device
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        checkpoint["training_time"] = {"seconds": self._elapsed(), "device": name, "num_devices": trainer.num_devices, "steps": trainer.global_step}
