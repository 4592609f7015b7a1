"""Errors of a predicted field against the true one: the per-sample relative L2 error (operator
learning, PINNs, evaluation) and the training losses of operator learning, built on ``neuralop``'s
relative Lp/H1 losses.

``neuralop``'s losses treat the last ``d`` dimensions as space and sum over the batch; here they are
averaged over the batch (``reduction="mean"``) so the value is the mean relative error per sample.

The losses of the learned preconditioners and of LPN live beside their trainers:
``neuralsolvers.train.preconditioner.losses`` (``dcdm_loss``, ``pcg_residual_loss``) and
``neuralsolvers.train.proximal.losses`` (``proximal_matching_loss``). Their old names here still
work for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["LOSSES", "OperatorLoss", "relative_l2"]

LOSSES = ("rel_l2", "rel_h1", "mse")


def relative_l2(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample relative L2 error ‖pred − target‖ / ‖target‖ over all non-batch dims, ``(B, ...) -> (B,)``."""
    diff = (prediction - target).flatten(1).norm(dim=1)
    return diff / target.flatten(1).norm(dim=1).clamp_min(1e-12)


class OperatorLoss(nn.Module):
    """A named loss on ``(B, *space)`` outputs (or ``(B, C, *space)`` for fields).

    Args:
        name: ``rel_l2`` (neuralop ``LpLoss``), ``rel_h1`` (neuralop ``H1Loss``) or ``mse``.
        spatial_dims: number of trailing spatial dimensions ``d`` of the output.
    """

    def __init__(self, name: str = "rel_l2", spatial_dims: int = 1):
        super().__init__()
        if name not in LOSSES:
            raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
        self.name = name
        self.fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
        if name == "mse":
            self.fn = nn.functional.mse_loss
        else:
            from neuralop.losses import H1Loss, LpLoss

            if name == "rel_l2":
                self.fn = LpLoss(d=spatial_dims, p=2, reduction="mean")
            else:
                self.fn = H1Loss(d=spatial_dims, reduction="mean")

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.fn(prediction, target)


# Moved beside their trainers. For one release an old name is forwarded by module name when it is
# used: the only reference from physics up to train (import-linter reads import statements and does
# not see it), to torch-only modules that load no Lightning. Delete it with the old names.
_MOVED = {
    "dcdm_loss": "neuralsolvers.train.preconditioner.losses",
    "pcg_residual_loss": "neuralsolvers.train.preconditioner.losses",
    "proximal_matching_loss": "neuralsolvers.train.proximal.losses",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"{__name__}.{name} is deprecated: import it from {_MOVED[name]}", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(_MOVED[name]), name)
