"""Problems with a hidden term learned by a second network (UPINN, Podina et al.).

* ``LotkaVolterraHidden``: ``u₁' = α u₁ + F₁(u)``, ``u₂' = −δ u₂ + F₂(u)`` with the hidden
  term ``F`` the network's ``term`` (``HiddenTermNet``); its terms are the
  residual and the ``data`` term, the fit to sparse noisy measurements (from
  ``PINNDataModule`` ``measurements``).
* ``ReactionDiffusionHidden``: ``u_t = D u_xx + F(u)`` on (x, t) ∈ [0, 1] × [0, t_final],
  ``u(0, t) = u(1, t) = 0``, ``u(x, 0) = a sin(πx)``, with the reaction ``F`` hidden (the
  Fisher–KPP data of ``FisherKPPObservations``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from neuralsolvers.errors import ConfigError
from neuralsolvers.physics.pinn_problems import (
    CollocationSampler,
    Network,
    PDEProblem,
    derivative,
    first_output,
)

__all__ = ["LotkaVolterraHidden", "ReactionDiffusionHidden"]

class _HiddenTermProblem(PDEProblem):
    """A problem whose network must also give the hidden term, ``net.term(u)``."""

    def check_network(self, net: nn.Module) -> None:
        if not callable(getattr(net, "term", None)):
            raise ConfigError(f"{type(self).__name__} needs a network with a hidden term (HiddenTermNet), got {type(net).__name__}")


class LotkaVolterraHidden(_HiddenTermProblem):
    """Lotka–Volterra with known linear parts and a learned hidden term (module docstring).

    Args:
        alpha: the known growth and decay rates; t_final: the time span [0, t_final].
        delta: see `alpha`.
    """

    coordinates = ("t",)
    terms = ("residual", "data")
    reference_generator = "lotka_volterra_observations"

    def __init__(self, alpha: float = 1.3, delta: float = 1.8, t_final: float = 3.0):
        self.alpha, self.delta = alpha, delta
        self.low, self.high = [0.0], [t_final]

    def reference_parameters(self) -> dict[str, float]:
        return {"alpha": self.alpha, "delta": self.delta, "t_final": self.high[0]}

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        u = net(x)
        rates = torch.stack([derivative(u[:, k], x, 0) for k in range(2)], dim=1)
        known = torch.stack([self.alpha * u[:, 0], -self.delta * u[:, 1]], dim=1)
        return rates - known - net.term(u)  # type: ignore[attr-defined]

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"residual": self._residual_loss(net, sampler, batch_size, like)}

    def predict(self, net: Network, points: torch.Tensor, grid_shape: tuple[int, ...]) -> torch.Tensor:
        return net(points)


class ReactionDiffusionHidden(_HiddenTermProblem):
    """Reaction–diffusion with a known diffusivity and a learned reaction term (module docstring).

    Args:
        diffusivity: ``D``; amplitude: ``a`` of the initial condition; t_final: the time span.
    """

    coordinates = ("x", "t")
    terms = ("residual", "initial", "boundary", "data")
    reference_generator = "fisher_kpp_observations"

    def __init__(self, diffusivity: float = 0.01, amplitude: float = 0.5, t_final: float = 2.0):
        self.diffusivity, self.amplitude = diffusivity, amplitude
        self.low, self.high = [0.0, 0.0], [1.0, t_final]

    def reference_parameters(self) -> dict[str, float]:
        return {"diffusivity": self.diffusivity, "amplitude": self.amplitude, "t_final": self.high[1]}

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        u = first_output(net, x)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        return derivative(u, x, 1) - self.diffusivity * u_xx - net.term(u[:, None])[:, 0]  # type: ignore[attr-defined]

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        start = self._face(sampler, batch_size, 1, 0.0, like)
        initial = (first_output(net, start) - self.amplitude * torch.sin(math.pi * start[:, 0])).square().mean()
        boundary = self._faces_loss(net, sampler, batch_size, [(0, 0.0), (0, 1.0)], like, target=lambda p: torch.zeros_like(p[:, 0]))
        return {"residual": self._residual_loss(net, sampler, batch_size, like), "initial": initial, "boundary": boundary}
