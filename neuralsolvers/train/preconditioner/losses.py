"""The unsupervised losses of the learned preconditioners: DCDM's scale-invariant loss, the log
residual after a few preconditioned CG steps and the energy-norm contraction of a cycle's error
propagation. None needs a solution."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["cycle_energy_loss", "dcdm_loss", "pcg_residual_loss"]


def dcdm_loss(direction: torch.Tensor, rhs: torch.Tensor, apply_A: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """DCDM's unsupervised loss (Kaneda et al. 2023): mean over samples of ``‖b − α A f‖²`` with
    ``α = fᵀb / fᵀAf``.

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
    """The neural multigrid's loss: mean over columns of ``log(‖r_k‖ / ‖b‖)`` after ``steps``
    preconditioned CG steps from zero, differentiable in ``M`` (``b`` ``(n, k)``; ``apply_A``,
    ``apply_M`` on ``(n, k)``). What CG with ``M`` achieves in ``steps`` iterations, so lowering it is
    aimed at CG's convergence; the log keeps the scale of a good and of a poor preconditioner comparable."""
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


def cycle_energy_loss(
    apply_A: Callable[[torch.Tensor], torch.Tensor], apply_M: Callable[[torch.Tensor], torch.Tensor], e: torch.Tensor, powers: int
) -> torch.Tensor:
    """Mean over columns of ``log(‖Eᵏ e‖_A / ‖e‖_A) / k`` for the error propagation ``E = I − M A`` of a
    stationary iteration with ``M`` (a multigrid cycle's), ``k = powers`` applications to random errors
    ``e`` ``(n, m)`` (``apply_A``, ``apply_M`` on ``(n, m)``); differentiable in ``M``.

    The power iteration leans towards the modes the cycle reduces least, so the loss estimates the log of
    its energy-norm convergence factor (Luz et al. 2020 train on the Frobenius norm of the two-grid
    ``E``; this is its matrix-free, stochastic counterpart). Each step is renormalized, so a fast cycle
    does not underflow.
    """
    total = torch.zeros(e.shape[1], dtype=e.dtype, device=e.device)
    Ae = apply_A(e)
    energy = (e * Ae).sum(0)
    for _ in range(powers):
        e = e - apply_M(Ae)
        Ae = apply_A(e)
        following = (e * Ae).sum(0)
        total = total + 0.5 * torch.log(following / energy)
        scale = following.sqrt()
        e, Ae, energy = e / scale, Ae / scale, torch.ones_like(following)
    return (total / powers).mean()
