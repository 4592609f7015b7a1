"""Weights & Biases set-up: offline by default, one directory per run, the resolved config logged, and
the same W&B run continued when a fit resumes from a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import yaml
from pytorch_lightning.cli import SaveConfigCallback
from pytorch_lightning.loggers import WandbLogger

__all__ = ["WANDB_RUN_KEY", "SaveRunConfig", "WandbRunId", "resumed_run_id", "run_directory"]

WANDB_RUN_KEY = "wandb_run_id"


def run_directory(trainer: pl.Trainer) -> Path:
    """The directory of this run's files: the W&B run's ``files`` folder, else the first logger's
    directory, else the trainer's root directory. Called by the first process alone, so it asks no
    collective question (``Trainer.log_dir`` is a broadcast: asked on one process of a DDP run, it hangs)."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            directory = getattr(logger.experiment, "dir", None)
            if directory:
                return Path(directory)
    first = trainer.loggers[0] if trainer.loggers else None
    directory = getattr(first, "log_dir", None) or getattr(first, "save_dir", None)
    return Path(directory or trainer.default_root_dir)


class SaveRunConfig(SaveConfigCallback):
    """Save the resolved config as ``config.yaml`` in the run's own directory and log it to W&B.

    Each run has its own directory, so a second run never collides with the first one's file.
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.already_saved:
            return
        if trainer.is_global_zero:
            directory = run_directory(trainer)
            directory.mkdir(parents=True, exist_ok=True)
            self.parser.save(self.config, directory / self.config_filename, skip_none=False, overwrite=True)
            self.save_config(trainer, pl_module, stage)
        self.already_saved = True

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        config: dict[str, Any] = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config})


class WandbRunId(pl.Callback):
    """Writes the W&B run's id into every checkpoint (``checkpoint["wandb_run_id"]``), so that a fit
    resumed from it continues that run instead of starting a second one (see :func:`resumed_run_id`)."""

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                checkpoint[WANDB_RUN_KEY] = logger.experiment.id


def resumed_run_id(checkpoint: Path | None) -> str | None:
    """The W&B run id stored in the checkpoint a fit resumes from, or None (no checkpoint, none there
    yet, or one written without W&B)."""
    from neuralsolvers.checkpoints import read_checkpoint

    return read_checkpoint(checkpoint).get(WANDB_RUN_KEY) if checkpoint is not None and checkpoint.is_file() else None
