"""1D diffusion–sorption (PDEBench; the PI-HC-MoE benchmark of Chalapathi et al. 2024).

A contaminant diffuses into a porous medium and sorbs onto it (Freundlich isotherm):

    ∂_t u = D / R(u) · ∂_xx u,   R(u) = 1 + (1 − φ)/φ · ρ_s · k_f · n_f · (u + ε)^(n_f − 1)

on x ∈ [0, 1], t ∈ [0, t_final] with ``D = 5e-4``, ``φ = 0.29``, ``ρ_s = 2880``, ``k_f = 3.5e-4``,
``n_f = 0.874``, ``ε = 1e-6`` (``u ≤ 0`` uses ``R(0)``), a saturated inflow ``u(t, 0) = 1``, an
outflow ``u(t, 1) + D ∂_x u(t, 1) = 0`` (PDEBench's solver; its paper writes the sign the other
way), and a constant initial level ``u(0, x) = c`` with ``c ~ U(0, c_max)`` per sample.

The reference is the method of lines on ``num_x`` equispaced nodes (both ends included): second
differences at the interior nodes, ``u = 1`` at the first node for ``t > 0``, the outflow condition
by a backward difference at the last node (eliminated), SciPy's BDF at rtol 1e-9 with a sparse
Jacobian, all samples of a call in one system. With ``S(u) = u + (1 − φ)/φ ρ_s k_f (u + ε)^(n_f)``
(so ``S' = R``) the discrete system conserves mass: ``Σ S(u_i) Δx`` changes by the boundary
fluxes, which are integrated alongside; the self-check bounds that balance and ``0 ≤ u ≤ 1``.

Written: ``u0`` ``(S, num_x)`` (the initial field), ``u`` ``(S, num_t, num_x)`` on the shared
axes ``t`` ``(num_t,)`` (seconds) and ``x`` ``(num_x,)``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import scipy.sparse as sp
import torch
from scipy.integrate import solve_ivp

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


def sorbed_mass(u: np.ndarray, porosity: float, rho_s: float, k_f: float, n_f: float) -> np.ndarray:
    """S(u) = u + (1 − φ)/φ ρ_s k_f (u + ε)^(n_f): dissolved plus sorbed amount, ``S'(u) = R(u)``."""
    return u + _sorption_coefficient(porosity, rho_s, k_f) * (u.clip(0.0, None) + EPSILON) ** n_f


class DiffusionSorption(Generator):
    """Diffusion–sorption trajectories from random constant initial levels (module docstring).

    Args:
        num_x: nodes in x (both ends included); num_t: stored times in [0, t_final] (PDEBench: 1024
            cells × 101 times, t_final = 500 s).
        t_final: final time (seconds); ic_max: initial levels are U(0, ic_max).
        diffusivity, porosity, rho_s, k_f, n_f: the physical constants (PDEBench's defaults).
        tolerance: bound of the self-check's relative mass balance.
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
    ):
        if num_x < 4 or num_t < 3 or not t_final > 0 or not 0 <= ic_max <= 1 or not diffusivity > 0:
            raise ConfigError("diffusion_sorption needs num_x ≥ 4, num_t ≥ 3, t_final > 0, 0 ≤ ic_max ≤ 1 and diffusivity > 0")
        self.num_x, self.num_t, self.t_final, self.ic_max = num_x, num_t, t_final, ic_max
        self.diffusivity, self.porosity, self.rho_s, self.k_f, self.n_f = diffusivity, porosity, rho_s, k_f, n_f
        self.tolerance = tolerance

    def _constants(self) -> dict[str, float]:
        return {"porosity": self.porosity, "rho_s": self.rho_s, "k_f": self.k_f, "n_f": self.n_f}

    def shared(self) -> dict[str, np.ndarray]:
        return {"t": np.linspace(0.0, self.t_final, self.num_t), "x": np.linspace(0.0, 1.0, self.num_x)}

    def solve(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Trajectories ``(S, num_t, num_x)`` from initial levels ``(S,)`` and each sample's mass
        balance error ``(S,)`` (relative to the mass that entered)."""
        samples, interior = len(levels), self.num_x - 2
        dx, D = 1.0 / (self.num_x - 1), self.diffusivity
        outflow = (D / dx) / (1.0 + D / dx)  # u_N = outflow · u_{N−1}: u + D u_x = 0, backward difference

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
        left = np.ones((samples, self.num_t))
        left[:, 0] = levels
        right = outflow * u_interior[..., -1]
        right[:, 0] = levels
        u = np.concatenate([left[..., None], u_interior, right[..., None]], axis=2)
        mass = sorbed_mass(u_interior, **self._constants()).sum(axis=2) * dx
        balance = np.abs(mass[:, -1] - mass[:, 0] - inflow) / np.maximum(np.abs(inflow), 1e-12)
        return u, balance

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        levels = rng.uniform(0.0, self.ic_max, num_samples)
        u, balance = self.solve(levels)
        return {"u0": u[:, 0].copy(), "u": u, "_balance": balance}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        u = arrays["u"]
        self._bounded(np.maximum(-u.min(initial=0.0), u.max(initial=0.0) - 1.0)[None], "bound violation (0 ≤ u ≤ 1)", 1e-8)
        return self._bounded(arrays["_balance"], "relative mass balance", self.tolerance)
