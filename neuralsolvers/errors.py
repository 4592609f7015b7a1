"""Exceptions the package raises for bad user input; the CLI turns them into one-line messages."""

from __future__ import annotations

__all__ = ["CheckpointError", "ConfigError", "DatasetError", "NeuralSolversError", "invalid_arguments"]


class NeuralSolversError(Exception):
    """Base of every error caused by user input (configs, files, arguments)."""


class ConfigError(NeuralSolversError, ValueError):
    """A configuration value is invalid or inconsistent."""


class DatasetError(NeuralSolversError):
    """A dataset file is missing, corrupt, truncated or does not match what was asked for."""


class CheckpointError(NeuralSolversError):
    """A checkpoint is missing, corrupt, or holds a model this package cannot rebuild."""


def invalid_arguments(error: BaseException) -> ConfigError:
    """A failed instantiation from a config as one ``ConfigError``: the innermost cause's message
    (the constructor's own check), not the parser's wrapping of it."""
    root = error
    while root.__cause__ is not None:
        root = root.__cause__
    return ConfigError(f"invalid arguments: {root}")
