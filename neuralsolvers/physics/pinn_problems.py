"""PDEs for physics-informed training: residuals by autograd, boundary and initial terms, collocation.

A ``PDEProblem`` gives, for a network ``u(x)`` (``(N, d) -> (N, 1)``), its loss terms as mean
squares: always ``residual`` (the PDE at interior collocation points), plus ``boundary`` and/or
``initial``. Points are drawn fresh every call by a ``CollocationSampler`` (uniform or scrambled
Sobol), ``batch_size`` per term and per boundary piece, as in the papers' code. Derivatives are
taken with ``torch.autograd.grad(create_graph=True)`` so the losses train.

Problems (coordinates in the order the network sees them):

* ``Poisson1D``: ``−u'' = (kπ)² sin(kπx)`` on [0, 1], ``u(0) = u(1) = 0``; exact ``sin(kπx)``.
* ``Helmholtz2D`` (Wang, Teng & Perdikaris): ``Δu + k²u = q`` on [−1, 1]², ``u = 0`` on the
  boundary, exact ``sin(a₁πx) sin(a₂πy)``.
* ``KleinGordon`` (same paper): ``u_tt − u_xx + u³ = f`` on (x, t) ∈ [0, 1]², ``u(x, 0) = x``,
  ``u_t(x, 0) = 0``, exact boundary values at x = 0, 1; exact ``x cos(5πt) + (xt)³``.
* ``Convection``: ``u_t + β u_x = 0`` on (x, t) ∈ [0, 2π] × [0, 1], ``u(x, 0) = sin x``,
  periodic in x; exact ``sin(x − βt)``.

Moving-frame and hidden-term problems live in ``neuralsolvers.physics.pinn_lagrangian`` and
``neuralsolvers.physics.pinn_hidden``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import nn

from neuralsolvers.data_gen.pinn_references import (
    helmholtz_solution,
    helmholtz_source,
    klein_gordon_solution,
    klein_gordon_source,
)

__all__ = [
    "CollocationSampler",
    "Convection",
    "Helmholtz2D",
    "KleinGordon",
    "PDEProblem",
    "Poisson1D",
    "derivative",
    "first_output",
    "standardize",
]

SAMPLERS = ("uniform", "sobol")


def derivative(u: torch.Tensor, x: torch.Tensor, axis: int) -> torch.Tensor:
    """``∂u/∂x_axis`` at every point, ``u`` ``(N,)`` computed from ``x`` ``(N, d)``; keeps the graph."""
    (gradient,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return gradient[:, axis]


class CollocationSampler:
    """Points in an axis-aligned box, ``uniform`` (a seeded generator) or scrambled ``sobol``.

    ``sample(n, low, high)`` returns ``(n, d)``; an axis with ``low == high`` is held fixed (a face).
    """

    def __init__(self, kind: str = "uniform", seed: int = 0):
        if kind not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {kind!r}")
        self.kind, self.seed = kind, seed
        self.generator = torch.Generator().manual_seed(seed)
        self.engines: dict[int, torch.quasirandom.SobolEngine] = {}

    def state_dict(self) -> dict:
        """Where the streams stand (checkpointed, so a resumed run draws the points it would have drawn)."""
        return {"generator": self.generator.get_state(), "sobol": {d: e.num_generated for d, e in self.engines.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        for d, count in state["sobol"].items():
            engine = torch.quasirandom.SobolEngine(int(d), scramble=True, seed=self.seed + int(d))
            self.engines[int(d)] = engine.fast_forward(count)

    def sample(self, n: int, low: list[float], high: list[float], like: torch.Tensor) -> torch.Tensor:
        """``n`` points in ``[low, high]`` with ``like``'s dtype and device."""
        d = len(low)
        if self.kind == "sobol":
            engine = self.engines.setdefault(d, torch.quasirandom.SobolEngine(d, scramble=True, seed=self.seed + d))
            unit = engine.draw(n, dtype=torch.float64)
        else:
            unit = torch.rand(n, d, generator=self.generator, dtype=torch.float64)
        lo, hi = torch.tensor(low, dtype=torch.float64), torch.tensor(high, dtype=torch.float64)
        return (lo + (hi - lo) * unit).to(dtype=like.dtype, device=like.device)


