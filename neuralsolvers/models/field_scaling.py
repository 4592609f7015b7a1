"""Scalar standardization of input and output fields, stored as buffers so checkpoints carry it."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FieldScaling"]


class FieldScaling(nn.Module):
    """``encode(a) = (a − μ_in)/σ_in`` and ``decode(v) = v·σ_out + μ_out`` with scalar statistics.

    Scalars (not per-pixel statistics, as FNO's code uses) keep a model resolution-independent:
    the same buffers apply at the training grid and at any other.
    """

    def __init__(self, inputs: bool = True, outputs: bool = True):
        super().__init__()
        self.inputs, self.outputs = inputs, outputs
        for name, value in (("input_mean", 0.0), ("input_std", 1.0), ("output_mean", 0.0), ("output_std", 1.0)):
            self.register_buffer(name, torch.tensor(value))

    @torch.no_grad()
    def fit(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Set the statistics from training inputs and targets (any shapes)."""
        if self.inputs:
            self.input_mean.fill_(inputs.mean())
            self.input_std.fill_(inputs.std().clamp_min(1e-12))
        if self.outputs:
            self.output_mean.fill_(targets.mean())
            self.output_std.fill_(targets.std().clamp_min(1e-12))

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        return (inputs - self.input_mean) / self.input_std

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs * self.output_std + self.output_mean
