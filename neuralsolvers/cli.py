"""The ``neuralsolvers`` command: ``generate | fit | validate | test | evaluate``.

``fit``, ``validate`` and ``test`` are Lightning's ``LightningCLI``; ``generate`` and ``evaluate``
are jsonargparse parsers of the same kind, so every stage takes ``--config`` YAML files (they stack,
later ones win), dotted command-line overrides and ``--print_config``. A bad key, a wrong type, a
missing file or bad data ends with one ``error:`` line naming it and a non-zero exit code.
Checkpoints are read weights-only; ``--trust-checkpoint`` (fit, validate, test, evaluate) also allows
the classes and functions a checkpoint names (they are imported and listed on stderr).
"""

from __future__ import annotations

import contextlib
import pickle
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser
from jsonargparse import ArgumentError as ParserError

from neuralsolvers.errors import ConfigError, NeuralSolversError, invalid_arguments
from neuralsolvers.unknown_keys import unknown_key_message

__all__ = ["main", "version_line"]

COMMANDS = {
    "generate": "make a sharded HDF5 dataset from a generator config",
    "fit": "train a model (LightningCLI)",
    "validate": "run the validation loop on a checkpoint (LightningCLI)",
    "test": "run the test loop on a checkpoint (LightningCLI)",
    "evaluate": "compare trained and classical methods on held-out data; tables, plots, W&B",
}


TRUST = "--trust-checkpoint"
TRUSTING = ("fit", "validate", "test", "evaluate")


def _usage() -> str:
    lines = ["usage: neuralsolvers {" + ",".join(COMMANDS) + "} [--config FILE.yaml ...] [--key value ...]",
             "       neuralsolvers --version", ""]  # fmt: skip
    lines += [f"  {name:<9} {text}" for name, text in COMMANDS.items()]
    lines += ["", "Run `neuralsolvers COMMAND --help` for the options of a command.",
              "-V, --version: print the versions of neuralsolvers, torch, pytorch-lightning and Python",
              f"{TRUST} ({', '.join(TRUSTING)}): also load checkpoints that name Python objects (runs their code)"]
    return "\n".join(lines)


