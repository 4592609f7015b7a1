"""Exceptions the package raises for bad user input; the CLI turns them into one-line messages."""

from __future__ import annotations

__all__ = ["ConfigError", "DatasetError", "NeuralSolversError", "CheckpointError"]


class NeuralSolversError(Exception):
    """Base of every error caused by user input (configs, files, arguments)."""


class ConfigError(NeuralSolversError, ValueError):
    """A configuration value is invalid or inconsistent."""


class DatasetError(NeuralSolversError):
    """A dataset file is missing, corrupt, truncated or does not match what was asked for."""


class CheckpointError(NeuralSolversError):
    """A checkpoint is missing, corrupt, or holds a model this package cannot rebuild."""
