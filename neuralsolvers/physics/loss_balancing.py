"""Weights of the loss terms of physics-informed training: fixed, or learning-rate annealing.

The total loss is ``Σ_i λ_i L_i`` over the problem's terms (``residual``, ``boundary``, ``initial``,
``data``); the residual's weight stays 1.

``LearningRateAnnealing`` (Wang, Teng & Perdikaris 2021, Algorithm 1): every ``every`` steps,
for each term ``i`` other than the residual,

    λ̂_i = max_θ |∇_θ L_r| / mean_θ |∇_θ L_i|,     λ_i ← (1 − α) λ_i + α λ̂_i,

with ``α = 0.9`` in the paper. ``variant: code`` follows the authors' published code instead: the
gradient of the already weighted term ``λ_i L_i``, only weight matrices (no biases), the mean taken
per layer and then averaged over layers; their code also weights the new estimate by 0.1, i.e.
``alpha: 0.1``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FixedWeights", "LearningRateAnnealing", "LossBalancing"]

VARIANTS = ("paper", "code")


class LossBalancing:
    """Weights of the loss terms; ``update`` may change them from the current losses."""

    def __init__(self, weights: dict[str, float] | None = None):
        self.weights: dict[str, float] = dict(weights or {})

    def weight(self, term: str) -> float:
        return self.weights.setdefault(term, 1.0)

    def total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """``Σ_i λ_i L_i``."""
        return sum(self.weight(term) * loss for term, loss in losses.items())  # type: ignore[return-value]

    def update(self, losses: dict[str, torch.Tensor], model: nn.Module, step: int) -> bool:
        """Adapt the weights at optimizer step ``step``; True if they changed."""
        return False


class FixedWeights(LossBalancing):
    """Constant weights (terms not named weigh 1).

    Args:
        weights: term → weight, e.g. ``{boundary: 10.0}``.
    """


class LearningRateAnnealing(LossBalancing):
    """Learning-rate annealing of the non-residual terms (module docstring).

    Algorithm 1 of Wang, Teng and Perdikaris, "Understanding and mitigating gradient pathologies
    in physics-informed neural networks" (SIAM Journal on Scientific Computing 43, 2021; code:
    <https://github.com/PredictiveIntelligenceLab/GradientPathologiesPINNs>): every ``every``
    steps, for each term ``i`` other than the residual ``r``,

        λ̂_i = max_θ |∇_θ L_r| / mean_θ |∇_θ L_i|,   λ_i ← (1 − α) λ_i + α λ̂_i.

    Args:
        alpha: weight of the new estimate in the moving average (paper 0.9; the authors' code 0.1).
        every: update period in optimizer steps (the paper: 10).
        variant: ``paper`` or ``code`` (module docstring).
        weights: initial weights (default 1).
    """

    def __init__(self, alpha: float = 0.9, every: int = 10, variant: str = "paper", weights: dict[str, float] | None = None):
        super().__init__(weights)
        if not 0 < alpha <= 1 or every < 1:
            raise ValueError(f"alpha must lie in (0, 1] and every ≥ 1, got {alpha}, {every}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.alpha, self.every, self.variant = alpha, every, variant

    def _gradients(self, loss: torch.Tensor, parameters: list[nn.Parameter]) -> list[torch.Tensor]:
        grads = torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g.detach().abs() for g, p in zip(grads, parameters, strict=True)]

    def estimate(self, losses: dict[str, torch.Tensor], model: nn.Module) -> dict[str, float]:
        """``λ̂_i`` for every non-residual term at the current parameters."""
        parameters = [p for p in model.parameters() if p.requires_grad and (self.variant == "paper" or p.dim() >= 2)]
        peak = max(float(g.max()) for g in self._gradients(losses["residual"], parameters))
        estimates = {}
        for term, loss in losses.items():
            if term == "residual":
                continue
            grads = self._gradients(self.weight(term) * loss if self.variant == "code" else loss, parameters)
            if self.variant == "paper":
                mean = float(torch.cat([g.flatten() for g in grads]).mean())
            else:
                mean = float(torch.stack([g.mean() for g in grads]).mean())
            estimates[term] = peak / max(mean, 1e-30)
        return estimates

    def update(self, losses: dict[str, torch.Tensor], model: nn.Module, step: int) -> bool:
        if "residual" not in losses:
            raise KeyError(f"learning-rate annealing needs a 'residual' term, got {sorted(losses)}")
        if step % self.every:
            return False
        for term, estimate in self.estimate(losses, model).items():
            self.weights[term] = (1 - self.alpha) * self.weight(term) + self.alpha * estimate
        return True
