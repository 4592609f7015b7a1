"""Random diffusion scenes for learned multigrid: obstacles, wall types and coefficient fields, 2D and 3D.

A scene is the fluid mask of one of `SCENES`, a wall type
per sample (``dirichlet``, ``neumann``, ``mixed``: each wall drawn, at least two Dirichlet, or
``open_top``: Neumann except a Dirichlet top wall), and a cell coefficient of one of the
`COEFFICIENT_FAMILIES`, drawn per sample from the generator's ``coefficients``:

* ``inclusions``: 1 except, with probability ``jump_probability``, inside 1 to 3 random inclusions
  (axis-aligned boxes or balls) where it is ``10^U(−contrast, contrast)``;
* ``lognormal``: ``exp(sigma · g)``, ``g`` a zero-mean, unit-variance Gaussian random field with the
  squared-exponential covariance of correlation length 0.1 (of each axis of the unit domain);
* ``blobs``: such a field thresholded at 0, so about half the cells high: random smooth blobs;
* ``channels``: 2 to 5 sinuous high-permeability channels crossing the domain (bands
  ``|y − (c + a sin(2π f x + φ))| ≤ w`` in 2D, tubes in 3D), width 3–8% of the domain;
* ``layers``: a layered medium, alternating high and low along one random axis (4 to 12 layers of
  random thickness, at least one cell each); it does not vary along the other axes.

The binary families (``blobs``, ``channels``, ``layers``) take exactly two values, 1 and
``10^contrast``: there ``contrast`` is the log10 of the ratio (``contrast=6`` gives 1 and 10⁶),
whereas for ``inclusions`` it is the half-width of the log10 range. Each sample also has a
right-hand side (standard normal on fluid cells). No solutions are stored: training is unsupervised
and the evaluations solve to a checked true residual themselves. Regions that touch no Dirichlet
cell are made non-singular as in [`fix_singular_regions`][neuralsolvers.data_gen.poisson.fix_singular_regions].

Arrays: ``mask`` ``(n, *grid)`` uint8 (1 = fluid), ``coefficient`` ``(n, *grid)`` float32,
``walls`` ``(n, 2·dim)`` uint8 (1 = Dirichlet; low, high per axis), ``b`` ``(n, *grid)`` float32.
[`scene_operator`][neuralsolvers.data_gen.diffusion_scenes.scene_operator] turns one sample into its [`DiffusionStencil`][neuralsolvers.solvers.stencils.DiffusionStencil]
(spacing ``1 / max(grid)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import RBFField
from neuralsolvers.data_gen.poisson import (
    SCENES,
    _centres,
    _ellipsoid,
    fix_singular_regions,
    scene_mask,
)
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = [
    "COEFFICIENT_FAMILIES",
    "INCLUSIONS",
    "WALL_TYPES",
    "DiffusionScenes",
    "load_scenes",
    "scene_operator",
    "scene_stencil",
]

WALL_TYPES = ("dirichlet", "neumann", "mixed", "open_top")
INCLUSIONS = ("boxes", "balls")
COEFFICIENT_FAMILIES = ("inclusions", "lognormal", "blobs", "channels", "layers")
# correlation length of the smooth fields of ``lognormal`` and ``blobs``, in units of each axis
CORRELATION_LENGTH = 0.1


def wall_flags(kind: str, dim: int, rng: np.random.Generator) -> list[bool]:
    """Dirichlet flags per wall (low, high per axis) of a wall type; ``mixed`` draws each wall
    Dirichlet or Neumann, with at least two Dirichlet walls (so never ``open_top``'s single one)."""
    if kind == "open_top":
        return [False] * (2 * dim - 1) + [True]
    if kind == "mixed":
        while True:
            flags = [bool(flag) for flag in rng.random(2 * dim) < 0.5]
            if sum(flags) >= 2:
                return flags
    return [kind == "dirichlet"] * (2 * dim)


def smooth_field(grid: tuple[int, ...], rng: np.random.Generator, field: RBFField) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field on the cell centres ``(i + 0.5) / n`` of
    ``grid`` (2D or 3D, sizes may differ per axis), with the squared-exponential covariance of the
    1D ``field`` (a unit-variance [`RBFField`][neuralsolvers.data_gen.grf.RBFField]) along every
    axis. That covariance is separable, so the field is white noise multiplied along each axis by
    the square root of the axis's 1D kernel matrix (``field`` caches it per size)."""
    values = rng.standard_normal(grid)
    for axis, n in enumerate(grid):
        factor = field._factor((np.arange(n) + 0.5) / n)
        values = np.moveaxis(np.tensordot(factor, values, axes=(1, axis)), 0, axis)
    return values


def channel_cells(grid: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Cells of 2 to 5 random sinuous channels crossing the domain along a random axis each: within
    ``w`` of the centre line ``c + a sin(2π f x + φ)`` (per cross axis, so bands in 2D and tubes in
    3D); ``w`` is 1.5–4% of the domain but at least half a cell's diagonal in the cross section, so
    that no channel is broken by the grid."""
    coords, dim = _centres(grid), len(grid)
    spacing = 1.0 / np.asarray(grid, dtype=float)
    inside = np.zeros(grid, dtype=bool)
    for _ in range(rng.integers(2, 6)):
        along = int(rng.integers(dim))
        across = [axis for axis in range(dim) if axis != along]
        half_width = max(rng.uniform(0.015, 0.04), 0.5 * float(np.linalg.norm(spacing[across])))
        distance = np.zeros(grid)
        for axis in across:
            low, high = [0.15, 0.02, 0.5, 0.0], [0.85, 0.12, 2.0, 2 * np.pi]
            centre, amplitude, frequency, phase = rng.uniform(low, high)
            line = centre + amplitude * np.sin(2 * np.pi * frequency * coords[along] + phase)
            distance += (coords[axis] - line) ** 2
        inside |= distance <= half_width**2
    return inside


def layer_cells(grid: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Every other layer of a layered medium along one random axis: 4 to 12 layers (no more than the
    axis has cells) of random thicknesses, at least one cell each, the first high or low at random;
    constant along the other axes."""
    axis = int(rng.integers(len(grid)))
    n = grid[axis]
    count = int(rng.integers(min(n, 4), min(n, 12) + 1))
    cuts = np.sort(rng.choice(np.arange(1, n), count - 1, replace=False))
    high = (np.searchsorted(cuts, np.arange(n), side="right") + rng.integers(2)) % 2 == 1
    shape = [1] * len(grid)
    shape[axis] = n
    return np.broadcast_to(high.reshape(shape), grid)


class DiffusionScenes(Generator):
    """Random scenes: obstacle family, wall type and coefficient field drawn per sample.

    Args:
        grid: cells per axis (2 or 3 numbers).
        families: obstacle families to draw from (of ``boxes``, ``spheres``, ``empty_box``, ``plume``, ``bunny``).
        walls: wall types to draw from (of ``dirichlet``, ``neumann``, ``mixed``, ``open_top``).
        inclusions: shape of the coefficient inclusions, ``boxes`` or ``balls`` (family ``inclusions``).
        jump_probability: chance that an ``inclusions`` scene has inclusions (1 to 3 of them).
        contrast: log10 contrast. ``inclusions`` take ``10^U(−contrast, contrast)``; the binary
            families ``blobs``, ``channels`` and ``layers`` take 1 and exactly ``10^contrast``
            (``contrast=6``: 1 and 10⁶).
        num_obstacles: most obstacles per scene.
        coefficients: coefficient families to draw from, per sample (of ``inclusions``,
            ``lognormal``, ``blobs``, ``channels``, ``layers``; see the module's description). With a
            single family none is drawn, so the default gives the same scenes as before families existed.
        sigma: standard deviation of the log of a ``lognormal`` coefficient (0 to 5; with 3 a 64²
            field spans about seven decades).
    """

    name = "diffusion_scenes"

    def __init__(
        self,
        grid: Sequence[int] = (64, 64),
        families: Sequence[str] = ("boxes", "spheres", "bunny"),
        walls: Sequence[str] = ("dirichlet", "neumann"),
        inclusions: str = "boxes",
        jump_probability: float = 0.5,
        contrast: float = 2.0,
        num_obstacles: int = 4,
        coefficients: Sequence[str] = ("inclusions",),
        sigma: float = 1.0,
    ):
        unknown = [f for f in families if f not in SCENES] + [w for w in walls if w not in WALL_TYPES]
        if unknown or not families or not walls:
            raise ValueError(f"families must be among {SCENES} and walls among {WALL_TYPES} (at least one each); got {list(families)}, {list(walls)}")
        if inclusions not in INCLUSIONS:
            raise ValueError(f"inclusions must be one of {INCLUSIONS}, got {inclusions!r}")
        if not 0 <= jump_probability <= 1 or contrast < 0:
            raise ValueError(f"need 0 ≤ jump_probability ≤ 1 and contrast ≥ 0, got {jump_probability}, {contrast}")
        if not coefficients or any(c not in COEFFICIENT_FAMILIES for c in coefficients):
            got, allowed = list(coefficients), COEFFICIENT_FAMILIES
            raise ValueError(f"coefficients must be one or more of {allowed}, got {got}")
        if not 0 <= sigma <= 5:
            raise ValueError(f"need 0 ≤ sigma ≤ 5, got {sigma}")
        if len(grid) not in (2, 3):
            raise ValueError(f"grid must have 2 or 3 sizes, got {list(grid)}")
        self.grid = [int(n) for n in grid]
        self.families, self.walls = list(families), list(walls)
        self.inclusions, self.jump_probability, self.contrast = inclusions, float(jump_probability), float(contrast)
        self.num_obstacles = num_obstacles
        self.coefficients, self.sigma = list(coefficients), float(sigma)
        self._field = RBFField(CORRELATION_LENGTH)

    def _coefficient(self, rng: np.random.Generator) -> np.ndarray:
        family = self.coefficients[0]
        if len(self.coefficients) > 1:  # one family draws nothing: the default scenes are as before
            family = self.coefficients[rng.integers(len(self.coefficients))]
        grid = tuple(self.grid)
        if family == "inclusions":
            return self._inclusions(rng)
        if family == "lognormal":
            return np.exp(self.sigma * smooth_field(grid, rng, self._field))
        if family == "blobs":
            high = smooth_field(grid, rng, self._field) >= 0.0
        else:
            high = channel_cells(grid, rng) if family == "channels" else layer_cells(grid, rng)
        return np.where(high, 10.0**self.contrast, 1.0)

    def _inclusions(self, rng: np.random.Generator) -> np.ndarray:
        grid = tuple(self.grid)
        coefficient = np.ones(grid)
        if rng.random() >= self.jump_probability:
            return coefficient
        coords, dim = _centres(grid), len(grid)
        for _ in range(rng.integers(1, 4)):
            if self.inclusions == "boxes":
                low = rng.uniform(0.0, 0.7, dim)
                high = low + rng.uniform(0.1, 0.3, dim)
                inside = np.logical_and.reduce([(c >= lo) & (c <= hi) for c, lo, hi in zip(coords, low, high, strict=True)])
            else:
                inside = _ellipsoid(coords, rng.uniform(0.15, 0.85, dim), np.full(dim, rng.uniform(0.08, 0.25)))
            coefficient[inside] = 10 ** rng.uniform(-self.contrast, self.contrast)
        return coefficient

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        grid, dim = tuple(self.grid), len(self.grid)
        masks, coefficients, walls = [], [], []
        for _ in range(num_samples):
            family = self.families[rng.integers(len(self.families))]
            flags = wall_flags(self.walls[rng.integers(len(self.walls))], dim, rng)
            masks.append(fix_singular_regions(scene_mask(grid, family, rng, self.num_obstacles), flags))
            coefficients.append(self._coefficient(rng))
            walls.append(flags)
        mask = np.stack(masks)
        return {
            "mask": mask.astype(np.uint8),
            "coefficient": np.stack(coefficients).astype(np.float32),
            "walls": np.array(walls, dtype=np.uint8),
            "b": (rng.standard_normal((num_samples, *grid)) * mask).astype(np.float32),
        }

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        empty = 1.0 - arrays["mask"].reshape(len(arrays["mask"]), -1).max(axis=1)
        return self._bounded(empty, "scenes without a fluid cell", 0.0)


def scene_stencil(
    mask: np.ndarray | torch.Tensor, coefficient: np.ndarray | torch.Tensor, walls: Sequence[bool],
    dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
) -> DiffusionStencil:  # fmt: skip
    """The operator of one scene: fluid ``mask`` and cell ``coefficient`` of the grid's shape,
    Dirichlet flags per wall; spacing ``1 / max(grid)``."""
    fluid = torch.as_tensor(np.asarray(mask).astype(bool)) if isinstance(mask, np.ndarray) else mask.to(torch.bool)
    grid = tuple(fluid.shape)
    return DiffusionStencil(grid, torch.as_tensor(coefficient).to(torch.float64), fluid, spacing=1.0 / max(grid),
                            dirichlet_walls=[bool(w) for w in walls], dtype=dtype, device=device)  # fmt: skip


def scene_operator(arrays: dict[str, np.ndarray], index: int, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> DiffusionStencil:
    """The operator of sample ``index`` of a [`DiffusionScenes`][neuralsolvers.data_gen.diffusion_scenes.DiffusionScenes] data set's arrays."""
    return scene_stencil(arrays["mask"][index], np.asarray(arrays["coefficient"][index], dtype=np.float64), arrays["walls"][index], dtype, device)


def load_scenes(directory: str | Path, count: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of the first ``count`` scenes (all by default) of a ``diffusion_scenes`` split."""
    dataset = ShardedDataset(directory, generator="diffusion_scenes")
    count = len(dataset) if count is None else min(count, len(dataset))
    return {name: values[:count] for name, values in dataset.load(["mask", "coefficient", "walls", "b"]).items()}
