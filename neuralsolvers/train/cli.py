"""LightningCLI of ``neuralsolvers fit | validate | test`` with the project's trainer defaults.

Every run gets: a W&B logger (offline unless logged in; the best checkpoint logged as an artifact),
ModelCheckpoint (best, configurable under ``checkpoint``), ``last.ckpt`` of the latest state after every
validation and at the end (:class:`LatestCheckpoint`), a learning-rate monitor, prediction
figures (``figures``), a stop on a non-finite loss, ``inference_mode: false`` and seed 0.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from neuralsolvers.errors import invalid_arguments
from neuralsolvers.train.callbacks import (
    LatestCheckpoint,
    LearningRateLog,
    NonFiniteLossStop,
    PredictionFigure,
    TrainingClock,
)
from neuralsolvers.train.tracking import SaveRunConfig, WandbRunId, resumed_run_id

__all__ = ["NeuralSolversCLI", "TRAINER_DEFAULTS"]

# errors are raised to the command's one-line handler; no prefix matching, so a typo is an error
STRICT_PARSER: dict[str, Any] = {"exit_on_error": False, "allow_abbrev": False}

TRAINER_DEFAULTS: dict[str, Any] = {
    "inference_mode": False,
    "logger": {
        "class_path": "pytorch_lightning.loggers.WandbLogger",
        "init_args": {"project": "neuralsolvers", "save_dir": "runs", "log_model": True},
    },
}


class _DropAdvertisement(logging.Filter):
    """Lightning logs an advertisement for another logger on every run; keep the output about the run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


class NeuralSolversCLI(LightningCLI):
    """``LightningCLI`` over any LightningModule / LightningDataModule given by class path."""

    def __init__(self, args: list[str] | None = None, run: bool = True):
        logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(_DropAdvertisement())
        # the command line is handed over as `args` by `neuralsolvers`, on purpose
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        super().__init__(
            model_class=pl.LightningModule,
            datamodule_class=pl.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=SaveRunConfig,
            trainer_defaults={**TRAINER_DEFAULTS, "callbacks": [NonFiniteLossStop(), LearningRateLog(), LatestCheckpoint(), TrainingClock(), WandbRunId()]},
            seed_everything_default=0,
            parser_kwargs={**STRICT_PARSER, **{command: STRICT_PARSER for command in self.subcommands()}},
            auto_configure_optimizers=False,
            args=args,
            run=run,
        )

    def before_instantiate_classes(self) -> None:
        """``--ckpt_path`` loads tensors and plain data only (``weights_only`` unless set explicitly);
        a fit resumed from a checkpoint written with W&B continues that W&B run (same id, resumed)."""
        config = self.config[self.subcommand]
        if "weights_only" in config and config.get("weights_only") is None:
            config["weights_only"] = True
        if self.subcommand != "fit":
            return
        logger = config["trainer"]["logger"]
        run_id = resumed_run_id(config.get("ckpt_path"), config["checkpoint"]["dirpath"])
        if run_id and getattr(logger, "class_path", "").endswith("WandbLogger"):
            logger.init_args["id"] = run_id
            logger.init_args["resume"] = "allow"

    def instantiate_classes(self) -> None:
        """Build model, data and trainer; a constructor's rejection becomes a ``ConfigError``."""
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as error:
            raise invalid_arguments(error) from None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/loss",
                "checkpoint.mode": "min",
                "checkpoint.save_last": False,  # LatestCheckpoint writes last.ckpt
                "checkpoint.save_top_k": 1,
            }
        )
        parser.add_lightning_class_args(PredictionFigure, "figures")

    def after_fit(self) -> None:
        checkpoint = self.trainer.checkpoint_callback
        if self.trainer.is_global_zero and checkpoint is not None and checkpoint.best_model_path:
            score = checkpoint.best_model_score
            shown = f" ({checkpoint.monitor} = {float(score):.4g})" if score is not None else ""
            print(f"best checkpoint: {checkpoint.best_model_path}{shown}")
