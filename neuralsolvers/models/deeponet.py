"""DeepONet (Lu, Jin, Karniadakis, Nature Machine Intelligence 2021).

G(u)(y) ≈ Σ_k b_k(u) t_k(y) + b₀: a branch net encodes the input function ``u`` from its values at
``m`` fixed sensors, a trunk net encodes a query point ``y``, and their dot product plus a scalar
bias gives the output. This is the *unstacked* DeepONet with bias (one branch net with ``p``
outputs), which the paper found best. As in DeepXDE, the trunk output passes the activation, the
branch output is linear and b₀ starts at zero.

Two evaluation forms share the same weights:

* Cartesian product (DeepXDE's ``DeepONetCartesianProd``): ``points`` of shape ``(P, d)`` are
  shared by every function in the batch; the trunk runs once for all ``P`` points.
* Aligned (DeepXDE's ``DeepONet`` on triples): ``points`` of shape ``(B, P, d)`` hold each function's
  own query points (``P = 1`` is the classical triple form).

Normalization: scalar mean/std of the inputs and outputs and the bounding box of the query points
are buffers, set from training data by ``DeepONet.fit_normalization``, so a loaded model takes
raw inputs and returns outputs in physical units. Shapes: see ``DeepONet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuralsolvers.models.mlp import MLP
from neuralsolvers.models.registry import register_model

__all__ = ["DeepONet"]


@register_model("deeponet")
class DeepONet(nn.Module):
    """Unstacked DeepONet with bias, in Cartesian-product and aligned (triple) forms.

    From Lu, Jin and Karniadakis, "DeepONet: Learning nonlinear operators for identifying
    differential equations based on the universal approximation theorem of operators" (arXiv
    preprint, 2019, <https://arxiv.org/abs/1910.03193>; published with Pang and Zhang as "Learning nonlinear operators via DeepONet
    based on the universal approximation theorem of operators", Nature Machine Intelligence 3,
    2021). With the branch net ``b = (b_1, …, b_p)`` and the trunk net ``t = (t_1, …, t_p)``:

        G(u)(y) ≈ Σ_{k=1}^{p} b_k(u(x_1), …, u(x_m)) · t_k(y) + b₀

    Args:
        num_sensors: ``m``, number of sensor values of each input function.
        coord_dim: ``d``, dimension of a query point.
        branch_widths: hidden widths of the branch net.
        trunk_widths: hidden widths of the trunk net.
        num_basis: ``p``, number of basis functions (outputs of branch and trunk).
        activation: activation name (``tanh``, ``relu``, ``gelu``, ``silu``, ...).
        normalize_input: standardize the sensor values with training statistics.
        normalize_output: predict standardized outputs, rescaled on the way out.

    Shapes:
        - **u:** ``(B, m)``: each input function's values at the ``m`` sensors, in its physical
          units (standardized inside).
        - **points:** ``(P, d)`` query points shared by the batch (Cartesian product), or
          ``(B, P, d)``, each function's own (aligned); ``(P,)`` when ``d = 1``. In the domain's
          coordinates (mapped inside to ``[−1, 1]`` by the training points' bounding box).
        - **output:** ``(B, P)``: ``G(u)(y)`` at each point, in the output's physical units.
    """

    def __init__(
        self,
        num_sensors: int,
        coord_dim: int = 1,
        branch_widths: Sequence[int] = (128, 128),
        trunk_widths: Sequence[int] = (128, 128),
        num_basis: int = 64,
        activation: str = "tanh",
        normalize_input: bool = True,
        normalize_output: bool = True,
    ):
        super().__init__()
        self.num_sensors = int(num_sensors)
        self.coord_dim = int(coord_dim)
        self.normalize_input = normalize_input
        self.normalize_output = normalize_output
        self.branch = MLP([self.num_sensors, *branch_widths, num_basis], act=activation)
        self.trunk = MLP([self.coord_dim, *trunk_widths, num_basis], act=activation, last_activation=True)
        self.bias = nn.Parameter(torch.zeros(()))
        self.register_buffer("input_mean", torch.zeros(()))
        self.register_buffer("input_std", torch.ones(()))
        self.register_buffer("output_mean", torch.zeros(()))
        self.register_buffer("output_std", torch.ones(()))
        self.register_buffer("points_low", -torch.ones(self.coord_dim))
        self.register_buffer("points_high", torch.ones(self.coord_dim))

    @torch.no_grad()
    def fit_normalization(self, inputs: torch.Tensor, targets: torch.Tensor, points: torch.Tensor) -> None:
        """Set the normalization buffers from training data.

        inputs ``(N, m)``, targets ``(N, P)``, points ``(P, d)`` or ``(N, P, d)``.
        """
        if self.normalize_input:
            self.input_mean.copy_(inputs.mean())
            self.input_std.copy_(inputs.std().clamp_min(1e-12))
        if self.normalize_output:
            self.output_mean.copy_(targets.mean())
            self.output_std.copy_(targets.std().clamp_min(1e-12))
        flat = self._as_points(points).reshape(-1, self.coord_dim)
        low, high = flat.min(0).values, flat.max(0).values
        self.points_low.copy_(low)
        self.points_high.copy_(torch.where(high > low, high, low + 1))

    def _as_points(self, points: torch.Tensor) -> torch.Tensor:
        if self.coord_dim == 1 and points.dim() == 1:
            points = points[:, None]
        if points.dim() not in (2, 3) or points.shape[-1] != self.coord_dim:
            raise ValueError(
                f"DeepONet expects points of shape (P, {self.coord_dim}) or (B, P, {self.coord_dim}), "
                f"got {tuple(points.shape)}"
            )
        return points

    def forward(self, u: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        if u.dim() != 2 or u.shape[1] != self.num_sensors:
            raise ValueError(f"DeepONet expects u of shape (B, {self.num_sensors}), got {tuple(u.shape)}")
        points = self._as_points(points)
        branch = self.branch((u - self.input_mean) / self.input_std)
        scaled = 2 * (points - self.points_low) / (self.points_high - self.points_low) - 1
        trunk = self.trunk(scaled)
        if points.dim() == 2:
            out = branch @ trunk.T
        else:
            if points.shape[0] != u.shape[0]:
                raise ValueError(f"aligned form needs one point set per function: {points.shape[0]} != {u.shape[0]}")
            out = torch.einsum("bk,bpk->bp", branch, trunk)
        return (out + self.bias) * self.output_std + self.output_mean
