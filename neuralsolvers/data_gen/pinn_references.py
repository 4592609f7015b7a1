"""Reference solutions for the physics-informed benchmarks, on tensor grids.

* Helmholtz (Wang, Teng, Perdikaris): Δu + k²u = q on [−1, 1]², u = 0 on the boundary, exact
  u = sin(a₁πx) sin(a₂πy) (a₁ = 1, a₂ = 4) and q from it.
* Klein–Gordon (same paper): u_tt − u_xx + u³ = f on [0, 1]², exact u = x cos(5πt) + (xt)³.
* Convection: u_t + β u_x = 0 on [0, 2π) periodic, u(x, 0) = sin x, exact u = sin(x − βt).
* Viscous Burgers: u_t + u u_x = ν u_xx on [−1, 1] × [0, 1], u(x, 0) = −sin πx, u(±1, t) = 0,
  ν = 0.01/π: the exact Cole–Hopf solution, its integrals evaluated by the trapezoid rule, scaled
  by the largest term (spectrally accurate for these Gaussian-weighted integrands; the self-check
  halves the step). It reproduces Basdevant et al.'s (1986) max |u_x| = 152.005 at t = 1.6037/π.
* Lid-driven cavity at Re = 100: a steady streamfunction–vorticity solve on a fine uniform grid
  (second-order differences, Thom's wall vorticity, Newton's method with sparse LU). This is a
  numerical reference, second-order accurate in h; at 129² it matches Ghia, Ghia & Shin (1982) to
  ~1e-3 in the centreline velocity and ψ_min (see the tests).

Each reference is one solution: its generator writes one sample (``num_samples: 1``). Arrays are
fields on the grid ``(1, n_2, n_1)`` (first axis t or y); shared arrays hold the axes and
``points`` ``(n_2·n_1, 2)`` = (x, t) or (x, y) pairs in the same row-major order.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.errors import ConfigError, DatasetError

__all__ = [
    "BurgersReference",
    "CavityReference",
    "ConvectionReference",
    "HelmholtzReference",
    "KleinGordonReference",
    "burgers_cole_hopf",
    "cavity_streamfunction",
    "helmholtz_solution",
    "helmholtz_source",
    "klein_gordon_solution",
    "klein_gordon_source",
]


Array = TypeVar("Array", np.ndarray, torch.Tensor)


def _namespace(x: Array) -> Any:
    """``torch`` for tensors (so physics-informed losses use these formulas on the device), else numpy."""
    return torch if isinstance(x, torch.Tensor) else np


def helmholtz_solution(x: Array, y: Array, a1: float = 1.0, a2: float = 4.0) -> Array:
    """u = sin(a₁πx) sin(a₂πy) at broadcastable ``x``, ``y`` (numpy arrays or torch tensors)."""
    xp = _namespace(x)
    return xp.sin(a1 * math.pi * x) * xp.sin(a2 * math.pi * y)


def helmholtz_source(x: Array, y: Array, a1: float = 1.0, a2: float = 4.0, k: float = 1.0) -> Array:
    """q = Δu + k²u for the exact solution."""
    return (k**2 - (a1 * math.pi) ** 2 - (a2 * math.pi) ** 2) * helmholtz_solution(x, y, a1, a2)


def klein_gordon_solution(x: Array, t: Array) -> Array:
    """u = x cos(5πt) + (xt)³ (numpy arrays or torch tensors)."""
    return x * _namespace(x).cos(5 * math.pi * t) + (x * t) ** 3


def klein_gordon_source(x: Array, t: Array) -> Array:
    """f = u_tt − u_xx + u³ for the exact solution."""
    u_tt = -25 * math.pi**2 * x * _namespace(x).cos(5 * math.pi * t) + 6 * x**3 * t
    u_xx = 6 * x * t**3
    return u_tt - u_xx + klein_gordon_solution(x, t) ** 3


def burgers_cole_hopf(x: np.ndarray, t: np.ndarray, nu: float = 0.01 / math.pi, step: float = 0.02) -> np.ndarray:
    """Exact Burgers solution for u(x, 0) = −sin πx at all pairs of ``x`` ``(n_x,)`` and ``t`` ``(n_t,)``.

    u = −∫ sin(π(x−η)) φ(x−η) G dη / ∫ φ(x−η) G dη with φ(y) = exp(−cos(πy)/(2πν)),
    G = exp(−η²/(4νt)); with η = 2√(νt)·z both integrals run over z ∈ [−12, 12] with trapezoid
    step ``step`` (the weight exp(−z²) beats φ's dynamic range e^{1/(πν)} well inside the window).

    Returns: ``(n_t, n_x)``.
    """
    x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)
    z = np.arange(-12.0, 12.0 + step / 2, step)
    u = np.empty((len(t), len(x)))
    for i, time in enumerate(t):  # one (n_x, n_z) block per time level
        if time == 0:
            u[i] = -np.sin(np.pi * x)
            continue
        y = x[:, None] - 2 * math.sqrt(nu * time) * z[None, :]
        log_weight = -np.cos(np.pi * y) / (2 * np.pi * nu) - z**2
        weight = np.exp(log_weight - log_weight.max(axis=1, keepdims=True))  # scaled: no overflow
        u[i] = -(weight * np.sin(np.pi * y)).sum(axis=1) / weight.sum(axis=1)
    return u


def _difference_operators(n: int, h: float) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Central ∂x, ∂y and the 5-point Laplacian on an ``n × n`` node grid (row index = y), rows at
    boundary nodes are dropped by the caller."""
    first = sp.diags([-1.0, 1.0], [-1, 1], shape=(n, n)) / (2 * h)
    second = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n, n)) / h**2
    eye = sp.identity(n)
    return sp.kron(eye, first).tocsr(), sp.kron(first, eye).tocsr(), (sp.kron(eye, second) + sp.kron(second, eye)).tocsr()


