"""Sequences of Poisson scenes whose obstacles move: every frame a new geometry, as in a simulation.

Each sample is one sequence of ``frames`` scenes on a cell grid of the unit square/cube. Its
obstacles (rotated boxes and ellipses; in 3D boxes and ellipsoids rotated about the last axis)
translate with constant velocities, bouncing off the walls, and rotate at constant rates; frame ``t``
takes them at time ``t``. The right-hand side of a frame is a smooth source (two Gaussian bumps that
drift with the frames, plus a uniform part) on the fluid cells, so consecutive frames have close
solutions and a solver can warm start from the previous one. Obstacles are Dirichlet cells (u = 0);
the walls are Dirichlet, Neumann or open-top ([`PoissonObstacles`][neuralsolvers.data_gen.poisson.PoissonObstacles],
whose operator the frames use). Every frame is checked to have fluid cells and no singular region.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.poisson import PoissonObstacles, fix_singular_regions
from neuralsolvers.errors import DatasetError
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["MovingObstacles"]


def _bounce(position: np.ndarray, low: float, high: float) -> np.ndarray:
    """``position`` reflected back into ``[low, high]`` (a straight path bouncing off the walls)."""
    span = high - low
    phase = np.mod(position - low, 2 * span)
    return low + np.where(phase > span, 2 * span - phase, phase)


class MovingObstacles(Generator):
    """Sequences of scenes with translating and rotating obstacles, one right-hand side per frame.

    Args:
        grid: cells per axis (2 or 3 numbers).
        frames: scenes per sequence.
        num_obstacles: obstacles per sequence.
        speed: largest distance an obstacle moves per frame (fraction of the domain).
        spin: largest rotation per frame (radians).
        walls: ``dirichlet``, ``neumann`` or ``open_top``.

    Arrays: ``mask`` ``(N, frames, *grid)`` uint8 (1 = fluid), ``b`` ``(N, frames, *grid)``
    float32 (zero on obstacles). `operator` gives a frame's matrix-free operator.
    """

    name = "moving_obstacles"

    def __init__(
        self,
        grid: Sequence[int] = (256, 256),
        frames: int = 20,
        num_obstacles: int = 3,
        speed: float = 0.02,
        spin: float = 0.1,
        walls: str = "dirichlet",
    ):
        if len(grid) not in (2, 3) or min(grid) < 4 or frames < 1 or num_obstacles < 1:
            raise ValueError(f"need a 2D or 3D grid of at least 4 cells per axis, frames ≥ 1 and num_obstacles ≥ 1; got {grid}, {frames}, {num_obstacles}")
        self.grid = [int(n) for n in grid]
        self.frames, self.num_obstacles, self.speed, self.spin, self.walls = frames, num_obstacles, speed, spin, walls
        self._scene = PoissonObstacles(grid=self.grid, walls=walls, solve=False)  # checks walls

    def operator(self, mask: np.ndarray, **options: Any) -> DiffusionStencil:
        """The matrix-free operator of one frame's fluid ``mask`` (as [`PoissonObstacles.operator`][neuralsolvers.data_gen.poisson.PoissonObstacles.operator])."""
        return self._scene.operator(mask, **options)

    def dirichlet_walls(self) -> list[bool]:
        return self._scene.dirichlet_walls()

    def _axes(self) -> list[np.ndarray]:
        """Cell-centre coordinates per axis, broadcastable over the grid."""
        dim = len(self.grid)
        return [((np.arange(n) + 0.5) / n).reshape([-1 if a == axis else 1 for a in range(dim)]) for axis, n in enumerate(self.grid)]

    def _solid(self, axes: list[np.ndarray], centre: np.ndarray, half: np.ndarray, angle: float, box: bool) -> np.ndarray:
        """Cells inside one obstacle: a box (or ellipse/ellipsoid) of half-sizes ``half`` rotated by
        ``angle`` in the plane of the first two axes."""
        dx, dy = axes[0] - centre[0], axes[1] - centre[1]
        u = np.cos(angle) * dx + np.sin(angle) * dy
        v = -np.sin(angle) * dx + np.cos(angle) * dy
        parts = [u / half[0], v / half[1]]
        if len(axes) == 3:
            parts.append((axes[2] - centre[2]) / half[2])
        inside = np.ones(self.grid, dtype=bool)
        if box:
            for part in parts:
                inside &= np.abs(part) <= 1
            return inside
        return inside & (sum(part**2 for part in parts) <= 1)

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        dim, axes = len(self.grid), self._axes()
        masks = np.empty((num_samples, self.frames, *self.grid), dtype=np.uint8)
        rhs = np.empty((num_samples, self.frames, *self.grid), dtype=np.float32)
        times = np.arange(self.frames)
        for sample in range(num_samples):
            start = rng.uniform(0.2, 0.8, (self.num_obstacles, dim))
            velocity = rng.uniform(-self.speed, self.speed, (self.num_obstacles, dim))
            half = rng.uniform(0.04, 0.12, (self.num_obstacles, dim))
            angle0, rate = rng.uniform(0, np.pi, self.num_obstacles), rng.uniform(-self.spin, self.spin, self.num_obstacles)
            boxes = rng.random(self.num_obstacles) < 0.5
            sources = rng.uniform(0.2, 0.8, (2, dim)), rng.uniform(-self.speed, self.speed, (2, dim))
            signs, width = rng.choice([-1.0, 1.0], 2), rng.uniform(0.05, 0.15)
            for t in times:
                solid = np.zeros(self.grid, dtype=bool)
                for k in range(self.num_obstacles):
                    centre = _bounce(start[k] + velocity[k] * t, 0.1, 0.9)
                    solid |= self._solid(axes, centre, half[k], angle0[k] + rate[k] * t, bool(boxes[k]))
                fluid = fix_singular_regions(~solid, self.dirichlet_walls())
                if not fluid.any():
                    raise DatasetError(f"{self.name}: frame {t} of a sequence has no fluid cell (obstacles too large)")
                source = np.full(self.grid, 0.1)
                for sign, (centre, drift) in zip(signs, zip(*sources, strict=True), strict=True):
                    where = _bounce(centre + drift * t, 0.1, 0.9)
                    source = source + sign * np.exp(-sum((a - c) ** 2 for a, c in zip(axes, where, strict=True)) / (2 * width**2))
                masks[sample, t], rhs[sample, t] = fluid, source * fluid
        return {"mask": masks, "b": rhs}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        moved = np.mean(arrays["mask"][:, 1:] != arrays["mask"][:, :-1]) if self.frames > 1 else 1.0
        if self.frames > 1 and self.speed > 0 and moved == 0:
            raise DatasetError(f"{self.name} self-check failed: the obstacles did not move between frames")
        return 0.0
