"""Weights & Biases set-up: offline by default, one directory per run, the resolved config logged,
every logged metric also in the run's ``metrics.csv``, and the same W&B run continued when a fit
resumes from a checkpoint."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import yaml
from pytorch_lightning.cli import SaveConfigCallback
from pytorch_lightning.loggers import CSVLogger, WandbLogger

__all__ = ["METRICS_FILE", "WANDB_RUN_KEY", "MetricsCSV", "SaveRunConfig", "WandbRun", "WandbRunId", "run_directory"]

WANDB_RUN_KEY = "wandb_run_id"
METRICS_FILE = "metrics.csv"


class WandbRun(WandbLogger):
    """Lightning's ``WandbLogger`` (same arguments) without the ``anonymous`` setting it always hands
    to ``wandb.init``, which W&B ≥ 0.19 answers with a deprecation warning on every run; with
    ``WANDB_MODE=disabled`` no checkpoint is staged as an artifact (it would never be uploaded)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if os.environ.get("WANDB_MODE") == "disabled":
            kwargs["log_model"] = False
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)


def run_directory(trainer: pl.Trainer) -> Path:
    """The directory of this run's files: the W&B run's ``files`` folder (with ``WANDB_MODE=disabled``,
    ``<save_dir>/disabled-run-<time>-<id>``, not W&B's temporary folder), else the first logger's
    directory, else the trainer's root directory. Called by the first process alone, so it asks no
    collective question (``Trainer.log_dir`` is a broadcast: asked on one process of a DDP run, it hangs)."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            directory = getattr(logger.experiment, "dir", None)
            if directory and getattr(logger.experiment, "disabled", False):
                return Path(logger.save_dir or ".") / f"disabled-{Path(directory).parent.name}"
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
    resumed from it continues that run instead of starting a second one (`NeuralSolversCLI` reads it)."""

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                checkpoint[WANDB_RUN_KEY] = logger.experiment.id


class MetricsCSV(pl.Callback):
    """Every metric the run logs, also appended to ``metrics.csv`` in the run's directory (beside
    ``config.yaml``): one row per value, columns ``step, epoch, name, value``; readable without W&B,
    e.g. ``pandas.read_csv(path).pivot_table(index="step", columns="name", values="value")``.

    The first process alone writes (it alone logs); a file already there is appended to, never
    overwritten. Nothing is written without a logger (``--trainer.logger=false``) or in a
    ``fast_dev_run``. The path is printed at the end of ``fit``.
    """

    def __init__(self) -> None:
        self.path: Path | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not trainer.is_global_zero or not trainer.loggers or trainer.fast_dev_run:
            return
        logger = trainer.loggers[0]
        if "log_metrics" in vars(logger):  # already tapped (a second stage on the same trainer)
            return
        path = run_directory(trainer) / METRICS_FILE
        if any(isinstance(other, CSVLogger) and Path(other.log_dir) / METRICS_FILE == path for other in trainer.loggers):
            return  # a CSV logger writes its own metrics.csv there (one column per metric)
        self.path = path
        log_metrics: Callable[..., None] = logger.log_metrics

        def log_and_append(metrics: Mapping[str, float], step: int | None = None) -> None:
            log_metrics(metrics, step)
            self._append(metrics, step, trainer.current_epoch)

        logger.log_metrics = log_and_append  # type: ignore[method-assign]

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for logger in trainer.loggers:
            vars(logger).pop("log_metrics", None)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.path is not None and self.path.is_file():
            shown = os.path.relpath(self.path) if self.path.resolve().is_relative_to(Path.cwd()) else self.path
            print(f"metrics: {shown}")

    def _append(self, metrics: Mapping[str, Any], step: int | None, epoch: int) -> None:
        assert self.path is not None
        numbers = {name: number for name, value in metrics.items() if (number := _number(value)) is not None}
        logged_epoch = numbers.pop("epoch", None)  # Lightning adds the epoch to the metrics it logs
        epoch = int(logged_epoch) if logged_epoch is not None and math.isfinite(logged_epoch) else epoch
        rows = [[step if step is not None else "", epoch, name, number] for name, number in numbers.items()]
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.is_file() or self.path.stat().st_size == 0
        with self.path.open("a", newline="") as file:
            writer = csv.writer(file)
            if new:
                writer.writerow(["step", "epoch", "name", "value"])
            writer.writerows(rows)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