def cavity_streamfunction(
    n: int = 129, reynolds: float = 100.0, tol: float = 1e-10, max_newton: int = 30
) -> tuple[np.ndarray, np.ndarray, float]:
    """Steady lid-driven cavity on [0, 1]² (lid y = 1 moving with u = 1), ``n × n`` nodes.

    Solves ∇²ψ = −ω and ψ_y ω_x − ψ_x ω_y = ∇²ω / Re at interior nodes, ψ = 0 on the walls and
    Thom's wall vorticity (ω = −2ψ₁/h² on fixed walls, −2(ψ₁ + h)/h² under the lid), by Newton's
    method from the Stokes solution.

    Returns: ψ and ω ``(n, n)`` (row = y), and the final residual's max norm.
    """
    h = 1.0 / (n - 1)
    dx, dy, lap = _difference_operators(n, h)
    index = np.arange(n * n).reshape(n, n)
    interior = index[1:-1, 1:-1].ravel()
    m = len(interior)
    extend = sp.csr_matrix((np.ones(m), (interior, np.arange(m))), shape=(n * n, m))  # zero on walls
    # Thom: wall ω from the adjacent interior ψ (corners unused by interior stencils)
    walls, neighbours = [], []
    for wall, adjacent in ((index[0, 1:-1], index[1, 1:-1]), (index[-1, 1:-1], index[-2, 1:-1]),
                           (index[1:-1, 0], index[1:-1, 1]), (index[1:-1, -1], index[1:-1, -2])):
        walls.append(wall)
        neighbours.append(adjacent)
    wall, adjacent = np.concatenate(walls), np.concatenate(neighbours)
    position = np.full(n * n, -1)
    position[interior] = np.arange(m)
    thom = sp.csr_matrix((np.full(len(wall), -2 / h**2), (wall, position[adjacent])), shape=(n * n, m))
    lid = np.zeros(n * n)
    lid[index[-1, 1:-1]] = -2 / h
    restrict = extend.T.tocsr()
    poisson = sp.hstack([restrict @ lap @ extend, sp.identity(m)])

    def residual_and_jacobian(psi: np.ndarray, omega: np.ndarray, inertia: float):
        psi_full = extend @ psi
        omega_full = extend @ omega + thom @ psi + lid
        psi_x, psi_y, omega_x, omega_y = dx @ psi_full, dy @ psi_full, dx @ omega_full, dy @ omega_full
        transport = restrict @ (inertia * (psi_y * omega_x - psi_x * omega_y) - lap @ omega_full / reynolds)
        advect = inertia * (sp.diags(psi_y) @ dx - sp.diags(psi_x) @ dy) - lap / reynolds
        d_psi = inertia * (sp.diags(omega_x) @ dy - sp.diags(omega_y) @ dx) @ extend + advect @ thom
        jacobian = sp.vstack([poisson, sp.hstack([restrict @ d_psi, restrict @ advect @ extend])]).tocsc()
        residual = np.concatenate([restrict @ lap @ psi_full + omega, transport])
        return residual, jacobian

    state = np.zeros(2 * m)
    for inertia in (0.0, 1.0):  # Stokes first (linear: one step), then Navier–Stokes
        for _ in range(max_newton):
            residual, jacobian = residual_and_jacobian(state[:m], state[m:], inertia)
            state -= spla.spsolve(jacobian, residual)
            final, _ = residual_and_jacobian(state[:m], state[m:], inertia)
            worst = float(np.abs(final).max())
            if worst <= tol:
                break
        else:
            raise DatasetError(f"cavity Newton iteration did not converge: residual {worst:.2e} > {tol:.0e}")
    psi_full = extend @ state[:m]
    omega_full = extend @ state[m:] + thom @ state[:m] + lid
    return psi_full.reshape(n, n), omega_full.reshape(n, n), worst


