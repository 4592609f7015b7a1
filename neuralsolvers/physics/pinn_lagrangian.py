"""The Lagrangian PINN's problem (Mojgani, Balajewicz & Hassanzadeh): transport in the frame of the characteristics.

``LagrangianTransport``: ``u_t + a u_x = ν u_xx`` with ``a = β`` (convection,
convection–diffusion) or ``a = u`` (Burgers), for ``LagrangianNet``
``(x₀, t) -> (U, X)``: ``X_t = a`` (term ``characteristic``) and ``U_t = ν U_XX`` (``residual``),
where the derivative along the physical position is taken by the chain rule,
``U_X = U_x₀ / X_x₀`` (the paper's code differentiates with respect to ``x₀`` instead); initial
``U(x₀, 0) = sin x₀``, ``X(x₀, 0) = x₀``. Predictions on a fixed grid interpolate ``U`` from the
moved positions ``X mod 2π``, periodically.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from neuralsolvers.errors import ConfigError
from neuralsolvers.models.pinn_nets import LagrangianNet
from neuralsolvers.physics.pinn_problems import (
    CollocationSampler,
    Network,
    PDEProblem,
    derivative,
)

__all__ = ["LagrangianTransport"]

SPEEDS = ("constant", "state")


class LagrangianTransport(PDEProblem):
    """``u_t + a u_x = ν u_xx`` on [0, 2π) × [0, t_final], periodic, ``u(x, 0) = sin x``, in the
    Lagrangian frame (module docstring); ``speed: constant`` is ``a = β``, ``state`` is ``a = u``.

    Exact (constant speed): ``e^{−νt} sin(x − βt)``.
    """

    coordinates = ("x0", "t")
    terms = ("residual", "characteristic", "initial")

    def __init__(self, beta: float = 30.0, nu: float = 0.0, speed: str = "constant", t_final: float = 1.0):
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, got {speed!r}")
        if nu < 0 or not t_final > 0:
            raise ValueError(f"nu must be ≥ 0 and t_final > 0, got {nu}, {t_final}")
        self.beta, self.nu, self.speed = beta, nu, speed
        self.low, self.high = [0.0, 0.0], [2 * math.pi, t_final]
        self.reference_generator = "convection_reference" if speed == "constant" and nu == 0 else None

    def reference_parameters(self) -> dict[str, float]:
        return {"beta": self.beta}

    def exact(self, x: torch.Tensor) -> torch.Tensor | None:
        if self.speed != "constant":
            return None
        return torch.exp(-self.nu * x[:, 1]) * torch.sin(x[:, 0] - self.beta * x[:, 1])

    def residuals(self, net: Network, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(U_t − ν U_XX, X_t − a)`` at ``(x₀, t)`` points ``x`` (requiring grad)."""
        out = net(x)
        state, curve = out[:, 0], out[:, 1]
        along = derivative(state, x, 1)
        if self.nu > 0:
            stretch = derivative(curve, x, 0)  # ∂X/∂x₀
            u_position = derivative(state, x, 0) / stretch
            along = along - self.nu * derivative(u_position, x, 0) / stretch
        speed = self.beta if self.speed == "constant" else state
        return along, derivative(curve, x, 1) - speed

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        return self.residuals(net, x)[0]

    def check_network(self, net: nn.Module) -> None:
        if not isinstance(net, LagrangianNet):
            raise ConfigError(f"LagrangianTransport trains a LagrangianNet (state and characteristic), got {type(net).__name__}")

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        state, characteristic = self.residuals(net, self._interior(sampler, batch_size, like))
        start = self._face(sampler, batch_size, 1, 0.0, like)
        initial = net(start)
        return {
            "residual": state.square().mean(),
            "characteristic": characteristic.square().mean(),
            "initial": (initial[:, 0] - torch.sin(start[:, 0])).square().mean() + (initial[:, 1] - start[:, 0]).square().mean(),
        }

    def predict(self, net: Network, points: torch.Tensor, grid_shape: tuple[int, ...]) -> torch.Tensor:
        """Start the characteristics at the grid's x positions; interpolate ``U`` at each time from
        the moved positions ``X mod 2π`` back onto the grid (periodic, linear)."""
        period = self.high[0]
        out = net(points)
        rows, columns = grid_shape
        grid = points[:, 0].reshape(rows, columns)
        moved, state = torch.remainder(out[:, 1], period).reshape(rows, columns), out[:, 0].reshape(rows, columns)
        moved, order = torch.sort(moved, dim=1)
        state = torch.gather(state, 1, order)
        moved = torch.cat([moved[:, -1:] - period, moved, moved[:, :1] + period], dim=1)
        state = torch.cat([state[:, -1:], state, state[:, :1]], dim=1)
        right = torch.searchsorted(moved, grid.contiguous()).clamp(1, moved.shape[1] - 1)
        x0, x1 = torch.gather(moved, 1, right - 1), torch.gather(moved, 1, right)
        u0, u1 = torch.gather(state, 1, right - 1), torch.gather(state, 1, right)
        weight = (grid - x0) / (x1 - x0).clamp_min(1e-12)
        return (u0 + weight * (u1 - u0)).reshape(-1)
