"""Standardization of input and output fields, stored as buffers so checkpoints carry it."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FieldScaling"]


class FieldScaling(nn.Module):
    """``encode(a) = (a − μ_in)/σ_in`` and ``decode(v) = v·σ_out + μ_out``, one mean and standard
    deviation per channel.

    Statistics per channel, not per pixel (as FNO's code uses), keep a model resolution-independent:
    the same buffers apply at the training grid and at any other. Fields are ``(B, C, *space)``, or
    ``(B, *space)`` for one channel.

    Args:
        in_channels: channels of the inputs and outputs.
        out_channels: see `in_channels`.
        inputs: whether to standardize each (otherwise identity).
        outputs: see `inputs`.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, inputs: bool = True, outputs: bool = True):
        super().__init__()
        self.inputs, self.outputs = inputs, outputs
        self.register_buffer("input_mean", torch.zeros(in_channels))
        self.register_buffer("input_std", torch.ones(in_channels))
        self.register_buffer("output_mean", torch.zeros(out_channels))
        self.register_buffer("output_std", torch.ones(out_channels))

    @staticmethod
    def _channels(fields: torch.Tensor, count: int) -> torch.Tensor:
        """``(C, N·space)`` view of ``(B, C, *space)`` fields (``(B, *space)`` when ``count`` is 1)."""
        if count == 1 and (fields.dim() < 2 or fields.shape[1] != 1):
            return fields.reshape(1, -1)
        return fields.transpose(0, 1).reshape(count, -1)

    @torch.no_grad()
    def fit(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Set the statistics from training inputs and targets."""
        if self.inputs:
            values = self._channels(inputs, len(self.input_mean))
            self.input_mean.copy_(values.mean(dim=1))
            self.input_std.copy_(values.std(dim=1).clamp_min(1e-12))
        if self.outputs:
            values = self._channels(targets, len(self.output_mean))
            self.output_mean.copy_(values.mean(dim=1))
            self.output_std.copy_(values.std(dim=1).clamp_min(1e-12))

    @staticmethod
    def _view(statistic: torch.Tensor, fields: torch.Tensor, spatial: int) -> torch.Tensor:
        return statistic.reshape(-1, *([1] * spatial)) if fields.dim() > spatial + 1 else statistic.reshape(())

    def encode(self, inputs: torch.Tensor, spatial: int = 2) -> torch.Tensor:
        """Standardized inputs; ``spatial`` is the number of trailing space dimensions."""
        return (inputs - self._view(self.input_mean, inputs, spatial)) / self._view(self.input_std, inputs, spatial)

    def decode(self, outputs: torch.Tensor, spatial: int = 2) -> torch.Tensor:
        """Outputs in physical units."""
        return outputs * self._view(self.output_std, outputs, spatial) + self._view(self.output_mean, outputs, spatial)
