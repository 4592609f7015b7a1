"""Sequences of related linear systems (for learned SOR/SSOR parameters): 2D heat-equation steps.

Each sample is one simulation: backward-Euler steps of u_t = ∇·(a(t)∇u) + f on the unit square with
u = 0 on the boundary, on an ``n × n`` interior grid. Step ``k`` solves

    (I + Δt A(a_k)) u_{k+1} = u_k + Δt f,

with ``A(a)`` the 5-point finite-volume operator of :class:`neuralsolvers.solvers.DiffusionStencil`
(harmonic face averages). The coefficient varies per instance (a log-normal GRF ``a₀``) and along the
sequence: ``a_k = a₀ · (1 + amplitude · sin(2π k / T + φ))`` with a random phase ``φ``, so the
systems drift the way a simulation's do. Every system is SPD. Context features per step, the inputs
of a contextual bandit: mean, min and max of ``a_k``, and the stiffness ``Δt · mean(a_k) / h²``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import SpectralField, lognormal_field
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["HeatSequence"]

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
    (mean_a, min_a, max_a, stiffness). :meth:`matrix` gives step ``k``'s SciPy matrix.
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
