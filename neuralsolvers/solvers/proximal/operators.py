"""Proximal operators for the splitting solvers: ``prox(v, t) = argmin_x ½‖x − v‖² + t g(x)``.

Each takes a batch of signals ``(B, n)`` or images ``(B, H, W)`` and the step ``t > 0`` (PGD's step
size, ADMM's ``1/ρ``), and returns the same shape:

* ``SoftThreshold``: ``g = λ‖x‖₁`` (elementwise shrinkage by ``tλ``);
* ``HaarThreshold``: ``g = λ‖W x‖₁`` over the detail coefficients of an orthonormal multilevel
  2D Haar transform ``W`` (exact: ``Wᵀ shrink(W v)``), the classical wavelet prior;
* ``TotalVariation``: ``g = λ TV(x)`` by Chambolle's projection algorithm
  (``skimage.restoration.denoise_tv_chambolle``, per image, on the CPU);
* ``NetworkProx``: a trained network ``f`` used as the prox, ``prox(v, t) = f(v)`` for any
  ``t``: an LPN is the exact prox of its learned regularizer at the strength it was trained for, so
  the solver's step only weighs the data term (the paper's plug-and-play use).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["HaarThreshold", "NetworkProx", "ProximalOperator", "SoftThreshold", "TotalVariation", "haar", "inverse_haar"]


class ProximalOperator:
    """``prox(v, t)`` of ``t g`` for a fixed ``g``."""

    def __call__(self, v: torch.Tensor, t: float) -> torch.Tensor:
        raise NotImplementedError


def _shrink(v: torch.Tensor, threshold: float) -> torch.Tensor:
    return torch.sign(v) * torch.clamp(v.abs() - threshold, min=0.0)


class SoftThreshold(ProximalOperator):
    """``prox`` of ``λ‖x‖₁``: ``sign(v) max(|v| − tλ, 0)``."""

    def __init__(self, lam: float):
        if lam < 0:
            raise ValueError(f"lam must be non-negative, got {lam}")
        self.lam = lam

    def __call__(self, v: torch.Tensor, t: float) -> torch.Tensor:
        return _shrink(v, t * self.lam)


def haar(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Orthonormal 2D Haar transform of ``(..., H, W)`` (``H``, ``W`` divisible by ``2^levels``):
    ``[approximation, details_coarsest, …, details_finest]``, each detail ``(..., 3, h, w)``."""
    coefficients = []
    for _ in range(levels):
        a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
        c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
        x = (a + b + c + d) / 2
        coefficients.append(torch.stack([(a - b + c - d) / 2, (a + b - c - d) / 2, (a - b - c + d) / 2], dim=-3))
    return [x, *reversed(coefficients)]


def inverse_haar(coefficients: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of ``haar``."""
    x = coefficients[0]
    for details in coefficients[1:]:
        horizontal, vertical, diagonal = details.unbind(dim=-3)
        out = x.new_empty(*x.shape[:-2], 2 * x.shape[-2], 2 * x.shape[-1])
        out[..., 0::2, 0::2] = (x + horizontal + vertical + diagonal) / 2
        out[..., 0::2, 1::2] = (x - horizontal + vertical - diagonal) / 2
        out[..., 1::2, 0::2] = (x + horizontal - vertical - diagonal) / 2
        out[..., 1::2, 1::2] = (x - horizontal - vertical + diagonal) / 2
        x = out
    return x


class HaarThreshold(ProximalOperator):
    """``prox`` of ``λ‖W x‖₁`` on the Haar detail coefficients (the approximation is kept):
    ``Wᵀ shrink(W v, tλ)``, exact because ``W`` is orthonormal."""

    def __init__(self, lam: float, levels: int = 3):
        if lam < 0 or levels < 1:
            raise ValueError(f"need lam ≥ 0 and levels ≥ 1, got {lam}, {levels}")
        self.lam, self.levels = lam, levels

    def __call__(self, v: torch.Tensor, t: float) -> torch.Tensor:
        if v.shape[-1] % 2**self.levels or v.shape[-2] % 2**self.levels:
            raise ValueError(f"image sides must be divisible by 2^{self.levels}, got {tuple(v.shape[-2:])}")
        coefficients = haar(v, self.levels)
        return inverse_haar([coefficients[0], *(_shrink(c, t * self.lam) for c in coefficients[1:])])


class TotalVariation(ProximalOperator):
    """``prox`` of ``λ TV(x)`` (isotropic) by Chambolle's algorithm, per image of ``(B, H, W)``."""

    def __init__(self, lam: float, max_iterations: int = 200, eps: float = 1e-5):
        if lam < 0:
            raise ValueError(f"lam must be non-negative, got {lam}")
        self.lam, self.max_iterations, self.eps = lam, max_iterations, eps

    def __call__(self, v: torch.Tensor, t: float) -> torch.Tensor:
        from skimage.restoration import denoise_tv_chambolle

        images = v.detach().cpu().double().numpy().reshape(-1, *v.shape[-2:])
        out = np.stack([
            denoise_tv_chambolle(image, weight=t * self.lam, eps=self.eps, max_num_iter=self.max_iterations)
            for image in images
        ])  # fmt: skip
        return torch.from_numpy(out.reshape(v.shape)).to(v)


class NetworkProx(ProximalOperator):
    """A trained proximal network as the prox (``t`` ignored); images ``(B, H, W)`` get a channel axis
    for the network and lose it again."""

    def __init__(self, network: nn.Module):
        self.network = network

    def __call__(self, v: torch.Tensor, t: float) -> torch.Tensor:
        with torch.no_grad():
            if v.dim() == 3:
                return self.network(v[:, None].to(next(self.network.parameters()).dtype))[:, 0].to(v.dtype)
            return self.network(v)
