"""What training cost and when it pays: the training clock a checkpoint records, device-hours, and
the number of solves after which training has paid for itself against a classical method.

`neuralsolvers fit` records the clock (`neuralsolvers.train.callbacks.TrainingClock`) in every
checkpoint: ``{"seconds", "device", "num_devices", "steps"}``. `trained_network` reads a checkpoint
once for both the network and its clock; `trained_preconditioner` likewise for a learned
preconditioner (its network and kind, `neuralsolvers.checkpoints.preconditioner_from_checkpoint`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralsolvers.checkpoints import (
    model_from_checkpoint,
    preconditioner_from_checkpoint,
    read_checkpoint,
)
from neuralsolvers.solvers.learned.kinds import LearnedPreconditioner

__all__ = ["break_even", "break_even_cell", "device_hours", "trained_network", "trained_preconditioner", "training_cost", "training_time"]  # fmt: skip


def training_time(checkpoint: Mapping[str, Any] | str | Path) -> dict | None:
    """``{"seconds", "device", "num_devices", "steps"}`` of the run that wrote the checkpoint (a read
    checkpoint, or its path), or None for a checkpoint without it."""
    data = checkpoint if isinstance(checkpoint, Mapping) else read_checkpoint(checkpoint)
    return data.get("training_time")


def trained_network(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict | None]:
    """The network of a checkpoint (in eval mode, on ``device``) and its training clock, from one read."""
    data = read_checkpoint(path, device)
    return model_from_checkpoint(data, path).to(device), training_time(data)


def trained_preconditioner(path: str | Path, device: str | torch.device = "cpu") -> tuple[LearnedPreconditioner, dict | None]:
    """The learned preconditioner of a checkpoint (its network in eval mode on ``device``, its kind
    and record: call it with a system for the preconditioner) and its training clock, from one read."""
    data = read_checkpoint(path, device)
    learned = preconditioner_from_checkpoint(data, path)
    learned.network.to(device)
    return learned, training_time(data)


def device_hours(clock: dict | None) -> float | None:
    """Device-hours of a `training_time` record (seconds × devices / 3600); None without one."""
    return None if clock is None else clock["seconds"] * clock["num_devices"] / 3600


def break_even(training_seconds: float, learned_seconds: float, classical_seconds: float) -> float | None:
    """Solves after which training has paid for itself: ``training / (classical − learned)`` per solve;
    None when the learned method is not faster (it never pays)."""
    saving = classical_seconds - learned_seconds
    return training_seconds / saving if saving > 0 else None


def break_even_cell(clock: dict | None, learned_seconds: float, classical_seconds: float | None) -> str | None:
    """`break_even` for a table: None without a training record or a classical time, ``never``
    when the learned method is not faster, else the number of solves (3 digits)."""
    if clock is None or classical_seconds is None:
        return None
    solves = break_even(clock["seconds"], learned_seconds, classical_seconds)
    return "never" if solves is None else f"{solves:.3g}"


def training_cost(clock: dict | None, seconds: float, classical_seconds: float | None, unit: str = "solves") -> dict[str, Any]:
    """A row's training columns: ``training_device_h`` and ``break_even_<unit>`` (its ``seconds`` per
    solve against ``classical_seconds``); both None for a row without a clock (a classical method)."""
    return {"training_device_h": device_hours(clock), f"break_even_{unit}": break_even_cell(clock, seconds, classical_seconds)}
