"""Networks for physics-informed training: a plain MLP and the modified MLP of Wang, Teng & Perdikaris.

Both map coordinates to the solution, ``(N, in_features) -> (N, out_features)``, with tanh (or any
named activation) and Xavier-normal weights. Coordinates are standardized inside the network,
``(x − center) / scale`` per input, so the physical domain is what the PDE differentiates against
(``center``/``scale`` come from the problem's domain; the paper uses the mean and standard deviation
of uniform samples, i.e. ``scale = width / √12``).

Modified MLP ("Understanding and mitigating gradient pathologies", 2021): two encoders
``U = φ(X W¹ + b¹)``, ``V = φ(X W² + b²)`` gate every hidden layer,
``Z_k = φ(H_{k−1} W^{z,k} + b^{z,k})``, ``H_k = (1 − Z_k) ⊙ U + Z_k ⊙ V`` (``H_0 = X``), and a
linear output ``H_L W + b``. The paper's code writes ``Z ⊙ U + (1 − Z) ⊙ V``: the same family with
the encoders' names swapped.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuralsolvers.models.mlp import MLP, activation
from neuralsolvers.models.registry import register_model

__all__ = ["PINNNet"]

ARCHITECTURES = ("mlp", "modified_mlp")


class _ModifiedMLP(nn.Module):
    def __init__(self, in_features: int, out_features: int, hidden: int, layers: int, act: str):
        super().__init__()
        self.encoder_u, self.encoder_v = nn.Linear(in_features, hidden), nn.Linear(in_features, hidden)
        widths = [in_features] + [hidden] * layers
        self.gates = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.output = nn.Linear(hidden, out_features)
        self.act = activation(act)
        for layer in (*self.gates, self.output):
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
        for encoder in (self.encoder_u, self.encoder_v):  # the paper's code: Xavier for weights and biases
            nn.init.xavier_normal_(encoder.weight)
            nn.init.normal_(encoder.bias, std=(2.0 / (1 + hidden)) ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, v = self.act(self.encoder_u(x)), self.act(self.encoder_v(x))
        h = x
        for gate in self.gates:
            z = self.act(gate(h))
            h = (1 - z) * u + z * v
        return self.output(h)


@register_model("pinn_net")
class PINNNet(nn.Module):
    """A coordinate network ``u(x)`` for physics-informed training.

    Args:
        in_features: coordinates (2 for (x, y) or (x, t)).
        out_features: solution components.
        hidden: width of each hidden layer; layers: number of hidden layers.
        architecture: ``mlp`` or ``modified_mlp`` (module docstring).
        act: activation name (tanh in the papers).
        center, scale: per-coordinate standardization (lists of ``in_features``; default 0 and 1).

    Shapes: ``(N, in_features) -> (N, out_features)``.
    """

    def __init__(
        self,
        in_features: int = 2,
        out_features: int = 1,
        hidden: int = 50,
        layers: int = 3,
        architecture: str = "mlp",
        act: str = "tanh",
        center: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
    ):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        if layers < 1 or hidden < 1:
            raise ValueError(f"hidden and layers must be positive, got {hidden}, {layers}")
        center = [0.0] * in_features if center is None else list(center)
        scale = [1.0] * in_features if scale is None else list(scale)
        if len(center) != in_features or len(scale) != in_features or min(scale) <= 0:
            raise ValueError(f"center and scale need {in_features} entries (scale positive), got {center}, {scale}")
        self.register_buffer("center", torch.tensor(center))
        self.register_buffer("scale", torch.tensor(scale))
        if architecture == "mlp":
            self.net: nn.Module = MLP([in_features] + [hidden] * layers + [out_features], act=act)
        else:
            self.net = _ModifiedMLP(in_features, out_features, hidden, layers, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.center.numel():
            raise ValueError(f"expected coordinates (N, {self.center.numel()}), got {tuple(x.shape)}")
        return self.net((x - self.center) / self.scale)
