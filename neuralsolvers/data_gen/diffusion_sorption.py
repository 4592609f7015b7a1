"""1D diffusion–sorption (PDEBench; the PI-HC-MoE benchmark of Chalapathi et al. 2024).

A contaminant diffuses into a porous medium and sorbs onto it (Freundlich isotherm):

    ∂_t u = D / R(u) · ∂_xx u,   R(u) = 1 + (1 − φ)/φ · ρ_s · k_f · n_f · (u + ε)^(n_f − 1)

on x ∈ [0, 1], t ∈ [0, t_final] with ``D = 5e-4``, ``φ = 0.29``, ``ρ_s = 2880``, ``k_f = 3.5e-4``,
``n_f = 0.874``, ``ε = 1e-6`` (``u ≤ 0`` uses ``R(0)``), a saturated inflow ``u(t, 0) = 1``, an
outflow ``u(t, 1) + D ∂_x u(t, 1) = 0`` (PDEBench's solver; its paper writes the sign the other
way), and a constant initial level ``u(0, x) = c`` with ``c ~ U(0, c_max)`` per sample.

Space is discretized on ``num_x`` equispaced nodes (both ends included): second differences at the
interior nodes, ``u = 1`` at the first node for ``t > 0``, the outflow condition by a backward
difference at the last node (eliminated). Two solutions are written:

* ``u``: the discrete solution on the stored grid itself, BDF2 in time with the stored step
  (backward Euler for the first step), each step by Newton's method (tridiagonal Jacobians, all
  samples in one banded solve) to a residual ≤ 1e-12 /s. This is the solution of exactly the
  discrete equations that [`DiffusionSorption1D`][neuralsolvers.physics.sorption.DiffusionSorption1D] checks, so a network
  that satisfies them has zero error against it.
* ``u_fine``: the method-of-lines solution (SciPy's BDF at rtol 1e-9, adaptive steps), the accurate
  one in time. With ``S(u) = u + (1 − φ)/φ ρ_s k_f (u + ε)^(n_f)`` (so ``S' = R``) its system
  conserves mass: ``Σ S(u_i) Δx`` changes by the boundary fluxes, which are integrated alongside.

The self-check bounds the Newton residuals, that mass balance, ``0 ≤ u ≤ 1`` and the relative L2
distance between the two (the time discretization error of ``u``: ~0.5% at 129 × 101).

Written: ``u0`` ``(S, num_x)`` (the initial field), ``u`` and ``u_fine`` ``(S, num_t, num_x)`` on
the shared axes ``t`` ``(num_t,)`` (seconds) and ``x`` ``(num_x,)``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import scipy.sparse as sp
import torch
from scipy.integrate import solve_ivp
from scipy.linalg import solve_banded

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.errors import ConfigError, DatasetError

__all__ = ["DiffusionSorption", "retardation", "sorbed_mass"]

Array = TypeVar("Array", np.ndarray, torch.Tensor)
EPSILON = 1e-6


def _sorption_coefficient(porosity: float, rho_s: float, k_f: float) -> float:
    return (1.0 - porosity) / porosity * rho_s * k_f


def retardation(u: Array, porosity: float = 0.29, rho_s: float = 2880.0, k_f: float = 3.5e-4, n_f: float = 0.874) -> Array:
    """R(u) of the module docstring, elementwise (numpy or torch; ``u ≤ 0`` gives R(0), with finite
    gradients)."""
    positive = u.clip(0.0, None) if isinstance(u, np.ndarray) else u.clamp_min(0.0)
    return 1.0 + _sorption_coefficient(porosity, rho_s, k_f) * n_f * (positive + EPSILON) ** (n_f - 1.0)


def _retardation_slope(u: np.ndarray, porosity: float, rho_s: float, k_f: float, n_f: float) -> np.ndarray:
    """R'(u) (0 where ``u ≤ 0``, where R is floored)."""
    slope = _sorption_coefficient(porosity, rho_s, k_f) * n_f * (n_f - 1.0) * (u.clip(0.0, None) + EPSILON) ** (n_f - 2.0)
    return np.where(u > 0, slope, 0.0)


def sorbed_mass(u: np.ndarray, porosity: float, rho_s: float, k_f: float, n_f: float) -> np.ndarray:
    """S(u) = u + (1 − φ)/φ ρ_s k_f (u + ε)^(n_f): dissolved plus sorbed amount, ``S'(u) = R(u)``."""
    return u + _sorption_coefficient(porosity, rho_s, k_f) * (u.clip(0.0, None) + EPSILON) ** n_f


