"""Sequences of related linear systems (for learned SOR/SSOR parameters): 2D heat-equation steps.

[`CrankNicolsonHeat`][neuralsolvers.data_gen.sequences.CrankNicolsonHeat] is the simulation of "Learning to Relax" (time-varying diffusion,
Crank–Nicolson, driven step by step by the solver). [`HeatSequence`][neuralsolvers.data_gen.sequences.HeatSequence]: each sample is one simulation: backward-Euler steps of u_t = ∇·(a(t)∇u) + f on the unit square with
u = 0 on the boundary, on an ``n × n`` interior grid. Step ``k`` solves

    (I + Δt A(a_k)) u_{k+1} = u_k + Δt f,

with ``A(a)`` the 5-point finite-volume operator of [`neuralsolvers.solvers.DiffusionStencil`][neuralsolvers.solvers.stencils.DiffusionStencil]
(harmonic face averages). The coefficient varies per instance (a log-normal GRF ``a₀``) and along the
sequence: ``a_k = a₀ · (1 + amplitude · sin(2π k / T + φ))`` with a random phase ``φ``, so the
systems drift the way a simulation's do. Every system is SPD. Context features per step, the inputs
of a contextual bandit: mean, min and max of ``a_k``, and the stiffness ``Δt · mean(a_k) / h²``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import SpectralField, lognormal_field
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["CrankNicolsonHeat", "HeatSequence", "bump"]

CONTEXT = ("mean_a", "min_a", "max_a", "stiffness")


class HeatSequence(Generator):
    """Backward-Euler heat-equation sequences: ``T`` systems per sample.

    Args:
        size: interior grid points per side ``n``.
        num_steps: ``T`` systems per sequence.
        dt: time step.
        amplitude: relative variation of the coefficient along the sequence (< 1).
        lognormal_scale: ``a₀ = exp(scale · GRF)``.
        forcing: constant source ``f``.
        tolerance: largest allowed relative residual of the stored solves (the self-check).

    Arrays: ``coefficient`` ``(N, T, n, n)`` float32 (the matrices are built from these values),
    ``rhs`` and ``solution`` ``(N, T, n, n)`` float64, ``context`` ``(N, T, 4)`` float32
    (mean_a, min_a, max_a, stiffness). `matrix` gives step ``k``'s SciPy matrix.
    """

    name = "heat_sequence"

    def __init__(
        self,
        size: int = 32,
        num_steps: int = 20,
        dt: float = 1e-3,
        amplitude: float = 0.5,
        lognormal_scale: float = 1.0,
        forcing: float = 1.0,
        tolerance: float = 1e-10,
    ):
        if not 0 <= amplitude < 1:
            raise ValueError(f"amplitude must lie in [0, 1) to keep the coefficient positive, got {amplitude}")
        if size < 2 or num_steps < 1 or dt <= 0:
            raise ValueError("size ≥ 2, num_steps ≥ 1 and dt > 0 are required")
        self.size, self.num_steps, self.dt = size, num_steps, dt
        self.amplitude, self.lognormal_scale, self.forcing, self.tolerance = amplitude, lognormal_scale, forcing, tolerance

    def matrix(self, coefficient: np.ndarray) -> sp.csr_matrix:
        """``I + Δt A(a)`` for one coefficient field ``(n, n)``."""
        n = self.size
        stencil = DiffusionStencil((n, n), torch.as_tensor(coefficient, dtype=torch.float64), spacing=1.0 / (n + 1))
        return (sp.identity(n * n, format="csr") + self.dt * stencil.to_scipy()).tocsr()

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        n, steps = self.size, self.num_steps
        base = lognormal_field(SpectralField(n, dim=2).sample(num_samples, rng), scale=self.lognormal_scale)
        phases = rng.uniform(0, 2 * np.pi, num_samples)
        factors = 1 + self.amplitude * np.sin(2 * np.pi * np.arange(steps)[None, :] / steps + phases[:, None])
        coefficient = (base[:, None] * factors[:, :, None, None]).astype(np.float32)
        rhs = np.zeros((num_samples, steps, n * n))
        solution = np.zeros_like(rhs)
        residual = np.zeros((num_samples, steps))
        for i in range(num_samples):  # a sequence is sequential: one sparse factorization per step
            u = np.zeros(n * n)
            for k in range(steps):
                A = self.matrix(coefficient[i, k].astype(np.float64))
                b = u + self.dt * self.forcing
                u = spla.splu(A.tocsc()).solve(b)
                rhs[i, k], solution[i, k] = b, u
                residual[i, k] = np.linalg.norm(b - A @ u) / np.linalg.norm(b)
        a = coefficient.astype(np.float64)
        context = np.stack(
            [a.mean((2, 3)), a.min((2, 3)), a.max((2, 3)), self.dt * a.mean((2, 3)) * (n + 1) ** 2], axis=-1
        ).astype(np.float32)
        shape = (num_samples, steps, n, n)
        return {
            "coefficient": coefficient,
            "rhs": rhs.reshape(shape),
            "solution": solution.reshape(shape),
            "context": context,
            "_residual": residual,
        }

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays["_residual"], "relative residual", self.tolerance)


def bump(points: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Smooth bump ``exp(1 − 1/(1 − |x − c|²/ρ²))`` inside the disc, 0 outside; ``points`` ``(n, 2)``."""
    distance = np.minimum(np.sum((points - centre) ** 2, axis=-1) / radius**2, 1.0)
    with np.errstate(divide="ignore"):
        return np.exp(1.0 - 1.0 / (1.0 - distance))


