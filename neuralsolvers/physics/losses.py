"""Loss functions for supervised operator learning, built on ``neuralop``'s relative Lp/H1 losses.

``neuralop``'s losses treat the last ``d`` dimensions as space and sum over the batch; here they are
averaged over the batch (``reduction="mean"``) so the value is the mean relative error per sample.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["LOSSES", "OperatorLoss", "dcdm_loss", "pcg_residual_loss", "proximal_matching_loss", "relative_l2"]

LOSSES = ("rel_l2", "rel_h1", "mse")


def relative_l2(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample relative L2 error ‖pred − target‖ / ‖target‖ over all non-batch dims, ``(B, ...) -> (B,)``."""
    diff = (prediction - target).flatten(1).norm(dim=1)
    return diff / target.flatten(1).norm(dim=1).clamp_min(1e-12)


def dcdm_loss(direction: torch.Tensor, rhs: torch.Tensor, apply_A: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """DCDM's unsupervised loss: mean over samples of ``‖b − α A f‖²`` with ``α = fᵀb / fᵀAf``.

    ``α`` is the exact line-search step along ``f``, so the loss only sees the direction of ``f``
    (``f`` and ``c·f`` give the same loss) and is zero iff ``f ∝ A⁻¹b``; no solutions are needed.

    Args:
        direction: the network's outputs ``f(b)``, ``(B, n)``.
        rhs: the right-hand sides ``b``, ``(B, n)``.
        apply_A: ``(B, n) → (B, n)``, the SPD operator applied to each row.
    """
    Af = apply_A(direction)
    alpha = (direction * rhs).sum(dim=1, keepdim=True) / (direction * Af).sum(dim=1, keepdim=True)
    return ((rhs - alpha * Af) ** 2).sum(dim=1).mean()


def pcg_residual_loss(
    apply_A: Callable[[torch.Tensor], torch.Tensor], apply_M: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, steps: int
) -> torch.Tensor:
    """Mean over columns of ``log(‖r_k‖ / ‖b‖)`` after ``steps`` preconditioned CG steps from zero,
    differentiable in ``M`` (``b`` ``(n, k)``; ``apply_A``, ``apply_M`` on ``(n, k)``). What CG with
    ``M`` achieves in ``steps`` iterations, so lowering it is aimed at CG's convergence; the log keeps
    the scale of a good and of a poor preconditioner comparable."""
    r = b
    z = apply_M(r)
    p, rz = z, (r * z).sum(0)
    for _ in range(steps):
        Ap = apply_A(p)
        alpha = rz / (p * Ap).sum(0)
        r = r - alpha * Ap
        z = apply_M(r)
        rz_next = (r * z).sum(0)
        p, rz = z + (rz_next / rz) * p, rz_next
    return torch.log(r.norm(dim=0) / b.norm(dim=0)).mean()


def proximal_matching_loss(prediction: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """LPN's proximal matching loss: mean over samples of ``1 − exp(−(‖f(y) − x‖ / γ)²)``.

    A smoothed 0–1 loss (the normalizing constant dropped): as ``γ → 0`` its minimizer is the
    posterior mode, so a network trained with it approaches the MAP denoiser, i.e. the proximal
    operator of the negative log-prior. ``(B, ...)`` inputs, norms over all non-batch dimensions.
    """
    distance = (prediction - target).flatten(1).norm(dim=1)
    return (1.0 - torch.exp(-((distance / gamma) ** 2))).mean()


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