Network = Callable[[torch.Tensor], torch.Tensor]


class PDEProblem(ABC):
    """A PDE on a box with its loss terms; subclasses set ``coordinates``, ``low``, ``high``,
    ``terms`` and, if a generator writes its reference, ``reference_generator``."""

    coordinates: tuple[str, ...]
    low: list[float]
    high: list[float]
    terms: tuple[str, ...] = ("residual", "boundary")
    reference_generator: str | None = None

    def reference_parameters(self) -> dict[str, float]:
        """Generator parameters the reference data must have been made with."""
        return {}

    @abstractmethod
    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        """The PDE residual ``(N,)`` (``(N, C)`` for systems) at interior points ``x`` ``(N, d)``
        (``x`` must require grad)."""

    @abstractmethod
    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean-square loss of every term in ``terms`` at freshly sampled points."""

    def exact(self, x: torch.Tensor) -> torch.Tensor | None:
        """The exact solution ``(N,)`` where known, else None."""
        return None

    def predict(self, net: Network, points: torch.Tensor, grid_shape: tuple[int, ...]) -> torch.Tensor:
        """The network's solution ``(N,)`` at the reference ``points`` (a tensor grid of ``grid_shape``,
        first coordinate fastest)."""
        return first_output(net, points)

    def _interior(self, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        return sampler.sample(batch_size, self.low, self.high, like).requires_grad_(True)

    def check_network(self, net: nn.Module) -> None:
        """Raise ``ConfigError`` if ``net`` cannot be trained on this problem (default: any network)."""
        return None

    def _faces_loss(self, net: Network, sampler: CollocationSampler, n: int, faces: list[tuple[int, float]], like: torch.Tensor,
                    target: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:  # fmt: skip
        """Sum over ``faces`` (axis, value) of the mean square misfit to ``target`` (default: the exact
        solution) at ``n`` points each, with one network call for all faces."""
        points = torch.cat([self._face(sampler, n, axis, value, like) for axis, value in faces])
        misfit = first_output(net, points) - (target or self.exact)(points)
        return misfit.square().reshape(len(faces), n).mean(1).sum()

    def _face(self, sampler: CollocationSampler, n: int, axis: int, value: float, like: torch.Tensor) -> torch.Tensor:
        low, high = list(self.low), list(self.high)
        low[axis] = high[axis] = value
        return sampler.sample(n, low, high, like)

    def _residual_loss(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        return self.residual(net, self._interior(sampler, batch_size, like)).square().mean()


def first_output(net: Network, x: torch.Tensor) -> torch.Tensor:
    """The network's first output column ``(N,)``: the solution of a scalar problem."""
    return net(x)[:, 0]


class Poisson1D(PDEProblem):
    """``−u'' = (kπ)² sin(kπx)`` on [0, 1] with zero Dirichlet values (``k = frequency``)."""

    coordinates = ("x",)

    def __init__(self, frequency: float = 1.0):
        self.frequency = frequency
        self.low, self.high = [0.0], [1.0]

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.frequency * math.pi * x[:, 0])

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        u = first_output(net, x)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        return -u_xx - (self.frequency * math.pi) ** 2 * self.exact(x)

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        ends = torch.tensor([[0.0], [1.0]], dtype=like.dtype, device=like.device)
        return {"residual": self._residual_loss(net, sampler, batch_size, like), "boundary": (first_output(net, ends) - self.exact(ends)).square().mean()}