def version_line() -> str:
    """``neuralsolvers <version> (torch <version>, pytorch-lightning <version>, Python <version>)``, read
    from the installed packages' metadata: nothing heavy is imported."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from neuralsolvers import __version__

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return f"neuralsolvers {__version__} (torch {installed('torch')}, pytorch-lightning {installed('pytorch-lightning')}, Python {platform.python_version()})"


def generate_parser() -> ArgumentParser:
    """Parser of ``neuralsolvers generate``."""
    from neuralsolvers.data_gen.base import Generator
    from neuralsolvers.data_gen.runner import Split

    parser = ArgumentParser(prog="neuralsolvers generate", description=COMMANDS["generate"], exit_on_error=False, allow_abbrev=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML config file(s); later ones override")
    parser.add_argument("--list", action="store_true", help="list the generators and exit")
    parser.add_subclass_arguments(Generator, "generator", required=True, help="the problem generator")
    parser.add_argument("--out", type=str, required=True, help="dataset directory; each split in a sub-directory")
    parser.add_argument("--splits", type=list[Split], required=True, help="splits: name, num_samples, seed")
    parser.add_argument("--shard_size", "--shard-size", type=int, default=1000, help="samples per shard file")
    parser.add_argument("--shard", type=int, default=0, help="index of this job among --num_shards jobs")
    parser.add_argument("--num_shards", "--num-shards", type=int, default=1, help="number of jobs sharing the work")
    parser.add_argument("--overwrite", type=bool, nargs="?", const=True, default=False, help="replace shards of another dataset")
    return parser


def list_generators() -> str:
    """Every generator with the first line of its description."""
    import neuralsolvers.data_gen
    from neuralsolvers.data_gen.base import generator_classes

    generators = sorted(generator_classes(), key=lambda c: c.name)
    width = max(len(cls.name) for cls in generators)
    lines = []
    for cls in generators:
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        exported = cls.__qualname__ in neuralsolvers.data_gen.__all__
        path = f"neuralsolvers.data_gen.{cls.__qualname__}" if exported else f"{cls.__module__}.{cls.__qualname__}"
        lines.append(f"{cls.name:<{width}}  {path}: {summary}")
    return "\n".join(lines)


def run_generate(args: Sequence[str]) -> None:
    from neuralsolvers.data_gen.runner import generate_split

    if "--list" in args:
        print(list_generators())
        return
    config = _instantiate(generate_parser(), args)
    for split in config.splits:
        paths = generate_split(
            config.generator,
            f"{config.out}/{split.name}",
            split.num_samples,
            split.seed,
            shard_size=config.shard_size,
            shard=config.shard,
            num_shards=config.num_shards,
            overwrite=config.overwrite,
        )
        print(f"{split.name}: {len(paths)} shard(s) in {config.out}/{split.name}")


def evaluate_parser() -> ArgumentParser:
    """Parser of ``neuralsolvers evaluate``."""
    from neuralsolvers.evaluate.base import Evaluation

    summary = ("--summary [--results DIR] [--benchmarks FILE]: instead of evaluating, collect every results.json "
               "under DIR (default results) into one Markdown document, optionally written into FILE (e.g. BENCHMARKS.md) "
               "between its marker lines; `neuralsolvers evaluate --summary --help` for details")  # fmt: skip
    parser = ArgumentParser(prog="neuralsolvers evaluate", description=COMMANDS["evaluate"], epilog=summary, exit_on_error=False, allow_abbrev=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML config file(s); later ones override")
    parser.add_subclass_arguments(Evaluation, "task", required=True, help="what to evaluate")
    parser.add_argument("--out", type=str, required=True, help="directory for results.md, results.json, plots")
    parser.add_argument("--wandb", type=bool, default=True, help="log tables and plots to a W&B run")
    parser.add_argument("--requires", type=list[Prerequisite], default=[], help="commands run first when their output is missing")
    return parser


@dataclass
class Prerequisite:
    """A ``neuralsolvers`` command (``run``, e.g. ``[fit, --config, configs/x.yaml]``) that makes the
    path ``when_missing`` (a checkpoint, a dataset split); run before the evaluation if it is missing."""

    when_missing: str
    run: list[str]


def run_prerequisites(prerequisites: Sequence[Prerequisite]) -> None:
    """Run the commands whose output is missing, in order; a failing one stops the evaluation."""
    for prerequisite in prerequisites:
        if Path(prerequisite.when_missing).exists():
            continue
        if not prerequisite.run or prerequisite.run[0] not in COMMANDS or prerequisite.run[0] == "evaluate":
            raise ConfigError(f"requires: {prerequisite.run} is not a generate/fit/validate/test command")
        print(f"{prerequisite.when_missing} is missing: running neuralsolvers {' '.join(prerequisite.run)}", flush=True)
        if main(prerequisite.run) != 0:
            raise ConfigError(f"requires: neuralsolvers {' '.join(prerequisite.run)} failed")
        if not Path(prerequisite.when_missing).exists():
            raise ConfigError(f"requires: neuralsolvers {' '.join(prerequisite.run)} did not make {prerequisite.when_missing}")


def summary_parser() -> ArgumentParser:
    """Parser of ``neuralsolvers evaluate --summary``."""
    parser = ArgumentParser(prog="neuralsolvers evaluate --summary", exit_on_error=False,
                            description="the headline (per learned component: the best learned method against the best classical one) "
                                        "and every run's table, from every results.json under a directory")  # fmt: skip
    parser.add_argument("--summary", action="store_true", required=True, help="summarize instead of evaluating")
    parser.add_argument("--results", type=str, default="results", help="directory searched for results.json files")
    parser.add_argument("--benchmarks", type=str, default=None,
                        help="also write the headline into this file (e.g. BENCHMARKS.md): between its marker lines, at the top the first time")  # fmt: skip
    return parser


def run_summary(args: Sequence[str]) -> None:
    from neuralsolvers.evaluate import summary

    config = summary_parser().parse_args(list(args))
    records = summary.collect(config.results)
    headline = summary.headline_markdown(records, "neuralsolvers evaluate " + shlex.join(args))
    print(f"{headline}\n\n## Every run\n\n{summary.summary_markdown(records, config.results)}")
    if config.benchmarks:
        summary.update_benchmarks(config.benchmarks, headline)
        print(f"headline written into {config.benchmarks}")


def run_evaluate(args: Sequence[str]) -> None:
    if "--summary" in args:
        run_summary(args)
        return
    parser = evaluate_parser()
    namespace = parser.parse_args(list(args))
    run_prerequisites([Prerequisite(**vars(item)) if not isinstance(item, Prerequisite) else item for item in namespace.requires])
    config = _instantiate(parser, namespace)
    report = config.task.run(config.out, use_wandb=config.wandb, command="neuralsolvers evaluate " + shlex.join(args))
    print(report.markdown)
    print(f"results written to {config.out}")


def run_lightning(args: Sequence[str]) -> None:
    import wandb
    from pytorch_lightning.utilities.exceptions import MisconfigurationException

    from neuralsolvers.train.cli import NeuralSolversCLI

    try:
        NeuralSolversCLI(args=list(args))
    except MisconfigurationException as error:  # e.g. a module without the step the command needs
        raise ConfigError(f"neuralsolvers {args[0]}: {error}") from None
    finally:
        if wandb.run is not None:  # close the run so the next command in this process starts its own
            wandb.finish()


def _instantiate(parser: ArgumentParser, args: Sequence[str] | Any) -> Any:
    """Parse ``args`` (or take an already parsed namespace) and build the classes; a constructor's
    rejection becomes a ``ConfigError``."""
    namespace = parser.parse_args(list(args)) if isinstance(args, Sequence) else args
    try:
        return parser.instantiate(namespace)
    except (ValueError, TypeError) as error:
        raise invalid_arguments(error) from None


def _one_line(error: BaseException) -> str:
    text = " ".join(line.strip() for line in str(error).strip().splitlines() if line.strip())
    return text if len(text) < 600 else text[:600] + " ..."


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from neuralsolvers.wandb_defaults import configure_wandb_defaults

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(version_line())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    configure_wandb_defaults()
    trust = command in TRUSTING and TRUST in rest
    rest = [arg for arg in rest if arg != TRUST] if trust else rest
    try:
        if trust:
            from neuralsolvers.checkpoints import trusting_checkpoints
        with trusting_checkpoints() if trust else contextlib.nullcontext():
            if command == "generate":
                run_generate(rest)
            elif command == "evaluate":
                run_evaluate(rest)
            else:
                run_lightning([command, *rest])
    except ParserError as error:
        print(f"error: neuralsolvers {command}: {unknown_key_message(error, command) or _one_line(error)}", file=sys.stderr)
        return 2
    except (NeuralSolversError, FileNotFoundError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
    except pickle.UnpicklingError:  # --ckpt_path holding objects beyond tensors and plain data
        print(f"error: neuralsolvers {command}: checkpoint refused, it holds objects beyond tensors and plain data "
              f"(loading it would run code from the file). Only if you trust its source: pass {TRUST}", file=sys.stderr)  # fmt: skip
        return 1
    except SystemExit as exit_:
        if type(exit_).__name__ == "SIGTERMException":  # Lightning's, raised at the next step after SIGTERM
            print(f"error: neuralsolvers {command}: stopped by SIGTERM; the state at that step is in last.ckpt beside "
                  "the checkpoints: resume with --ckpt_path last", file=sys.stderr)  # fmt: skip
            return 143
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0