class CrankNicolsonHeat(Generator):
    """The heat simulation of "Learning to Relax" (Khodak et al. 2024): one system per time step.

    ``u_t = c(t) Δu + f(t, x)`` on the unit square, ``u = 0`` on the boundary, on ``size − 1``
    interior points per side (spacing ``h = 1/size``), Crank–Nicolson with ``Δt = stop_time /
    num_steps``: step ``k`` (time ``t_k = k Δt``, half step ``t* = t_k + Δt/2``) solves

        (I − ½ c(t*) Δt L) u_{k+1} = (I + ½ c(t*) Δt L) u_k + Δt f(t*, x),

    ``L`` the 5-point Laplacian. The diffusion coefficient ``c(t) = max(0.1 sin 2πt, −10 sin 2πt)``
    swings between 0 and 10 every unit of time, so the best ω drifts along the sequence; the forcing
    ``32·bump(x; centre moving on a circle of radius ¼ at angular speed 16π, radius ⅛)`` and the
    initial field ``bump(x; (½, ½), ¼)`` are the authors'. Every system is SPD. The context of step
    ``k`` is ``c(t_k)`` (what the authors' contextual bandits see).

    The sequence depends on how each system was solved (the next right-hand side is built from the
    solver's ``u``), so evaluations drive it step by step: `initial`, `system`,
    `exact_solve` (fast sine-transform solve). `generate` stores the exactly solved
    sequence (``phase`` of the forcing's circle random per sample, 0 in the paper).

    Args:
        size: grid intervals per side (``(size − 1)²`` unknowns; the paper: 25 to 400).
        num_steps: systems in the sequence (the paper: 5,000). stop_time: simulated time (5).
        phase: starting angle of the forcing's circular path.
        tolerance: largest allowed relative residual of the stored solves (the self-check).

    Arrays of `generate`: ``rhs`` and ``solution`` ``(N, T, (size−1)²)`` float64,
    ``context`` ``(N, T)``, ``phase`` ``(N,)``.
    """

    name = "heat_crank_nicolson"

    def __init__(self, size: int = 100, num_steps: int = 5000, stop_time: float = 5.0, phase: float = 0.0, tolerance: float = 1e-10):
        if size < 3 or num_steps < 1 or not stop_time > 0:
            raise ValueError(f"need size ≥ 3, num_steps ≥ 1 and stop_time > 0, got {size}, {num_steps}, {stop_time}")
        self.size, self.num_steps, self.stop_time, self.phase, self.tolerance = size, num_steps, stop_time, phase, tolerance

    @property
    def dt(self) -> float:
        return self.stop_time / self.num_steps

    @cached_property
    def points(self) -> np.ndarray:
        """Interior points ``(n, 2)`` in the unknowns' order (x index slowest); made once, used every step."""
        axis = np.arange(1, self.size) / self.size
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)

    @staticmethod
    def coefficient(t: float | np.ndarray) -> float | np.ndarray:
        """Diffusion coefficient ``c(t)``."""
        return np.maximum(0.1 * np.sin(2 * np.pi * t), -10.0 * np.sin(2 * np.pi * t))

    def forcing(self, t: float) -> np.ndarray:
        """``f(t, ·)`` at the interior points ``(n,)``."""
        angle = 16 * np.pi * t + self.phase
        return 32.0 * bump(self.points, np.array([0.5 + np.cos(angle) / 4, 0.5 + np.sin(angle) / 4]), 0.125)

    def initial(self) -> np.ndarray:
        """``u_0`` at the interior points ``(n,)``."""
        return bump(self.points, np.array([0.5, 0.5]), 0.25)

    def laplacian(self) -> sp.csr_matrix:
        """The 5-point ``L`` (negative definite, ``1/h²`` scaling, Dirichlet walls)."""
        m = self.size - 1
        second = sp.diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1])
        identity = sp.identity(m)
        return ((sp.kron(second, identity) + sp.kron(identity, second)) * self.size**2).tocsr()

    def _half_step(self, step: int) -> tuple[float, float]:
        if not 0 <= step < self.num_steps:
            raise IndexError(f"step {step} outside the sequence of {self.num_steps}")
        t = (step + 0.5) * self.dt
        return t, 0.5 * float(self.coefficient(t)) * self.dt

    def system(self, step: int, u: np.ndarray, laplacian: sp.csr_matrix | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
        """Step ``step``'s matrix ``A`` (CSR) and right-hand side ``b`` ``(n,)`` from the state ``u``."""
        L = self.laplacian() if laplacian is None else laplacian
        t, s = self._half_step(step)
        identity = sp.identity(L.shape[0], format="csr")
        return (identity - s * L).tocsr(), u + s * (L @ u) + self.dt * self.forcing(t)

    def exact_solve(self, step: int, b: np.ndarray) -> np.ndarray:
        """``A⁻¹ b`` for step ``step`` by the sine transform that diagonalizes ``L`` (round-off exact)."""
        from scipy.fft import dstn, idstn

        m = self.size - 1
        _, s = self._half_step(step)
        modes = 2 * np.cos(np.pi * np.arange(1, m + 1) / self.size) - 2
        eigenvalues = (modes[:, None] + modes[None, :]) * self.size**2
        transformed = dstn(b.reshape(m, m), type=1) / (1 - s * eigenvalues)
        return idstn(transformed, type=1).reshape(-1)

    def context(self, step: int) -> float:
        """``c(t_k)``: the diffusion coefficient at the step's start."""
        return float(self.coefficient(step * self.dt))

    def context_range(self) -> tuple[float, float]:
        """Smallest and largest context over the sequence (the authors' bounds for the contextual bandits)."""
        values = self.coefficient(np.linspace(0.0, self.stop_time, self.num_steps))
        return float(values.min()), float(values.max())

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        phases = rng.uniform(0, 2 * np.pi, num_samples)
        n, steps = (self.size - 1) ** 2, self.num_steps
        rhs, solution, residual = np.zeros((num_samples, steps, n)), np.zeros((num_samples, steps, n)), np.zeros((num_samples, steps))
        L = self.laplacian()
        for i, phase in enumerate(phases):  # a sequence is sequential: each step needs the last
            sample = CrankNicolsonHeat(self.size, steps, self.stop_time, float(phase))
            u = sample.initial()
            for k in range(steps):
                A, b = sample.system(k, u, L)
                u = sample.exact_solve(k, b)
                rhs[i, k], solution[i, k] = b, u
                residual[i, k] = np.linalg.norm(b - A @ u) / np.linalg.norm(b)
        context = np.broadcast_to(self.coefficient(np.arange(steps) * self.dt), (num_samples, steps)).copy()
        return {"rhs": rhs, "solution": solution, "context": context, "phase": phases, "_residual": residual}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays["_residual"], "relative residual", self.tolerance)
