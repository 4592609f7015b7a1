"""FNO and TFNO from ``neuraloperator``, used as they are, behind a thin adapter.

The adapter adds what our training and checkpoints need: plain constructor arguments (so the
registry rebuilds it from a checkpoint), scalar input/output standardization stored as buffers,
and the same ``(B, H, W)`` / ``(B, C, H, W)`` field convention as ``MgNO``;
its state dict holds tensors only, so checkpoints load with ``weights_only=True``.
Everything else (spectral convolutions, grid positional embedding, domain padding, Tucker
factorization for TFNO) is ``neuralop.models.FNO``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuralsolvers.models.field_scaling import FieldScaling
from neuralsolvers.models.registry import register_model

__all__ = ["FNO"]


@register_model("fno")
class FNO(nn.Module):
    """``neuralop.models.FNO`` on 2D (or nD) fields.

    The Fourier neural operator of Li, Kovachki, Azizzadenesheli, Liu, Bhattacharya, Stuart and
    Anandkumar, "Fourier Neural Operator for Parametric Partial Differential Equations" (ICLR
    2021, <https://arxiv.org/abs/2010.08895>); with ``factorization``, the tensorized TFNO of Kossaifi, Kovachki, Azizzadenesheli and
    Anandkumar, "Multi-Grid Tensorized Fourier Neural Operator for High-Resolution PDEs" (arXiv
    preprint, 2023). After a pointwise lifting ``P``, each Fourier layer is

        v ← σ(W v + F⁻¹(R · F v)),

    ``F`` the FFT, ``R`` a learned weight on the lowest ``n_modes`` frequencies (others dropped) and
    ``W`` a pointwise linear map; a pointwise projection ``Q`` gives the output.

    Args:
        n_modes: Fourier modes kept per dimension (12, 12 in the FNO paper's Darcy runs).
        hidden_channels: width (32 in the paper).
        n_layers: Fourier layers.
        in_channels: field channels.
        out_channels: see `in_channels`.
        factorization: ``None`` (FNO) or ``"tucker"`` / ``"cp"`` / ``"tt"`` (TFNO).
        rank: factorization rank (fraction of the full weights).
        domain_padding: fraction of padding for non-periodic problems (e.g. 0.125), or ``None``.
        normalize: standardize inputs and outputs with per-channel training statistics.

    Shapes:
        - **input:** ``a`` ``(B, *grid)`` (one channel) or ``(B, in_channels, *grid)``, with
          ``len(grid) = len(n_modes)`` and any grid size; in the input field's physical units,
          standardized inside when ``normalize``.
        - **output:** ``(B, *grid)`` or ``(B, out_channels, *grid)``, the input's form, in the
          target field's physical units.
    """

    def __init__(
        self,
        n_modes: Sequence[int] = (12, 12),
        hidden_channels: int = 32,
        n_layers: int = 4,
        in_channels: int = 1,
        out_channels: int = 1,
        factorization: str | None = None,
        rank: float = 1.0,
        domain_padding: float | None = None,
        normalize: bool = True,
    ):
        super().__init__()
        from neuralop.models import FNO as NeuralopFNO

        self.dims = len(n_modes)
        self.net = NeuralopFNO(
            n_modes=tuple(n_modes),
            in_channels=in_channels,
            out_channels=out_channels,
            hidden_channels=hidden_channels,
            n_layers=n_layers,
            factorization=factorization,
            rank=rank,
            domain_padding=domain_padding,
        )
        self.scaling = FieldScaling(in_channels, out_channels, normalize, normalize)

    def state_dict(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 (nn.Module's signature)
        """Tensors only: neuralop adds a ``_metadata`` entry (its constructor arguments, including a
        function object) that ``torch.load(weights_only=True)`` would refuse."""
        state = super().state_dict(*args, **kwargs)
        state.pop("_metadata", None)
        return state

    def fit_normalization(self, inputs: torch.Tensor, targets: torch.Tensor, points: torch.Tensor | None = None) -> None:
        """Per-channel input/output statistics from the training fields."""
        self.scaling.fit(inputs, targets)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        single = a.dim() == self.dims + 1
        u = self.net(self.scaling.encode(a[:, None] if single else a, self.dims))
        u = self.scaling.decode(u, self.dims)
        return u[:, 0] if single else u
