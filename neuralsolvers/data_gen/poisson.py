"""Poisson systems with obstacles (for DCDM and the preconditioner evaluation), 2D and 3D.

A scene is a fluid mask on a cell grid of the unit square/cube: interior obstacles are Dirichlet
cells (u = 0), walls are Dirichlet or Neumann. The operator is the 5/7-point −Δ of
[`neuralsolvers.solvers.DiffusionStencil`][neuralsolvers.solvers.stencils.DiffusionStencil] (matrix-free; ``to_scipy()`` assembles it).

Scenes:
    ``boxes``: 1..``num_obstacles`` random axis-aligned boxes (sides 10–30% of the domain);
    ``spheres``: 1..``num_obstacles`` random balls (radius 5–20%);
    ``empty_box``: no obstacle, only the walls;
    ``plume``: a column of small blobs rising from the lower centre, wider upwards, like the
    solid-free smoke plume scenes of the DCDM paper but with obstacles in the plume's path;
    ``bunny``: one compact body of overlapping ellipsoids (body, head, two ears) at a random
    position and scale, a stand-in for the paper's bunny obstacle.

Singular systems: with Neumann walls a fluid region that touches no Dirichlet wall and no obstacle
has the constants in its null space. They are fixed, not projected: the first cell of each such
connected region is made a Dirichlet cell (u = 0, it joins the mask's obstacles), which keeps the
matrix SPD and changes the solution only by a constant on that region.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.ndimage as ndimage
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.solvers.krylov.conjugate_gradient import cg
from neuralsolvers.solvers.multigrid.amg import AMG
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["SCENES", "PoissonObstacles", "PoissonSystem", "fix_singular_regions", "load_systems", "scene_mask"]

SCENES = ("boxes", "spheres", "empty_box", "plume", "bunny")


def _centres(grid: tuple[int, ...]) -> list[np.ndarray]:
    return np.meshgrid(*[(np.arange(n) + 0.5) / n for n in grid], indexing="ij")


def _ellipsoid(coords: list[np.ndarray], centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    return sum(((c - m) / r) ** 2 for c, m, r in zip(coords, centre, radii, strict=True)) <= 1.0


def scene_mask(grid: tuple[int, ...], scene: str, rng: np.random.Generator, num_obstacles: int = 4) -> np.ndarray:
    """Fluid mask (True = unknown) of one random scene on a cell grid of shape ``grid``."""
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    dim = len(grid)
    coords = _centres(grid)
    solid = np.zeros(grid, dtype=bool)
    if scene == "boxes":
        for _ in range(rng.integers(1, num_obstacles + 1)):
            low = rng.uniform(0.05, 0.7, dim)
            high = low + rng.uniform(0.1, 0.3, dim)
            solid |= np.logical_and.reduce([(c >= lo) & (c <= hi) for c, lo, hi in zip(coords, low, high, strict=True)])
    elif scene == "spheres":
        for _ in range(rng.integers(1, num_obstacles + 1)):
            solid |= _ellipsoid(coords, rng.uniform(0.15, 0.85, dim), np.full(dim, rng.uniform(0.05, 0.2)))
    elif scene == "plume":
        heights = np.sort(rng.uniform(0.15, 0.85, num_obstacles))
        for height in heights:
            centre = np.full(dim, 0.5) + rng.normal(0, 0.05 + 0.15 * height, dim)
            centre[-1] = height
            solid |= _ellipsoid(coords, centre, np.full(dim, 0.03 + 0.07 * height))
    elif scene == "bunny":
        scale, centre = rng.uniform(0.6, 1.0), rng.uniform(0.4, 0.6, dim)
        parts = [(np.zeros(dim), np.full(dim, 0.22)), (np.full(dim, 0.15), np.full(dim, 0.12))]
        for side in (-1, 1):
            offset = np.full(dim, 0.2)
            offset[0] = 0.15 + side * 0.06
            radii = np.full(dim, 0.035)
            radii[-1] = 0.12
            parts.append((offset + np.eye(dim)[-1] * 0.12, radii))
        for offset, radii in parts:
            solid |= _ellipsoid(coords, centre + scale * offset, scale * radii)
    return ~solid


def fix_singular_regions(fluid: np.ndarray, dirichlet_walls: list[bool]) -> np.ndarray:
    """Make the first cell of every fluid region that touches no Dirichlet cell or wall a Dirichlet cell."""
    labels, count = ndimage.label(fluid)
    if count == 0:
        return fluid
    anchored = np.zeros(count + 1, dtype=bool)
    near_solid = ndimage.binary_dilation(~fluid) & fluid
    anchored[np.unique(labels[near_solid])] = True
    for axis in range(fluid.ndim):
        for side, index in ((0, 0), (1, fluid.shape[axis] - 1)):
            if dirichlet_walls[2 * axis + side]:
                anchored[np.unique(np.take(labels, index, axis=axis))] = True
    fixed = fluid.copy()
    flat = labels.reshape(-1)
    for region in np.flatnonzero(~anchored[1:]) + 1:
        fixed.reshape(-1)[np.argmax(flat == region)] = False
    return fixed


class PoissonObstacles(Generator):
    """Random obstacle scenes with right-hand sides and (optionally) AMG-PCG solutions.

    Args:
        grid: cells per axis (2 or 3 numbers).
        scene: one of ``boxes``, ``spheres``, ``empty_box``, ``plume``, ``bunny``.
        num_obstacles: most obstacles (or blobs) per scene.
        walls: ``dirichlet``, ``neumann``, or ``open_top`` (Neumann except a Dirichlet top, as in a
            smoke simulation's pressure projection).
        solve: also store the solution of each system (AMG-PCG to ``tolerance``).
        tolerance: relative residual of the stored solutions (the self-check).

    Arrays: ``mask`` ``(n, *grid)`` uint8 (1 = fluid), ``b`` ``(n, *grid)`` float32 (zero on
    obstacles), and ``x`` float64 when ``solve``; operator: `operator` / ``.to_scipy()``.
    """

    name = "poisson_obstacles"

    def __init__(
        self,
        grid: Sequence[int] = (64, 64),
        scene: str = "boxes",
        num_obstacles: int = 4,
        walls: str = "dirichlet",
        solve: bool = True,
        tolerance: float = 1e-8,
    ):
        if scene not in SCENES:
            raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
        if walls not in ("dirichlet", "neumann", "open_top"):
            raise ValueError(f"walls must be dirichlet, neumann or open_top, got {walls!r}")
        self.grid = [int(n) for n in grid]
        self.scene, self.num_obstacles, self.walls = scene, num_obstacles, walls
        self.solve, self.tolerance = solve, tolerance

    def dirichlet_walls(self) -> list[bool]:
        dim = len(self.grid)
        if self.walls == "open_top":
            return [False] * (2 * dim - 1) + [True]
        return [self.walls == "dirichlet"] * (2 * dim)

    def operator(self, mask: np.ndarray, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> DiffusionStencil:
        """The matrix-free operator of one scene's fluid ``mask`` (``.to_scipy()`` for the SciPy matrix)."""
        fluid = torch.as_tensor(np.asarray(mask).astype(bool))
        return DiffusionStencil(self.grid, mask=fluid, spacing=1.0 / max(self.grid), dirichlet_walls=self.dirichlet_walls(), dtype=dtype, device=device)

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        grid = tuple(self.grid)
        masks = np.stack([fix_singular_regions(scene_mask(grid, self.scene, rng, self.num_obstacles), self.dirichlet_walls()) for _ in range(num_samples)])
        b = rng.standard_normal((num_samples, *grid)) * masks
        arrays = {"mask": masks.astype(np.uint8), "b": b.astype(np.float32)}
        if self.solve:
            solutions, residuals = [], []
            for mask, rhs in zip(masks, arrays["b"], strict=True):  # one AMG-PCG solve per scene
                operator = self.operator(mask)
                rhs64 = torch.as_tensor(rhs.reshape(-1), dtype=torch.float64)
                result = cg(operator, rhs64, rtol=self.tolerance, M=AMG(operator.to_scipy()))
                solutions.append(result.x.reshape(grid).numpy())
                residuals.append(result.true_residual)
            arrays["x"] = np.stack(solutions)
            arrays["_residual"] = np.array(residuals)
        return arrays

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays.get("_residual", np.zeros(1)), "relative residual", self.tolerance)


