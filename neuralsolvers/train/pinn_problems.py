"""PDEs for physics-informed training: residuals by autograd, boundary and initial terms, collocation.

A :class:`PDEProblem` gives, for a network ``u(x)`` (``(N, d) -> (N, 1)``), its loss terms as mean
squares: always ``residual`` (the PDE at interior collocation points), plus ``boundary`` and/or
``initial``. Points are drawn fresh every call by a :class:`CollocationSampler` (uniform or scrambled
Sobol), ``batch_size`` per term and per boundary piece, as in the papers' code. Derivatives are
taken with ``torch.autograd.grad(create_graph=True)`` so the losses train.

Problems (coordinates in the order the network sees them):

* :class:`Poisson1D`: ``−u'' = (kπ)² sin(kπx)`` on [0, 1], ``u(0) = u(1) = 0``; exact ``sin(kπx)``.
* :class:`Helmholtz2D` (Wang, Teng & Perdikaris): ``Δu + k²u = q`` on [−1, 1]², ``u = 0`` on the
  boundary, exact ``sin(a₁πx) sin(a₂πy)``.
* :class:`KleinGordon` (same paper): ``u_tt − u_xx + u³ = f`` on (x, t) ∈ [0, 1]², ``u(x, 0) = x``,
  ``u_t(x, 0) = 0``, exact boundary values at x = 0, 1; exact ``x cos(5πt) + (xt)³``.
* :class:`Convection`: ``u_t + β u_x = 0`` on (x, t) ∈ [0, 2π] × [0, 1], ``u(x, 0) = sin x``,
  periodic in x; exact ``sin(x − βt)``.
* :class:`LagrangianTransport` (Mojgani et al., Lagrangian PINN): ``u_t + a u_x = ν u_xx`` with
  ``a = β`` (convection, convection–diffusion) or ``a = u`` (Burgers) in the frame moving with the
  characteristics, for :class:`~neuralsolvers.models.LagrangianNet` ``(x₀, t) -> (U, X)``:
  ``X_t = a`` (term ``characteristic``) and ``U_t = ν U_XX`` (``residual``), where the derivative
  along the physical position is taken by the chain rule, ``U_X = U_x₀ / X_x₀`` (the paper's code
  differentiates with respect to ``x₀`` instead); initial ``U(x₀, 0) = sin x₀``, ``X(x₀, 0) = x₀``.
  Predictions on a fixed grid interpolate ``U`` from the moved positions ``X mod 2π``, periodically.
* :class:`LotkaVolterraHidden` (UPINN, Podina et al.): ``u₁' = α u₁ + F₁(u)``, ``u₂' = −δ u₂ + F₂(u)``
  with the hidden term ``F`` a second network (:class:`~neuralsolvers.models.HiddenTermNet`); its
  terms are the residual and the ``data`` term, the fit to sparse noisy measurements (from
  :class:`~neuralsolvers.train.pinn_data.PINNDataModule` ``measurements``).
* :class:`ReactionDiffusionHidden`: ``u_t = D u_xx + F(u)`` on (x, t) ∈ [0, 1] × [0, t_final],
  ``u(0, t) = u(1, t) = 0``, ``u(x, 0) = a sin(πx)``, with the reaction ``F`` hidden (the
  Fisher–KPP data of :class:`~neuralsolvers.data_gen.FisherKPPObservations`).
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
    "LagrangianTransport",
    "LotkaVolterraHidden",
    "PDEProblem",
    "Poisson1D",
    "ReactionDiffusionHidden",
    "derivative",
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
        return _u(net, points)

    def _interior(self, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        return sampler.sample(batch_size, self.low, self.high, like).requires_grad_(True)

    def _face(self, sampler: CollocationSampler, n: int, axis: int, value: float, like: torch.Tensor) -> torch.Tensor:
        low, high = list(self.low), list(self.high)
        low[axis] = high[axis] = value
        return sampler.sample(n, low, high, like)

    def _residual_loss(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        return self.residual(net, self._interior(sampler, batch_size, like)).square().mean()


def _u(net: Network, x: torch.Tensor) -> torch.Tensor:
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
        u = _u(net, x)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        return -u_xx - (self.frequency * math.pi) ** 2 * self.exact(x)

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        ends = torch.tensor([[0.0], [1.0]], dtype=like.dtype, device=like.device)
        return {"residual": self._residual_loss(net, sampler, batch_size, like), "boundary": (_u(net, ends) - self.exact(ends)).square().mean()}


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
        u = _u(net, x)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        u_yy = derivative(derivative(u, x, 1), x, 1)
        return u_xx + u_yy + self.k**2 * u - helmholtz_source(x[:, 0], x[:, 1], self.a1, self.a2, self.k)

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        boundary = like.new_zeros(())
        for axis in (0, 1):  # the four edges, batch_size points each; the paper sums their mean squares
            for value in (self.low[axis], self.high[axis]):
                edge = self._face(sampler, batch_size, axis, value, like)
                boundary = boundary + (_u(net, edge) - self.exact(edge)).square().mean()
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
        u = _u(net, x)
        u_tt = derivative(derivative(u, x, 1), x, 1)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        return u_tt - u_xx + u**3 - klein_gordon_source(x[:, 0], x[:, 1])

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        start = self._face(sampler, batch_size, 1, 0.0, like).requires_grad_(True)
        u0 = _u(net, start)
        initial = (u0 - start[:, 0]).square().mean() + derivative(u0, start, 1).square().mean()
        boundary = like.new_zeros(())
        for value in (0.0, 1.0):
            side = self._face(sampler, batch_size, 0, value, like)
            boundary = boundary + (_u(net, side) - self.exact(side)).square().mean()
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
        u = _u(net, x)
        return derivative(u, x, 1) + self.beta * derivative(u, x, 0)

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        start = self._face(sampler, batch_size, 1, 0.0, like)
        left = self._face(sampler, batch_size, 0, self.low[0], like)
        right = left.clone()
        right[:, 0] = self.high[0]
        return {
            "residual": self._residual_loss(net, sampler, batch_size, like),
            "initial": (_u(net, start) - torch.sin(start[:, 0])).square().mean(),
            "boundary": (_u(net, left) - _u(net, right)).square().mean(),
        }


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
        along = derivative(state, x, 1) if self.nu == 0 else None
        if along is None:
            stretch = derivative(curve, x, 0)  # ∂X/∂x₀
            u_position = derivative(state, x, 0) / stretch
            along = derivative(state, x, 1) - self.nu * derivative(u_position, x, 0) / stretch
        speed = self.beta if self.speed == "constant" else state
        return along, derivative(curve, x, 1) - speed

    def residual(self, net: Network, x: torch.Tensor) -> torch.Tensor:
        return self.residuals(net, x)[0]

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


class LotkaVolterraHidden(PDEProblem):
    """Lotka–Volterra with known linear parts and a learned hidden term (module docstring).

    Args:
        alpha, delta: the known growth and decay rates; t_final: the time span [0, t_final].
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


