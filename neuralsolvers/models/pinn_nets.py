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

``LagrangianNet`` (Mojgani, Balajewicz & Hassanzadeh, "Lagrangian PINNs"): two branches over
(starting position ``x₀``, time ``t``) with the periodic embedding ``(cos 2πx₀/L, sin 2πx₀/L, t)``:
the state along the characteristic ``U(x₀, t)`` and the characteristic curve
``X(x₀, t) = x₀ + D(x₀, t)``. The paper's code fits ``X`` itself from the periodic embedding, which
cannot represent ``X(x₀, 0) = x₀`` across the wrap ``x₀ = 0 ≡ L``; the displacement ``D`` is
periodic, so here the curve is exact at the wrap.

``HiddenTermNet`` (UPINN, Podina et al.): the solution network plus a second network ``F(u)``
of the state for an unknown term of the equation (``u' = known(u) + F(u)``), trained together from
sparse noisy data and the residual; sparse regression then turns ``F`` into a formula
(``neuralsolvers.solvers.nonlinear.sparse_regression``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from neuralsolvers.models.mlp import MLP, activation
from neuralsolvers.models.registry import register_model

__all__ = ["HiddenTermNet", "LagrangianNet", "PINNNet"]

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

    The physics-informed network of Raissi, Perdikaris and Karniadakis, "Physics-informed neural
    networks: A deep learning framework for solving forward and inverse problems involving
    nonlinear partial differential equations" (Journal of Computational Physics 378, 2019,
    <https://doi.org/10.1016/j.jcp.2018.10.045>); with
    ``architecture="modified_mlp"`` the modified MLP of Wang, Teng and Perdikaris, "Understanding
    and mitigating gradient pathologies in physics-informed neural networks" (SIAM Journal on
    Scientific Computing 43, 2021; code:
    <https://github.com/PredictiveIntelligenceLab/GradientPathologiesPINNs>):

        U = φ(X W¹ + b¹),  V = φ(X W² + b²),  Z_k = φ(H_{k−1} W^{z,k} + b^{z,k}),
        H_k = (1 − Z_k) ⊙ U + Z_k ⊙ V,  u = H_L W + b,

    with ``X = (x − center) / scale``.

    Args:
        in_features: coordinates (2 for (x, y) or (x, t)).
        out_features: solution components.
        hidden: width of each hidden layer.
        layers: number of hidden layers.
        architecture: ``mlp`` or ``modified_mlp`` (module docstring).
        act: activation name (tanh in the papers).
        center: per-coordinate standardization (lists of ``in_features``; default 0 and 1).
        scale: see `center`.

    Shapes:
        - **input:** ``x`` ``(N, in_features)``: points in the problem's physical coordinates
          (e.g. ``(x, t)``), standardized inside by ``center`` and ``scale``.
        - **output:** ``(N, out_features)``: the solution at those points, in its physical units.
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


@register_model("lagrangian_net")
class LagrangianNet(nn.Module):
    """Two-branch network of the Lagrangian PINN: ``(x₀, t) -> (U, X)`` (module docstring).

    From Mojgani, Balajewicz and Hassanzadeh, "Lagrangian PINNs: A causality-conforming solution
    to failure modes of physics-informed neural networks" (arXiv preprint, 2022; journal version
    in Computer Methods in Applied Mechanics and Engineering 404, 2023). For
    ``w_t + f w_x = ν w_xx`` along the characteristics ``X(x₀, t)``:

        X_t = f,   U_t = ν U_xx,   X(x₀, t) = x₀ + D(x₀, t),

    ``U`` and ``D`` two networks of ``(cos 2πx₀/L, sin 2πx₀/L, t / time_scale)``.

    Args:
        period: the spatial period ``L`` (2π for the convection benchmark).
        hidden: width of both branches.
        state_layers: hidden layers of the ``U`` branch (the paper's code: 3–6).
        curve_layers: hidden layers of the ``D`` branch (the paper's code: 2).
        act: activation name.
        time_scale: ``t`` is divided by it (the final time).

    Shapes:
        - **input:** ``(N, 2)``, columns ``(x₀, t)``: starting position (units of ``x``) and time.
        - **output:** ``(N, 2)``, columns ``U`` (the state, in its physical units) and ``X`` (the
          position on the characteristic, units of ``x``).
    """

    def __init__(self, period: float = 2 * math.pi, hidden: int = 50, state_layers: int = 4, curve_layers: int = 2,
                 act: str = "tanh", time_scale: float = 1.0):  # fmt: skip
        super().__init__()
        if not period > 0 or not time_scale > 0:
            raise ValueError(f"period and time_scale must be positive, got {period}, {time_scale}")
        self.period, self.time_scale = period, time_scale
        self.state = MLP([3] + [hidden] * state_layers + [1], act=act)
        self.curve = MLP([3] + [hidden] * curve_layers + [1], act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"expected (x₀, t) pairs (N, 2), got {tuple(x.shape)}")
        start, t = x[:, :1], x[:, 1:]
        angle = 2 * math.pi * start / self.period
        features = torch.cat([torch.cos(angle), torch.sin(angle), t / self.time_scale], dim=1)
        return torch.cat([self.state(features), start + self.curve(features)], dim=1)


@register_model("hidden_term_net")
class HiddenTermNet(PINNNet):
    """A ``PINNNet`` ``u(x)`` with a second network ``F(u)`` for a hidden term of the equation.

    From Podina, Eastman and Kohandel, "A PINN Approach to Symbolic Differential Operator Discovery
    with Sparse Data" (NeurIPS 2022 Workshop on the Symbiosis of Deep Learning and Differential
    Equations; as "Universal Physics-Informed Neural Networks: Symbolic Differential Operator
    Discovery with Sparse Data", ICML 2023). For ``u' = known(u) + F(u)`` both networks are
    trained on the residual ``u_θ' − known(u_θ) − F_φ(u_θ)`` and sparse data; ``F`` is then
    turned into a formula by sparse regression.

    Args:
        in_features: the solution
            network, as in ``PINNNet``.
        out_features: see `in_features`.
        hidden: see `in_features`.
        layers: see `in_features`.
        architecture: see `in_features`.
        act: see `in_features`.
        center: see `in_features`.
        scale: see `in_features`.
        term_inputs: ``F``'s input (usually ``out_features``, the state) and output sizes.
        term_outputs: see `term_inputs`.
        term_hidden: ``F``'s width and hidden layers (tanh).
        term_layers: see `term_hidden`.

    Shapes:
        - **input:** ``x`` ``(N, in_features)`` points (e.g. times), as in ``PINNNet``.
        - **output:** ``(N, out_features)``: the state ``u`` at those points, in its units.
        - **term(state):** ``(N, term_inputs)`` states to ``(N, term_outputs)`` values of the
          hidden term (units of ``u'``).
    """

    def __init__(
        self,
        in_features: int = 1,
        out_features: int = 2,
        hidden: int = 50,
        layers: int = 3,
        architecture: str = "mlp",
        act: str = "tanh",
        center: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        term_inputs: int = 2,
        term_outputs: int = 2,
        term_hidden: int = 32,
        term_layers: int = 2,
    ):
        super().__init__(in_features, out_features, hidden, layers, architecture, act, center, scale)
        self.hidden_term = MLP([term_inputs] + [term_hidden] * term_layers + [term_outputs], act="tanh")

    def term(self, state: torch.Tensor) -> torch.Tensor:
        """The learned hidden term ``F(u)``."""
        return self.hidden_term(state)
