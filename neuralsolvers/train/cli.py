"""LightningCLI of ``neuralsolvers fit | validate | test`` with the project's trainer defaults.

Every run gets: a W&B logger (offline unless logged in; the best checkpoint logged as an artifact),
ModelCheckpoint (best, configurable under ``checkpoint``), ``last.ckpt`` of the latest state after every
validation and at the end (:class:`LatestCheckpoint`), a learning-rate monitor, prediction
figures (``figures``), a stop on a non-finite loss, the training clock, the W&B run id and the
training loader's position in every checkpoint (resumes continue both), ``inference_mode: false`` and
seed 0.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.environments import SLURMEnvironment
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from neuralsolvers.checkpoints import trust_if_asked
from neuralsolvers.errors import invalid_arguments
from neuralsolvers.train.callbacks import (
    LatestCheckpoint,
    LearningRateLog,
    NonFiniteLossStop,
    PredictionFigure,
    TrainingClock,
)
from neuralsolvers.train.sampling import LoaderPosition
from neuralsolvers.train.tracking import SaveRunConfig, WandbRunId, resumed_run_id

__all__ = ["NeuralSolversCLI", "TRAINER_DEFAULTS", "resume_checkpoint"]

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


def resume_checkpoint(ckpt_path: str | None, dirpath: str | None, root_dir: str | None) -> Path | None:
    """The file a run starts from, as Lightning resolves ``--ckpt_path``: ``last`` is ``<dirpath>/last.ckpt``;
    ``hpc``, or none given inside a SLURM job (auto-requeue), the newest ``hpc_ckpt_<n>.ckpt`` in the
    trainer's root directory; a path as given; None for none (or ``best``, known only after a fit)."""
    if ckpt_path == "last":
        return Path(dirpath or ".") / "last.ckpt"
    if ckpt_path == "hpc" or (ckpt_path is None and SLURMEnvironment.detect()):
        saved = {int(match[1]): path for path in Path(root_dir or ".").glob("hpc_ckpt_*.ckpt") if (match := re.fullmatch(r"hpc_ckpt_(\d+)\.ckpt", path.name))}
        return saved[max(saved)] if saved else None
    return None if ckpt_path in (None, "best") else Path(ckpt_path)


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
            trainer_defaults={**TRAINER_DEFAULTS, "callbacks": [NonFiniteLossStop(), LearningRateLog(), LatestCheckpoint(), TrainingClock(), WandbRunId(), LoaderPosition()]},
            seed_everything_default=0,
            parser_kwargs={**STRICT_PARSER, **{command: STRICT_PARSER for command in self.subcommands()}},
            auto_configure_optimizers=False,
            args=args,
            run=run,
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then find the checkpoint the run starts from (``--ckpt_path``, or a SLURM requeue's);
        with ``--trust-checkpoint`` its own globals are allowed before Lightning first reads it."""
        super().parse_arguments(parser, args)
        config = self.config.get(self.config.get("subcommand") or "", {})
        self.start_checkpoint = resume_checkpoint(config.get("ckpt_path"), config.get("checkpoint", {}).get("dirpath"), config.get("trainer", {}).get("default_root_dir"))  # fmt: skip
        if self.start_checkpoint is not None:
            trust_if_asked(self.start_checkpoint)

    def before_instantiate_classes(self) -> None:
        """``--ckpt_path`` loads tensors and plain data only (``weights_only`` unless set explicitly);
        a fit resumed from a checkpoint written with W&B (``--ckpt_path``, or a SLURM requeue's
        ``hpc_ckpt``) continues that W&B run (same id, resumed)."""
        config = self.config[self.subcommand]
        if "weights_only" in config and config.get("weights_only") is None:
            config["weights_only"] = True
        if self.subcommand != "fit":
            return
        logger = config["trainer"]["logger"]
        run_id = resumed_run_id(self.start_checkpoint)
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