class ReactionDiffusionHidden(PDEProblem):
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
        u = _u(net, x)
        u_xx = derivative(derivative(u, x, 0), x, 0)
        return derivative(u, x, 1) - self.diffusivity * u_xx - net.term(u[:, None])[:, 0]  # type: ignore[attr-defined]

    def losses(self, net: Network, sampler: CollocationSampler, batch_size: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
        start = self._face(sampler, batch_size, 1, 0.0, like)
        initial = (_u(net, start) - self.amplitude * torch.sin(math.pi * start[:, 0])).square().mean()
        boundary = sum(_u(net, self._face(sampler, batch_size, 0, value, like)).square().mean() for value in (0.0, 1.0))
        return {"residual": self._residual_loss(net, sampler, batch_size, like), "initial": initial, "boundary": boundary}


def standardize(net: nn.Module, problem: PDEProblem) -> None:
    """Give a :class:`~neuralsolvers.models.PINNNet` built without ``center``/``scale`` the problem's
    domain statistics (mean and standard deviation of uniform points: midpoint, width/√12)."""
    if getattr(net, "init_args", {}).get("center") is not None or not hasattr(net, "center"):
        return
    low, high = torch.tensor(problem.low), torch.tensor(problem.high)
    net.center.copy_((low + high) / 2)
    net.scale.copy_(((high - low) / math.sqrt(12)).clamp_min(1e-12))