class Helmholtz2D(PDEProblem):
    """``Δu + k²u = q`` on [−1, 1]², Dirichlet data of the exact solution on the four edges."""

    coordinates = ("x", "y")
    reference_generator = "helmholtz_reference"

    def __init__(self, a1: float = 1.0, a2: float = 4.0, k: float = 1.0):
        self.a1, self.a2, self.k = a1, a2, k
        self.low, self.high = [-1.0, -1.0], [1.0, 1.0]

    def reference_parameters(self) -> dict[str, float]:
        return {"a1": self.a1, "a2": self.a2, "k": self.k}

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        return helmholtz_solution(x[:, 0], x[:, 1], self.a1, self.a2)

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        u = first_output(net, x)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        u_yy = derivative(derivative(u, x, 1), x, 1)
        return u_xx + u_yy + self.k**2 * u - helmholtz_source(x[:, 0], x[:, 1], self.a1, self.a2, self.k)

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        edges = [(axis, value) for axis in (0, 1) for value in (self.low[axis], self.high[axis])]
        boundary = self._faces_loss(net, sampler, batch_size, edges, like)  # the paper sums the four edges' mean squares
        return {"residual": self._residual_loss(net, sampler, batch_size, like), "boundary": boundary}


class KleinGordon(PDEProblem):
    """``u_tt − u_xx + u³ = f`` on (x, t) ∈ [0, 1]² with the exact solution's initial and boundary data."""

    coordinates = ("x", "t")
    terms = ("residual", "initial", "boundary")
    reference_generator = "klein_gordon_reference"

    def __init__(self) -> None:
        self.low, self.high = [0.0, 0.0], [1.0, 1.0]

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        return klein_gordon_solution(x[:, 0], x[:, 1])

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        u = first_output(net, x)
        u_tt = derivative(derivative(u, x, 1), x, 1)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        return u_tt - u_xx + u**3 - klein_gordon_source(x[:, 0], x[:, 1])

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        start = self._face(sampler, batch_size, 1, 0.0, like).requires_grad_(True)
        u0 = first_output(net, start)
        initial = (u0 - start[:, 0]).square().mean() + derivative(u0, start, 1).square().mean()
        boundary = self._faces_loss(net, sampler, batch_size, [(0, 0.0), (0, 1.0)], like)
        return {"residual": self._residual_loss(net, sampler, batch_size, like), "initial": initial, "boundary": boundary}


class Convection(PDEProblem):
    """``u_t + β u_x = 0`` on (x, t) ∈ [0, 2π] × [0, 1], ``u(x, 0) = sin x``, ``u(0, t) = u(2π, t)``."""

    coordinates = ("x", "t")
    terms = ("residual", "initial", "boundary")
    reference_generator = "convection_reference"

    def __init__(self, beta: float = 30.0):
        self.beta = beta
        self.low, self.high = [0.0, 0.0], [2 * math.pi, 1.0]

    def reference_parameters(self) -> dict[str, float]:
        return {"beta": self.beta}

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x[:, 0] - self.beta * x[:, 1])

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        u = first_output(net, x)
        return derivative(u, x, 1) + self.beta * derivative(u, x, 0)

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        start = self._face(sampler, batch_size, 1, 0.0, like)
        left = self._face(sampler, batch_size, 0, self.low[0], like)
        right = left.clone()
        right[:, 0] = self.high[0]
        return {
            "residual": self._residual_loss(net, sampler, batch_size, like),
            "initial": (first_output(net, start) - torch.sin(start[:, 0])).square().mean(),
            "boundary": (first_output(net, left) - first_output(net, right)).square().mean(),
        }


def standardize(net: nn.Module, problem: PDEProblem) -> None:
    """Give a ``PINNNet`` built without ``center``/``scale`` the problem's
    domain statistics (mean and standard deviation of uniform points: midpoint, width/√12)."""
    if getattr(net, "init_args", {}).get("center") is not None or not hasattr(net, "center"):
        return
    low, high = torch.tensor(problem.low), torch.tensor(problem.high)
    net.center.copy_((low + high) / 2)
    net.scale.copy_(((high - low) / math.sqrt(12)).clamp_min(1e-12))