class DiffusionSorption(Generator):
    """Diffusion–sorption trajectories from random constant initial levels (module docstring).

    Args:
        num_x: nodes in x (both ends included); num_t: stored times in [0, t_final] (PDEBench: 1024
            cells × 101 times, t_final = 500 s).
        t_final: final time (seconds); ic_max: initial levels are U(0, ic_max).
        diffusivity: the physical constants (PDEBench's defaults).
        porosity: see `diffusivity`.
        rho_s: see `diffusivity`.
        k_f: see `diffusivity`.
        n_f: see `diffusivity`.
        tolerance: bound of the self-check's relative mass balance.
        discretization_tolerance: bound of the relative L2 distance between ``u`` and ``u_fine``.
    """

    name = "diffusion_sorption"

    def __init__(
        self,
        num_x: int = 129,
        num_t: int = 101,
        t_final: float = 500.0,
        ic_max: float = 0.2,
        diffusivity: float = 5e-4,
        porosity: float = 0.29,
        rho_s: float = 2880.0,
        k_f: float = 3.5e-4,
        n_f: float = 0.874,
        tolerance: float = 1e-5,
        discretization_tolerance: float = 2e-2,
    ):
        if num_x < 4 or num_t < 3 or not t_final > 0 or not 0 <= ic_max <= 1 or not diffusivity > 0:
            raise ConfigError("diffusion_sorption needs num_x ≥ 4, num_t ≥ 3, t_final > 0, 0 ≤ ic_max ≤ 1 and diffusivity > 0")
        self.num_x, self.num_t, self.t_final, self.ic_max = num_x, num_t, t_final, ic_max
        self.diffusivity, self.porosity, self.rho_s, self.k_f, self.n_f = diffusivity, porosity, rho_s, k_f, n_f
        self.tolerance, self.discretization_tolerance = tolerance, discretization_tolerance

    def _constants(self) -> dict[str, float]:
        return {"porosity": self.porosity, "rho_s": self.rho_s, "k_f": self.k_f, "n_f": self.n_f}

    def shared(self) -> dict[str, np.ndarray]:
        return {"t": np.linspace(0.0, self.t_final, self.num_t), "x": np.linspace(0.0, 1.0, self.num_x)}

    def _outflow(self) -> float:
        """``u_N = outflow · u_{N−1}``: ``u + D u_x = 0`` by a backward difference."""
        ratio = self.diffusivity * (self.num_x - 1)
        return ratio / (1.0 + ratio)

    def march(self, levels: np.ndarray) -> tuple[np.ndarray, float]:
        """The discrete solution ``(S, num_t, num_x)`` (BDF2 on the stored grid, module docstring) and
        the largest final Newton residual (1/s)."""
        samples, n = len(levels), self.num_x - 2
        dx, dt, D, outflow = 1.0 / (self.num_x - 1), self.t_final / (self.num_t - 1), self.diffusivity, self._outflow()
        constants = self._constants()
        first, last = np.zeros((samples, n), dtype=bool), np.zeros((samples, n), dtype=bool)
        first[:, 0], last[:, -1] = True, True  # no coupling across samples in the banded system
        history = [np.repeat(levels[:, None], n, axis=1)]
        worst = 0.0
        for step in range(1, self.num_t):  # time is sequential; samples and nodes are vectorized
            if step == 1:
                rate, known = 1.0 / dt, history[-1] / dt
            else:
                rate, known = 1.5 / dt, (4.0 * history[-1] - history[-2]) / (2.0 * dt)
            v = history[-1].copy()
            for _ in range(50):
                padded = np.concatenate([np.ones((samples, 1)), v, outflow * v[:, -1:]], axis=1)
                laplacian = (padded[:, :-2] - 2.0 * v + padded[:, 2:]) / dx**2
                R = retardation(v, **constants)
                residual = rate * v - known - D * laplacian / R
                error = float(np.abs(residual).max())
                if error <= 1e-12:
                    break
                centre = -2.0 + outflow * last  # ∂(laplacian)/∂v_i · dx², the outflow node folded in
                diagonal = rate - D * (centre / dx**2 / R - laplacian * _retardation_slope(v, **constants) / R**2)
                off = -D / (R * dx**2)
                banded = np.zeros((3, samples * n))
                banded[0, 1:] = np.where(last, 0.0, off).ravel()[:-1]  # ∂F_i/∂v_{i+1}
                banded[1] = diagonal.ravel()
                banded[2, :-1] = np.where(first, 0.0, off).ravel()[1:]  # ∂F_{i+1}/∂v_i
                v = v - solve_banded((1, 1), banded, residual.ravel()).reshape(samples, n)
            worst = max(worst, error)
            history.append(v)
        interior = np.stack(history, axis=1)
        return self._with_boundaries(interior, levels), worst

    def _with_boundaries(self, interior: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Interior values ``(S, num_t, num_x − 2)`` → full fields: the inflow, the outflow node and
        the initial level at both ends at t = 0."""
        left = np.ones(interior.shape[:2])
        left[:, 0] = levels
        right = self._outflow() * interior[..., -1]
        right[:, 0] = levels
        return np.concatenate([left[..., None], interior, right[..., None]], axis=2)

    def solve(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The method-of-lines trajectories ``(S, num_t, num_x)`` from initial levels ``(S,)`` and each
        sample's mass balance error ``(S,)`` (relative to the mass that entered)."""
        samples, interior = len(levels), self.num_x - 2
        dx, D, outflow = 1.0 / (self.num_x - 1), self.diffusivity, self._outflow()

        def boundary_values(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.ones(samples), outflow * u[:, -1]

        def rhs(_t: float, state: np.ndarray) -> np.ndarray:
            u = state.reshape(samples, interior + 1)[:, :interior]
            left, right = boundary_values(u)
            padded = np.concatenate([left[:, None], u, right[:, None]], axis=1)
            laplacian = (padded[:, :-2] - 2.0 * u + padded[:, 2:]) / dx**2
            flux = D * ((left - u[:, 0]) - (u[:, -1] - right)) / dx  # into the interior control volumes
            return np.concatenate([D * laplacian / retardation(u, **self._constants()), flux[:, None]], axis=1).ravel()

        pattern = sp.lil_matrix((interior + 1, interior + 1))  # one sample: (u interior, inflow)
        pattern[:interior, :interior] = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(interior, interior))
        pattern[interior, [0, interior - 2, interior - 1]] = 1
        sparsity = sp.block_diag([pattern] * samples, format="csr")
        start = np.concatenate([np.repeat(levels[:, None], interior, axis=1), np.zeros((samples, 1))], axis=1)
        times = np.linspace(0.0, self.t_final, self.num_t)
        solution = solve_ivp(rhs, (0.0, self.t_final), start.ravel(), method="BDF", t_eval=times,
                             rtol=1e-9, atol=1e-12, jac_sparsity=sparsity)  # fmt: skip
        if not solution.success:
            raise DatasetError(f"diffusion_sorption: the time integration failed: {solution.message}")
        states = solution.y.T.reshape(self.num_t, samples, interior + 1).transpose(1, 0, 2)
        u_interior, inflow = states[..., :interior], states[:, -1, interior]
        u = self._with_boundaries(u_interior, levels)
        mass = sorbed_mass(u_interior, **self._constants()).sum(axis=2) * dx
        balance = np.abs(mass[:, -1] - mass[:, 0] - inflow) / np.maximum(np.abs(inflow), 1e-12)
        return u, balance

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        levels = rng.uniform(0.0, self.ic_max, num_samples)
        fine, balance = self.solve(levels)
        u, newton = self.march(levels)
        return {"u0": u[:, 0].copy(), "u": u, "u_fine": fine, "_balance": balance, "_newton": np.array([newton])}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        u, fine = arrays["u"], arrays["u_fine"]
        for field in (u, fine):
            self._bounded(np.maximum(-field.min(initial=0.0), field.max(initial=0.0) - 1.0)[None], "bound violation (0 ≤ u ≤ 1)", 1e-8)
        self._bounded(arrays["_newton"], "Newton residual (1/s)", 1e-10)
        distance = np.linalg.norm((u - fine).reshape(len(u), -1), axis=1) / np.linalg.norm(fine.reshape(len(u), -1), axis=1)
        self._bounded(distance, "relative L2 distance between the BDF2 and the method-of-lines solutions", self.discretization_tolerance)
        return self._bounded(arrays["_balance"], "relative mass balance", self.tolerance)