class _Reference(Generator):
    """One reference solution on a tensor grid; ``axes`` names the shared 1D axes.

    Numerical references return an ``_error`` estimate with their fields; the check bounds it by
    ``tolerance`` (what it measures is ``error_name``).
    """

    axes: tuple[str, str] = ("x", "t")
    error_name = "error estimate"

    @abstractmethod
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The two axes ``(n_1,)`` and ``(n_2,)``."""

    @abstractmethod
    def fields(self) -> dict[str, np.ndarray]:
        """Fields on the grid, each ``(n_2, n_1)`` float64, plus ``_``-prefixed check values."""

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if num_samples != 1:
            raise ConfigError(f"{self.name} writes one reference solution: use num_samples: 1, not {num_samples}")
        if min(len(axis) for axis in self.grid()) < 2:
            raise ConfigError(f"{self.name}: every grid axis needs at least 2 points, got {[len(a) for a in self.grid()]}")
        return {name: np.asarray(field)[None] for name, field in self.fields().items()}

    def shared(self) -> dict[str, np.ndarray]:
        first, second = self.grid()
        a, b = np.meshgrid(first, second)
        return {self.axes[0]: first, self.axes[1]: second, "points": np.stack([a.ravel(), b.ravel()], axis=1)}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        for name, field in arrays.items():
            if not np.isfinite(field).all():
                raise DatasetError(f"{self.name} self-check failed: {name} is not finite")
        return self._bounded(arrays["_error"], self.error_name, self.tolerance) if "_error" in arrays else 0.0


class HelmholtzReference(_Reference):
    """Exact Helmholtz solution ``u`` and source ``q`` on an ``n × n`` grid of [−1, 1]²."""

    name = "helmholtz_reference"
    axes = ("x", "y")

    def __init__(self, resolution: int = 256, a1: float = 1.0, a2: float = 4.0, k: float = 1.0):
        self.resolution, self.a1, self.a2, self.k = resolution, a1, a2, k

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        axis = np.linspace(-1.0, 1.0, self.resolution)
        return axis, axis

    def fields(self) -> dict[str, np.ndarray]:
        x, y = np.meshgrid(*self.grid())
        return {"u": helmholtz_solution(x, y, self.a1, self.a2), "q": helmholtz_source(x, y, self.a1, self.a2, self.k)}


class KleinGordonReference(_Reference):
    """Exact Klein–Gordon solution ``u`` and source ``f`` on an ``n × n`` grid of [0, 1]² (x, t)."""

    name = "klein_gordon_reference"

    def __init__(self, resolution: int = 256):
        self.resolution = resolution

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        axis = np.linspace(0.0, 1.0, self.resolution)
        return axis, axis

    def fields(self) -> dict[str, np.ndarray]:
        x, t = np.meshgrid(*self.grid())
        return {"u": klein_gordon_solution(x, t), "f": klein_gordon_source(x, t)}


class ConvectionReference(_Reference):
    """Exact 1D convection solution sin(x − βt) on x ∈ [0, 2π) (periodic, no endpoint) × t ∈ [0, 1]."""

    name = "convection_reference"

    def __init__(self, beta: float = 30.0, num_x: int = 256, num_t: int = 101):
        self.beta, self.num_x, self.num_t = beta, num_x, num_t

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        return np.linspace(0.0, 2 * np.pi, self.num_x, endpoint=False), np.linspace(0.0, 1.0, self.num_t)

    def fields(self) -> dict[str, np.ndarray]:
        x, t = np.meshgrid(*self.grid())
        return {"u": np.sin(x - self.beta * t)}


class BurgersReference(_Reference):
    """Exact (Cole–Hopf) viscous Burgers solution on x ∈ [−1, 1] × t ∈ [0, 1].

    The self-check evaluates the quadrature again with half the step; ``tolerance`` bounds the change.
    """

    name = "burgers_reference"
    error_name = "change under a halved quadrature step"

    def __init__(self, nu: float = 0.01 / math.pi, num_x: int = 256, num_t: int = 101, tolerance: float = 1e-10):
        if not nu > 0:
            raise ValueError(f"the viscosity nu must be positive, got {nu}")
        self.nu, self.num_x, self.num_t, self.tolerance = nu, num_x, num_t, tolerance

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        return np.linspace(-1.0, 1.0, self.num_x), np.linspace(0.0, 1.0, self.num_t)

    def fields(self) -> dict[str, np.ndarray]:
        x, t = self.grid()
        u = burgers_cole_hopf(x, t, self.nu)
        every = max(1, len(t) // 10)
        finer = burgers_cole_hopf(x, t[::every], self.nu, step=0.01)
        return {"u": u, "_error": np.abs(finer - u[::every]).max(keepdims=True)}


class CavityReference(_Reference):
    """Steady lid-driven cavity: ``psi``, ``u`` = ψ_y, ``v`` = −ψ_x and ``omega`` on ``n × n`` nodes of [0, 1]².

    Velocities by central differences inside and the wall values (u = 1 on the lid, 0 elsewhere).
    """

    name = "cavity_reference"
    error_name = "Newton residual"
    axes = ("x", "y")

    def __init__(self, resolution: int = 129, reynolds: float = 100.0, tolerance: float = 1e-10):
        if resolution < 5:
            raise ValueError(f"resolution must be ≥ 5, got {resolution}")
        self.resolution, self.reynolds, self.tolerance = resolution, reynolds, tolerance

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        axis = np.linspace(0.0, 1.0, self.resolution)
        return axis, axis

    def fields(self) -> dict[str, np.ndarray]:
        psi, omega, residual = cavity_streamfunction(self.resolution, self.reynolds, self.tolerance)
        h = 1.0 / (self.resolution - 1)
        u, v = np.zeros_like(psi), np.zeros_like(psi)
        u[1:-1, 1:-1] = (psi[2:, 1:-1] - psi[:-2, 1:-1]) / (2 * h)
        v[1:-1, 1:-1] = -(psi[1:-1, 2:] - psi[1:-1, :-2]) / (2 * h)
        u[-1, 1:-1] = 1.0
        return {"psi": psi, "u": u, "v": v, "omega": omega, "_error": np.array([residual])}
