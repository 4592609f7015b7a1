"""Krylov training vectors for the deep conjugate-direction method (DCDM's data).

Lanczos runs ``m`` steps on one Poisson operator; its Ritz vectors ``y_j = Q s_j`` (``Q`` the
Lanczos basis, ``s_j`` eigenvectors of the tridiagonal ``T``) span the low and high ends of the
spectrum. A training right-hand side is ``b = Σ_j c_j y_j`` with ``c ~ N(0, 1)``, the coefficients
of the lowest ``low_fraction`` of Ritz values multiplied by ``low_weight`` (the paper: 55% and 9),
normalized to ‖b‖ = 1.

Memory: the basis ``Q`` (``m × n`` float64, ``8·m·n`` bytes) is written row by row to a scratch
HDF5 file and read back in blocks of ``block_rows`` rows, so RAM holds only
``O((block_rows + batch) · n + m²)`` numbers whatever ``m``; the disk holds ``8·m·n`` bytes
(m = 10,000 at 128³ would be 168 GB, as in the paper: choose ``m`` for your disk). The Lanczos
recurrence is the plain three-term one (no reorthogonalization): the extreme Ritz values converge
first and are reliable; interior copies ("ghosts") can appear after orthogonality is lost, which
only duplicates directions in the training mix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.poisson import PoissonObstacles
from neuralsolvers.errors import DatasetError
from neuralsolvers.solvers.operators import Operator

__all__ = ["KrylovVectors", "lanczos"]


def lanczos(operator: Operator, start: torch.Tensor, num_steps: int, basis: h5py.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """``num_steps`` Lanczos steps from ``start`` ``(n,)``; rows of ``basis`` ``(m, n)`` receive ``Q``.

    Returns the diagonal ``α`` ``(k,)`` and off-diagonal ``β`` ``(k − 1,)`` of ``T`` (``k ≤ m``: it
    stops early on an invariant subspace).
    """
    q = start / torch.linalg.vector_norm(start)
    previous = torch.zeros_like(q)
    alphas, betas = [], []
    beta = 0.0
    for step in range(num_steps):
        basis[step] = q.numpy()
        w = operator.matvec(q) - beta * previous
        alpha = float(q @ w)
        w -= alpha * q
        alphas.append(alpha)
        beta = float(torch.linalg.vector_norm(w))
        if step == num_steps - 1 or beta <= 1e-12 * abs(alpha):
            break
        betas.append(beta)
        previous, q = q, w / beta
    return np.array(alphas), np.array(betas)


class KrylovVectors(Generator):
    """Normalized right-hand sides mixing the Ritz vectors of one obstacle Poisson operator.

    Args:
        grid: the operator's scene (see ``PoissonObstacles``).
        scene: see `grid`.
        walls: see `grid`.
        num_obstacles: see `grid`.
        scene_seed: seed of the scene and of the Lanczos start vector (fixed for the whole dataset).
        num_lanczos: ``m``, Lanczos steps (the paper: 10,000).
        low_fraction: the lowest fraction of coefficients and their weight.
        low_weight: see `low_fraction`.
        block_rows: rows of ``Q`` read at a time when forming samples.

    Arrays: ``b`` ``(n, *grid)`` float32 with ‖b‖ = 1, zero on obstacles; shared ``mask`` and
    ``ritz_values`` (ascending).
    """

    name = "krylov_vectors"

    def __init__(
        self,
        grid: Sequence[int] = (64, 64),
        scene: str = "empty_box",
        walls: str = "dirichlet",
        num_obstacles: int = 4,
        scene_seed: int = 0,
        num_lanczos: int = 200,
        low_fraction: float = 0.55,
        low_weight: float = 9.0,
        block_rows: int = 256,
    ):
        if num_lanczos < 2 or not 0 <= low_fraction <= 1:
            raise ValueError("num_lanczos must be ≥ 2 and low_fraction in [0, 1]")
        self.grid = [int(n) for n in grid]
        self.scene, self.walls, self.num_obstacles, self.scene_seed = scene, walls, num_obstacles, scene_seed
        self.num_lanczos, self.low_fraction, self.low_weight, self.block_rows = num_lanczos, low_fraction, low_weight, block_rows
        self._scene = PoissonObstacles(grid=self.grid, scene=scene, num_obstacles=num_obstacles, walls=walls, solve=False)
        self._basis: tuple[tempfile.TemporaryDirectory, np.ndarray, np.ndarray, np.ndarray] | None = None

    def mask(self) -> np.ndarray:
        """The scene's fluid mask ``grid`` (uint8)."""
        return self._scene.generate(1, np.random.default_rng(self.scene_seed))["mask"][0]

    def _ritz(self) -> tuple[Path, np.ndarray, np.ndarray]:
        """Run Lanczos once per instance: the basis file, Ritz values and the eigenvectors of ``T``."""
        if self._basis is None:
            mask = self.mask()
            operator = self._scene.operator(mask)
            start = torch.as_tensor(np.random.default_rng([self.scene_seed, 1]).standard_normal(mask.size) * mask.reshape(-1), dtype=torch.float64)
            scratch = tempfile.TemporaryDirectory(prefix="lanczos-")
            with h5py.File(Path(scratch.name) / "basis.h5", "w") as file:
                basis = file.create_dataset("Q", shape=(self.num_lanczos, mask.size), dtype="f8", chunks=(1, mask.size))
                alphas, betas = lanczos(operator, start, self.num_lanczos, basis)
            values, vectors = np.linalg.eigh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
            self._basis = (scratch, values, vectors, mask)
        scratch, values, vectors, _ = self._basis
        return Path(scratch.name) / "basis.h5", values, vectors

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        path, values, vectors = self._ritz()
        k = len(values)
        coefficients = rng.standard_normal((k, num_samples))
        coefficients[: int(round(self.low_fraction * k))] *= self.low_weight
        weights = vectors @ coefficients  # (k, samples): b = Qᵀ-combination of Lanczos vectors
        samples = np.zeros((num_samples, int(np.prod(self.grid))))
        with h5py.File(path, "r") as file:
            basis = file["Q"]
            for start in range(0, k, self.block_rows):
                stop = min(start + self.block_rows, k)
                samples += weights[start:stop].T @ basis[start:stop]
        samples /= np.linalg.norm(samples, axis=1, keepdims=True)
        return {"b": samples.reshape(num_samples, *self.grid).astype(np.float32)}

    def shared(self) -> dict[str, np.ndarray]:
        _, values, _ = self._ritz()
        return {"mask": self._basis[3], "ritz_values": values}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        norms = np.linalg.norm(arrays["b"].reshape(len(arrays["b"]), -1).astype(np.float64), axis=1)
        error = float(np.abs(norms - 1).max(initial=0.0))
        if not error < 1e-5:
            raise DatasetError(f"krylov_vectors self-check failed: samples not normalized (|‖b‖ − 1| = {error:.1e})")
        return error
