"""LightningCLI of ``neuralsolvers fit | validate | test`` with the project's trainer defaults.

Every run gets: a W&B logger (offline unless logged in; the best checkpoint logged as an artifact),
ModelCheckpoint (best, configurable under ``checkpoint``), ``last.ckpt`` of the latest state after every
validation and at the end (``LatestCheckpoint``), a learning-rate monitor, prediction
figures (``figures``), a stop on a non-finite loss, the training clock, the W&B run id and the
training loader's position in every checkpoint (resumes continue both), ``inference_mode: false`` and
seed 0.

Every LightningModule and LightningDataModule of ``neuralsolvers.train`` and every network of
``neuralsolvers.models`` is imported before parsing, so a config or ``--model.help``/``--data.help``
may name one by its class name alone (``--model.help LearnedPreconditionerModule``). ``--help`` fits a
screen: the options, ``model`` and ``data`` in full, the trainer's and the other groups' keys by
name (``--print_config=comments`` prints every key with its help and default).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytorch_lightning as pl
from jsonargparse import DefaultHelpFormatter
from lightning_fabric.plugins.environments import SLURMEnvironment
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import WandbLogger

from neuralsolvers.checkpoints import read_checkpoint
from neuralsolvers.errors import ConfigError, invalid_arguments
from neuralsolvers.train.callbacks import (
    LatestCheckpoint,
    LearningRateLog,
    NonFiniteLossStop,
    PredictionFigure,
    TrainingClock,
)
from neuralsolvers.train.sampling import LoaderPosition
from neuralsolvers.train.tracking import WANDB_RUN_KEY, MetricsCSV, SaveRunConfig, WandbRunId

__all__ = ["HelpFormatter", "HelpParser", "NeuralSolversCLI", "TRAINER_DEFAULTS", "import_config_classes", "resume_checkpoint"]

# errors are raised to the command's one-line handler; no prefix matching, so a typo is an error
STRICT_PARSER: dict[str, Any] = {"exit_on_error": False, "allow_abbrev": False}

TRAINER_DEFAULTS: dict[str, Any] = {
    "inference_mode": False,
    "logger": {
        "class_path": "neuralsolvers.train.tracking.WandbRun",
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


def import_config_classes() -> None:
    """Import every name ``neuralsolvers.train`` and ``neuralsolvers.models`` export (the modules, data
    modules and networks a config names): jsonargparse resolves a bare class name
    (``class_path: DCDMModule``, ``--data.help SceneDataModule``) among the imported subclasses of
    the expected base only."""
    import neuralsolvers.models
    import neuralsolvers.train

    for package in (neuralsolvers.train, neuralsolvers.models):
        for name in package.__all__:
            getattr(package, name)


class HelpFormatter(DefaultHelpFormatter):
    """jsonargparse's help, with a long list of a type's known subclasses cut to the project's
    networks (``neuralsolvers.models``), or else to the project's classes: ``model: nn.Module``
    would list every torch module."""

    MAX_LISTED = 12

    def _get_help_string(self, action: argparse.Action) -> str:
        text = super()._get_help_string(action)
        head, found, listed = text.rpartition(", known subclasses: ")
        names = listed.removesuffix(")").split(", ")
        if not found or len(names) <= self.MAX_LISTED:
            return text
        ours = [name for name in names if name.startswith("neuralsolvers.models.")] or [name for name in names if name.startswith("neuralsolvers.")]
        return f"{head}, known subclasses: {', '.join([*ours, f'and {len(names) - len(ours)} others'])})"


class HelpParser(LightningArgumentParser):
    """The parser of ``fit``, ``validate`` and ``test``, whose ``--help`` fits a screen: the options,
    ``model`` and ``data`` in full, then the keys of the trainer, the checkpoint, the figures and the
    command's own arguments by name only, and where each key's help is. A class's help
    (``--model.help NAME``) is jsonargparse's own."""

    TITLES: ClassVar[dict[str, str]] = {
        "model": "model: the LightningModule, by class name or path (its keys: --model.help NAME)",
        "data": "data: the LightningDataModule, by class name or path (its keys: --data.help NAME)",
        "trainer": "trainer: Lightning's Trainer, --trainer.KEY VALUE with KEY one of",
        "checkpoint": "checkpoint: the best checkpoint (Lightning's ModelCheckpoint), --checkpoint.KEY VALUE with KEY one of",
        "figures": "figures: after fit and test (PredictionFigure), --figures.KEY VALUE with KEY one of",
    }
    MORE = """
Each key with its help and default: neuralsolvers {command} [--config FILE.yaml] --print_config=comments
A module's keys: --model.help NAME, --data.help NAME (a class name, e.g. LearnedPreconditionerModule, or a
dotted path); a callback's or logger's: --trainer.callbacks.help NAME, --trainer.logger.help NAME.
"""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, formatter_class=HelpFormatter, **kwargs)

    def format_help(self, *args: Any) -> str:
        if "trainer" not in self.groups:
            return super().format_help(*args)
        saved = [(group, group.title, group.description, group._group_actions) for group in self.groups.values()]
        try:
            for key, group in self.groups.items():
                group.title = self.TITLES.get(key, f"{key}: the arguments of Trainer.{key}, --KEY VALUE with KEY one of")
                if key in ("model", "data"):
                    group.description = None
                    continue
                names = [action.option_strings[0].removeprefix(f"--{key}.").removeprefix("--") for action in group._group_actions
                         if action.option_strings and action.dest != key and not action.dest.endswith(".help")]  # fmt: skip
                group.description, group._group_actions = ", ".join(names), []
            return super().format_help(*args) + self.MORE.format(command=self.prog.split()[-1])
        finally:
            for group, title, description, actions in saved:
                group.title, group.description, group._group_actions = title, description, actions



