"""MgNO: the multigrid neural operator (He, Liu, Xu, ICLR 2024).

Each layer is ``u ← σ(V(u) + W u)`` with ``W`` a 1×1 convolution (with bias) and ``V`` a V-cycle
that parameterizes the linear operator between neurons:

* level 0, first step: ``u = S f``; every further smoothing step ``u ← u + S(f − A u)``, with
  ``A``, ``S`` bias-free 3×3 convolutions (``A``: u-channels → f-channels, ``S``: back);
* down: ``u ← Π u`` and ``f ← R f`` by stride-2 3×3 convolutions (``f`` is restricted itself, not
  the residual, as in the authors' Darcy model), then the level's smoothing steps;
* up: ``u_ℓ ← u_ℓ + Pᵀ u_{ℓ+1}`` with ``Pᵀ`` a 4×4 stride-2 transposed convolution, then the
  level's post-smoothing steps (none in the paper's setting).

A 1×1 bias-free head maps to the output channels; there is no lifting or projection network.
Boundary conditions enter through the padding of the 3×3 convolutions: ``zeros`` (Dirichlet),
``circular`` (periodic) or ``reflect``. Any grid size works: a prolongated coarse field
(``2⌈n/2⌉`` wide) is cropped to the fine level's ``n``. The paper's Darcy model (6 levels,
smoothing ``[1, 1, 1, 1, 1, 2]``, width 24, 4 layers) has 572,661 parameters, as the authors' code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuralsolvers.models.field_scaling import FieldScaling
from neuralsolvers.models.registry import register_model

__all__ = ["MgNO", "VCycle"]

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}


class _Smoothing(nn.Module):
    """``u = S f`` (first step, ``A`` is None) or ``u ← u + S(f − A u)``."""

    def __init__(self, f_channels: int, u_channels: int, padding_mode: str, first: bool):
        super().__init__()
        conv = dict(kernel_size=3, padding=1, bias=False, padding_mode=padding_mode)
        self.A = None if first else nn.Conv2d(u_channels, f_channels, **conv)
        self.S = nn.Conv2d(f_channels, u_channels, **conv)

    def forward(self, u: torch.Tensor | None, f: torch.Tensor) -> torch.Tensor:
        if self.A is None:
            return self.S(f)
        return u + self.S(f - self.A(u))


class VCycle(nn.Module):
    """One MgNO V-cycle: ``f`` ``(B, f_channels, H, W)`` → ``u`` ``(B, u_channels, H, W)``.

    The multigrid parameterization of a linear operator of He, Liu and Xu, "MgNO: Efficient
    Parameterization of Linear Operators via Multigrid" (ICLR 2024,
    <https://arxiv.org/abs/2310.19809>): on level ``ℓ`` (learned
    convolutions ``A_ℓ``, ``S_ℓ``, ``R_ℓ``, ``Π_ℓ``, ``P_ℓ``)

        u_ℓ ← u_ℓ + S_ℓ(f_ℓ − A_ℓ u_ℓ)   (smoothing; u_0 = S_0 f_0 first)
        f_{ℓ+1} = R_ℓ f_ℓ,   u_{ℓ+1} = Π_ℓ u_ℓ   (down)
        u_ℓ ← u_ℓ + P_ℓᵀ u_{ℓ+1}   (up)

    Args:
        f_channels: channels of the right-hand side and of the solution.
        u_channels: see `f_channels`.
        smoothing: pre-smoothing steps per level, finest first (``smoothing[0] ≥ 1``).
        post_smoothing: post-smoothing steps per level on the way up (default none).
        padding_mode: padding of the 3×3 convolutions.

    Shapes:
        - **input:** ``f`` ``(B, f_channels, H, W)``, any ``H`` and ``W``.
        - **output:** ``u`` ``(B, u_channels, H, W)``.
    """

    def __init__(
        self,
        f_channels: int,
        u_channels: int,
        smoothing: Sequence[int],
        post_smoothing: Sequence[int] | None = None,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        levels = len(smoothing)
        post_smoothing = [0] * levels if post_smoothing is None else list(post_smoothing)
        if levels < 1 or smoothing[0] < 1 or min(smoothing) < 0 or len(post_smoothing) != levels:
            raise ValueError(f"need smoothing[0] ≥ 1, steps ≥ 0 and one post-smoothing count per level; got {smoothing}, {post_smoothing}")
        self.pre = nn.ModuleList(
            nn.ModuleList(_Smoothing(f_channels, u_channels, padding_mode, level == 0 and i == 0) for i in range(steps))
            for level, steps in enumerate(smoothing)
        )
        self.post = nn.ModuleList(
            nn.ModuleList(_Smoothing(f_channels, u_channels, padding_mode, False) for _ in range(steps))
            for steps in post_smoothing
        )
        down = dict(kernel_size=3, stride=2, padding=1, bias=False, padding_mode=padding_mode)
        self.restrict_u = nn.ModuleList(nn.Conv2d(u_channels, u_channels, **down) for _ in range(levels - 1))
        self.restrict_f = nn.ModuleList(nn.Conv2d(f_channels, f_channels, **down) for _ in range(levels - 1))
        self.prolong = nn.ModuleList(
            nn.ConvTranspose2d(u_channels, u_channels, kernel_size=4, stride=2, padding=1, bias=False)
            for _ in range(levels - 1)
        )

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        solutions, rhs = [], []
        u = None
        for level, steps in enumerate(self.pre):
            if level > 0:
                u, f = self.restrict_u[level - 1](u), self.restrict_f[level - 1](f)
            for step in steps:
                u = step(u, f)
            solutions.append(u)
            rhs.append(f)
        for level in range(len(self.pre) - 2, -1, -1):
            fine = solutions[level]
            u = fine + self.prolong[level](u)[..., : fine.shape[-2], : fine.shape[-1]]
            for step in self.post[level]:
                u = step(u, rhs[level])
        return u


@register_model("mgno")
class MgNO(nn.Module):
    """The multigrid neural operator on 2D fields.

    From He, Liu and Xu, "MgNO: Efficient Parameterization of Linear Operators via Multigrid" (ICLR
    2024, <https://arxiv.org/abs/2310.19809>). Layer ``i`` maps the hidden field ``u`` (``width`` channels) by

        u ← σ(V_i(u) + W_i u + c_i),

    ``V_i`` a ``VCycle`` (the linear operator between neurons, parameterized by multigrid), ``W_i u
    + c_i`` a 1×1 convolution with bias; the first layer reads the input directly (no lifting) and
    a bias-free 1×1 convolution maps the last to the output (no projection network).

    Args:
        in_channels: channels of the input and output fields.
        out_channels: see `in_channels`.
        width: channels of the hidden fields (24 for Darcy in the paper).
        num_layers: MgNO layers (4 rough Darcy, 5 smooth Darcy).
        smoothing: pre-smoothing steps per level, finest first; ``len`` = number of levels.
        post_smoothing: post-smoothing steps per level (default none).
        padding_mode: ``zeros`` (Dirichlet), ``circular`` (periodic) or ``reflect``.
        activation: ``gelu``, ``relu``, ``tanh`` or ``silu``.
        normalize: standardize inputs and outputs with per-channel training statistics.

    Shapes:
        - **input:** ``a`` ``(B, H, W)`` (one channel) or ``(B, in_channels, H, W)``, any ``H`` and
          ``W``; in the input field's physical units (e.g. the Darcy coefficient), standardized
          inside when ``normalize``.
        - **output:** ``(B, H, W)`` or ``(B, out_channels, H, W)``, the input's form, in the target
          field's physical units (e.g. the pressure).
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        width: int = 24,
        num_layers: int = 4,
        smoothing: Sequence[int] = (1, 1, 1, 1, 1, 2),
        post_smoothing: Sequence[int] | None = None,
        padding_mode: str = "zeros",
        activation: str = "gelu",
        normalize: bool = True,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if padding_mode not in ("zeros", "circular", "reflect"):
            raise ValueError(f"padding_mode must be zeros, circular or reflect, got {padding_mode!r}")
        channels = [in_channels] + [width] * num_layers
        self.cycles = nn.ModuleList(
            VCycle(c, width, smoothing, post_smoothing, padding_mode) for c in channels[:-1]
        )
        self.pointwise = nn.ModuleList(nn.Conv2d(c, width, kernel_size=1) for c in channels[:-1])
        self.head = nn.Conv2d(width, out_channels, kernel_size=1, bias=False)
        self.activation = ACTIVATIONS[activation]()
        self.scaling = FieldScaling(in_channels, out_channels, normalize, normalize)

    def fit_normalization(self, inputs: torch.Tensor, targets: torch.Tensor, points: torch.Tensor | None = None) -> None:
        """Per-channel input/output statistics from the training fields."""
        self.scaling.fit(inputs, targets)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        single = a.dim() == 3
        u = self.scaling.encode(a[:, None] if single else a)
        for cycle, pointwise in zip(self.cycles, self.pointwise, strict=True):
            u = self.activation(cycle(u) + pointwise(u))
        u = self.scaling.decode(self.head(u))
        return u[:, 0] if single else u
