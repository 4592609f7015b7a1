"""Weights & Biases set-up: offline by default, one directory per run, the resolved config logged."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import yaml
from pytorch_lightning.cli import SaveConfigCallback
from pytorch_lightning.loggers import WandbLogger

__all__ = ["SaveRunConfig", "configure_wandb_defaults", "run_directory", "wandb_logged_in"]


def wandb_logged_in() -> bool:
    """True when an API key is available (``WANDB_API_KEY`` or a ``~/.netrc`` entry for W&B)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def configure_wandb_defaults() -> str:
    """Make runs offline unless the user chose a mode or logged in; returns the mode in force.

    Offline runs are written under ``runs/wandb/`` and can be uploaded later with ``wandb sync``.
    ``WANDB_MODE=disabled`` turns W&B off entirely.
    """
    if "WANDB_MODE" not in os.environ and not wandb_logged_in():
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    return os.environ.get("WANDB_MODE", "online")


def run_directory(trainer: pl.Trainer) -> Path:
    """The directory of this run's files: the W&B run's ``files`` folder, else the trainer's log dir."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            directory = getattr(logger.experiment, "dir", None)
            if directory:
                return Path(directory)
    return Path(trainer.log_dir or trainer.default_root_dir)


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