def _is_wandb_logger(class_path: str) -> bool:
    """Whether a config's logger ``class_path`` names Lightning's ``WandbLogger`` or a subclass (``WandbRun``)."""
    module, _, name = class_path.rpartition(".")
    try:
        logger_class = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return False
    return isinstance(logger_class, type) and issubclass(logger_class, WandbLogger)


class NeuralSolversCLI(LightningCLI):
    """``LightningCLI`` over any LightningModule / LightningDataModule given by class path."""

    def __init__(self, args: list[str] | None = None, run: bool = True):
        logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(_DropAdvertisement())
        # the command line is handed over as `args` by `neuralsolvers`, on purpose
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        import_config_classes()
        super().__init__(
            parser_class=HelpParser,
            model_class=pl.LightningModule,
            datamodule_class=pl.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=SaveRunConfig,
            trainer_defaults={**TRAINER_DEFAULTS, "callbacks": [NonFiniteLossStop(), LearningRateLog(), LatestCheckpoint(), TrainingClock(), WandbRunId(), LoaderPosition(), MetricsCSV()]},
            seed_everything_default=0,
            parser_kwargs={**STRICT_PARSER, **{command: {**STRICT_PARSER, "usage": f"neuralsolvers {command} [--config FILE.yaml ...] [--KEY VALUE ...]"}
                                               for command in self.subcommands()}},  # fmt: skip
            auto_configure_optimizers=False,
            args=args,
            run=run,
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then find the checkpoint the run starts from (``--ckpt_path``, or a SLURM requeue's)
        and read it once before Lightning does: a missing, damaged or truncated file is one
        ``CheckpointError``, and with ``--trust-checkpoint`` its own globals are allowed; the W&B run
        id it records (`WANDB_RUN_KEY`) is kept for a resumed fit."""
        super().parse_arguments(parser, args)
        config = self.config.get(self.config.get("subcommand") or "", {})
        ckpt_path = config.get("ckpt_path")
        self.start_checkpoint = resume_checkpoint(ckpt_path, config.get("checkpoint", {}).get("dirpath"), config.get("trainer", {}).get("default_root_dir"))  # fmt: skip
        self.start_run_id = None
        if self.start_checkpoint is not None and (self.start_checkpoint.is_file() or ckpt_path not in ("last", "hpc", None)):
            self.start_run_id = read_checkpoint(self.start_checkpoint).get(WANDB_RUN_KEY)

    def _refuse_overwriting(self, config: Any) -> None:
        """A fit that starts afresh into a checkpoint directory holding an earlier run's checkpoints
        stops with one line, unless ``--overwrite``: a trained model is never replaced unasked (a
        ``fast_dev_run`` writes no checkpoint)."""
        dirpath = config.get("checkpoint", {}).get("dirpath")
        if self.start_checkpoint is not None or config.get("overwrite") or dirpath is None or config["trainer"].get("fast_dev_run"):
            return
        earlier = sorted(path.name for path in Path(dirpath).glob("*.ckpt"))
        if earlier:
            raise ConfigError(f"{dirpath} already holds the checkpoints of an earlier run ({', '.join(earlier)}): pass --overwrite "
                              "to replace them, --checkpoint.dirpath=DIR to write elsewhere, or --ckpt_path last to resume that run")  # fmt: skip

    def before_instantiate_classes(self) -> None:
        """``--ckpt_path`` loads tensors and plain data only (``weights_only`` unless set explicitly);
        a fit from scratch never replaces an earlier run's checkpoints unasked (``--overwrite``); a
        fit resumed from a checkpoint written with W&B (``--ckpt_path``, or a SLURM requeue's
        ``hpc_ckpt``) continues that W&B run (same id, resumed)."""
        config = self.config[self.subcommand]
        if "weights_only" in config and config.get("weights_only") is None:
            config["weights_only"] = True
        if self.subcommand != "fit":
            return
        self._refuse_overwriting(config)
        logger = config["trainer"]["logger"]
        if self.start_run_id and _is_wandb_logger(getattr(logger, "class_path", "")):
            logger.init_args["id"] = self.start_run_id
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
        parser.add_argument("--overwrite", type=bool, nargs="?", const=True, default=False,
                            help="fit: replace the checkpoints an earlier run left in checkpoint.dirpath (else the fit refuses to start)")  # fmt: skip

    def after_fit(self) -> None:
        checkpoint = self.trainer.checkpoint_callback
        if self.trainer.is_global_zero and checkpoint is not None and checkpoint.best_model_path:
            score = checkpoint.best_model_score
            shown = f" ({checkpoint.monitor} = {float(score):.4g})" if score is not None else ""
            print(f"best checkpoint: {checkpoint.best_model_path}{shown}")
