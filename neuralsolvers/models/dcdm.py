"""The DCDM network: a convolutional approximate inverse (Kaneda et al., ICML 2023).

``f(r) ≈ c · A⁻¹ r`` up to an unknown constant ``c``, for the search directions of the deep
conjugate-direction method. Fully convolutional (it runs at any grid size): a 3×3(×3) input
convolution to ``channels`` channels, residual blocks of two convolutions at full resolution, one
2× average-pooling level with its own residual blocks, nearest-neighbour upsampling added to the
full-resolution skip, more full-resolution blocks, a 1×1(×1) output convolution; ReLU activations.
With one input channel and blocks ``(2, 3, 2)`` the 3D net has 97,457 parameters, as the paper's
64³ model (15 convolutions of 3×3×3 and a 1×1×1 output).

``levels`` > 1 (or ``"auto"``: pool until the coarsest grid has at most ``COARSEST`` cells per axis)
repeats the pool–blocks–upsample step recursively with the **same** weights on every level (a
U-Net whose depth follows the grid), so the reach of the network grows with the grid while its
parameters stay those of the one-level net; ``levels=1`` is the paper's network.

Inputs: the (normalized) residual field, optionally after the fluid mask as channel 0 (the order of
``FieldPreconditioner``'s condition), ``(B, C, *grid)`` with ``grid`` 2D or 3D (odd sizes are fine: the coarse level is cropped back).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neuralsolvers.models.registry import register_model

__all__ = ["COARSEST", "DCDMNet"]

COARSEST = 4  # levels="auto" pools while the grid has more cells than this along every axis


class _ResidualBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` followed by ReLU."""

    def __init__(self, conv: type[nn.Module], channels: int):
        super().__init__()
        self.first = conv(channels, channels, kernel_size=3, padding=1)
        self.second = conv(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.second(F.relu(self.first(x))))


@register_model("dcdm")
class DCDMNet(nn.Module):
    """DCDM's approximate-inverse network.

    From Kaneda et al., "A Deep Conjugate Direction Method for Iteratively Solving Linear Systems"
    (ICML 2023, <https://openreview.net/forum?id=TvILWDB5ke>): ``f(r) ≈ c·A⁻¹ r`` for an unknown constant ``c``, trained with the scale-invariant
    loss

        ℓ(b) = ‖b − α A f(b)‖²,   α = f(b)ᵀb / f(b)ᵀA f(b),

    and used as the direction map of ``dcdm`` (or the preconditioner of ``fcg``).

    Args:
        dim: 2 or 3 spatial dimensions.
        in_channels: 1 (residual) or 2 (fluid mask, then residual).
        channels: hidden channels (16 in the paper).
        blocks: residual blocks (before pooling, on the coarse level, after upsampling).
        levels: pooling levels (1: the paper's net), or ``"auto"`` (as many as the grid allows).

    Shapes:
        - **input:** ``fields`` ``(B, in_channels, *grid)`` on a 2D ``(H, W)`` or 3D ``(D, H, W)``
          grid of any size: the residual, scaled to unit RMS (dimensionless), after the fluid mask
          (0/1) as channel 0 when ``in_channels = 2``.
        - **output:** ``(B, 1, *grid)``: the search direction ``f(r) ≈ c·A⁻¹ r``, of arbitrary
          scale (the solver's line search sets the step).
    """

    def __init__(self, dim: int = 3, in_channels: int = 1, channels: int = 16, blocks: Sequence[int] = (2, 3, 2), levels: int | str = 1):
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim}")
        if in_channels not in (1, 2):
            raise ValueError(f"in_channels must be 1 (residual) or 2 (mask and residual), got {in_channels}")
        if len(blocks) != 3 or min(blocks) < 0:
            raise ValueError(f"blocks must be three non-negative counts, got {blocks}")
        if levels != "auto" and not (isinstance(levels, int) and levels >= 1):
            raise ValueError(f"levels must be a positive integer or 'auto', got {levels!r}")
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        self.dim, self.in_channels, self.levels = dim, in_channels, levels
        self.inlet = conv(in_channels, channels, kernel_size=3, padding=1)
        self.before, self.coarse, self.after = (
            nn.Sequential(*(_ResidualBlock(conv, channels) for _ in range(count))) for count in blocks
        )
        self.outlet = conv(channels, 1, kernel_size=1)

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        """``(B, C, *grid)`` → ``(B, 1, *grid)``."""
        return self.outlet(self._level(F.relu(self.inlet(fields)), 1))

    def _level(self, x: torch.Tensor, depth: int) -> torch.Tensor:
        """Blocks before pooling, the next level (or the coarse blocks on the last one), nearest
        upsampling added back, blocks after: the same weights at every depth."""
        fine = self.before(x)
        pool = F.avg_pool2d if self.dim == 2 else F.avg_pool3d
        below = pool(fine, kernel_size=2, ceil_mode=True)
        deeper = depth < self.levels if self.levels != "auto" else min(below.shape[2:]) > COARSEST
        coarse = self._level(below, depth + 1) if deeper else self.coarse(below)
        up = F.interpolate(coarse, scale_factor=2, mode="nearest")
        up = up[(..., *(slice(0, s) for s in fine.shape[2:]))]
        return self.after(fine + up)