class PoissonSystem:
    """One obstacle Poisson system: fluid ``mask`` ``grid`` (bool), right-hand side ``b`` ``(n,)``
    float64, and its matrix-free operator (float64, on ``device``)."""

    def __init__(self, scene: PoissonObstacles, mask: np.ndarray, b: np.ndarray, device: str | torch.device = "cpu"):
        self.scene = scene
        self.mask = torch.as_tensor(np.asarray(mask).astype(bool), device=device)
        self.b = torch.as_tensor(np.asarray(b, dtype=np.float64).reshape(-1), device=device)
        self.operator: DiffusionStencil = scene.operator(np.asarray(mask), device=device)

    @property
    def device(self) -> torch.device:
        return self.b.device

    def to(self, device: str | torch.device) -> PoissonSystem:
        """The same system on ``device`` (itself if already there)."""
        if torch.device(device) == self.device:
            return self
        return PoissonSystem(self.scene, self.mask.cpu().numpy(), self.b.cpu().numpy(), device)


def load_systems(directory: str | Path, count: int | None = None, device: str | torch.device = "cpu") -> list[PoissonSystem]:
    """The first ``count`` (default all) systems of a ``poisson_obstacles`` dataset split."""
    dataset = ShardedDataset(directory, generator="poisson_obstacles")
    parameters = dataset.metadata["parameters"]
    scene = PoissonObstacles(grid=parameters["grid"], walls=parameters["walls"], solve=False)
    arrays = dataset.load(["mask", "b"])
    count = len(dataset) if count is None else min(count, len(dataset))
    return [PoissonSystem(scene, arrays["mask"][i], arrays["b"][i], device) for i in range(count)]
