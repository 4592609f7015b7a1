"""Darcy flow in 2D (the FNO and MgNO benchmark): −∇·(a∇u) = f on the unit square, u = 0 on ∂Ω.

The coefficient ``a`` lives on the nodes of an ``s × s`` grid of [0, 1]² (boundary nodes included):
either piecewise constant, 12 where a periodic GRF (covariance (−Δ + τ²)^(−α), α = 2, τ = 3) is
non-negative and 3 elsewhere (the FNO set-up), or smooth log-normal ``exp(scale · GRF)``. The
equation is discretized by 5-point finite volumes on the interior nodes with harmonic averages of
``a`` on faces between interior nodes (a face to the boundary takes the interior node's ``a``; see
[`neuralsolvers.solvers.DiffusionStencil`][neuralsolvers.solvers.stencils.DiffusionStencil]), and solved by a sparse direct solve (SuperLU)
whose relative residual is checked to be ≤ ``tolerance``. Samples run in a process pool.

Coarser training grids are exact subsamples: with ``s − 1`` divisible by ``r`` the nodes
``[::r, ::r]`` are nodes of the fine grid (421 → 211, 141, 106, 85; 129 → 65, 33), as in the FNO
benchmark. Note: FNO's released data used a cosine-series (Neumann) GRF; ours is periodic.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import SpectralField, lognormal_field, threshold_field
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["Darcy2D", "darcy_operator", "subsample"]

COEFFICIENTS = ("piecewise", "lognormal")


def darcy_operator(coefficient: np.ndarray, device: str | torch.device = "cpu") -> DiffusionStencil:
    """The 5-point finite-volume operator (float64, on ``device``) on the interior nodes of a node-grid coefficient ``(s, s)``."""
    s = coefficient.shape[-1]
    interior = torch.as_tensor(coefficient[1:-1, 1:-1], dtype=torch.float64)
    return DiffusionStencil((s - 2, s - 2), coefficient=interior, spacing=1.0 / (s - 1), device=device)


def _solve(coefficients: np.ndarray, forcing: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve for a stack of coefficients ``(n, s, s)`` with a constant ``f`` or fields ``(n, s, s)``
    (interior nodes used): solutions ``(n, s, s)`` and relative residuals ``(n,)``."""
    n, s, _ = coefficients.shape
    solutions = np.zeros((n, s, s))
    residuals = np.zeros(n)
    fields = np.broadcast_to(np.asarray(forcing, dtype=np.float64), (n, s, s))
    for i, coefficient in enumerate(coefficients):  # one sparse factorization per sample
        matrix = darcy_operator(coefficient).to_scipy().tocsc()
        f = np.ascontiguousarray(fields[i, 1:-1, 1:-1]).reshape(-1)
        u = spla.splu(matrix).solve(f)
        residuals[i] = np.linalg.norm(f - matrix @ u) / np.linalg.norm(f)
        solutions[i, 1:-1, 1:-1] = u.reshape(s - 2, s - 2)
    return solutions, residuals


def subsample(fields: np.ndarray, stride: int) -> np.ndarray:
    """Nodes ``[::stride, ::stride]`` of node-grid fields ``(..., s, s)``; exact only if ``stride`` divides ``s − 1``."""
    s = fields.shape[-1]
    if stride < 1 or (s - 1) % stride:
        raise ValueError(f"stride {stride} does not divide s − 1 = {s - 1}: the coarse grid would not be a subgrid")
    return fields[..., ::stride, ::stride]


class Darcy2D(Generator):
    """Darcy flow samples: coefficient ``a`` and pressure ``u`` on an ``s × s`` node grid.

    Args:
        resolution: ``s``, nodes per side including the boundary.
        coefficient: ``piecewise`` (12/3 from a thresholded GRF) or ``lognormal``.
        alpha: GRF smoothness and inverse length scale.
        tau: see `alpha`.
        high: the two values of the piecewise coefficient.
        low: see `high`.
        lognormal_scale: ``a = exp(scale · GRF)`` for the log-normal coefficient.
        forcing: constant right-hand side ``f``.
        random_forcing: instead, ``f`` per sample is a GRF (α = 1.5, rougher than the coefficient's,
            scaled to unit RMS) and is stored as ``f``: the data for networks that map
            ``(a, f) ↦ u``, i.e. approximate inverses to use as preconditioners.
        tolerance: largest allowed relative residual of each solve (the self-check).
        workers: processes solving in parallel (0: one per CPU core).

    Arrays: ``a``, ``u`` (and ``f`` with ``random_forcing``) of shape ``(n, s, s)`` float32
    (``_residual`` ``(n,)`` for the check);
    shared ``grid`` ``(s,)`` node coordinates.
    """

    name = "darcy2d"

    def __init__(
        self,
        resolution: int = 129,
        coefficient: str = "piecewise",
        alpha: float = 2.0,
        tau: float = 3.0,
        high: float = 12.0,
        low: float = 3.0,
        lognormal_scale: float = 1.0,
        forcing: float = 1.0,
        random_forcing: bool = False,
        tolerance: float = 1e-10,
        workers: int = 0,
    ):
        if coefficient not in COEFFICIENTS:
            raise ValueError(f"coefficient must be one of {COEFFICIENTS}, got {coefficient!r}")
        if resolution < 4:
            raise ValueError(f"resolution must be at least 4 nodes, got {resolution}")
        self.resolution = resolution
        self.coefficient = coefficient
        self.alpha, self.tau = alpha, tau
        self.high, self.low = high, low
        self.lognormal_scale = lognormal_scale
        self.forcing, self.random_forcing = forcing, random_forcing
        self.tolerance = tolerance
        self.workers = workers

    def coefficients(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Coefficient fields ``(n, s, s)``."""
        field = SpectralField(self.resolution, dim=2, alpha=self.alpha, tau=self.tau).sample(num_samples, rng)
        if self.coefficient == "piecewise":
            return threshold_field(field, self.high, self.low)
        return lognormal_field(field, scale=self.lognormal_scale)

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        a = self.coefficients(num_samples, rng)
        f: float | np.ndarray = self.forcing
        if self.random_forcing:
            f = SpectralField(self.resolution, dim=2, alpha=1.5, tau=self.tau).sample(num_samples, rng)
            f = f / np.sqrt(np.mean(f[:, 1:-1, 1:-1] ** 2, axis=(1, 2), keepdims=True))
        # a pool pays off from a few samples per worker; "spawn" because a forked child of a process
        # that has run torch's thread pools can deadlock
        workers = min(self.workers or os.cpu_count() or 1, num_samples // 8)
        if workers > 1:
            chunks = np.array_split(a, workers)
            forcings = np.array_split(f, workers) if self.random_forcing else [f] * workers
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                parts = list(pool.map(_solve, chunks, forcings))
            u = np.concatenate([part[0] for part in parts])
            residual = np.concatenate([part[1] for part in parts])
        else:
            u, residual = _solve(a, f)
        arrays = {"a": a.astype(np.float32), "u": u.astype(np.float32), "_residual": residual}
        if self.random_forcing:
            arrays["f"] = f.astype(np.float32)
        return arrays

    def shared(self) -> dict[str, np.ndarray]:
        return {"grid": np.linspace(0.0, 1.0, self.resolution)}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays["_residual"], "relative residual", self.tolerance)
