"""LPN's proximal matching loss (Fang, Buchanan & Sulam 2024), which the γ schedule of
``ProximalModule`` steps down."""

from __future__ import annotations

import torch

__all__ = ["proximal_matching_loss"]


def proximal_matching_loss(prediction: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """LPN's proximal matching loss: mean over samples of ``1 − exp(−(‖f(y) − x‖ / γ)²)``.

    A smoothed 0–1 loss (the normalizing constant dropped): as ``γ → 0`` its minimizer is the
    posterior mode, so a network trained with it approaches the MAP denoiser, i.e. the proximal
    operator of the negative log-prior. ``(B, ...)`` inputs, norms over all non-batch dimensions.
    """
    distance = (prediction - target).flatten(1).norm(dim=1)
    return (1.0 - torch.exp(-((distance / gamma) ** 2))).mean()
