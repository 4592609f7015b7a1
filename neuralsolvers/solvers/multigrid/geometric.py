"""Geometric multigrid on cell grids with obstacles: a matrix-free, symmetric V-cycle preconditioner.

McAdams, Sifakis and Teran, "A parallel multigrid Poisson solver for fluids simulation on large
grids" (SCA 2010), as implemented in ``rgoldade/GeometricMultigridPressureSolver``, adapted to the
``DiffusionStencil`` convention that obstacle cells are Dirichlet cells (``u = 0``, identity rows)
and walls are Dirichlet or Neumann per side.

Hierarchy (the whole set-up: no matrix is assembled but the few-cell coarsest one):

- Coarse cells are the 2 × 2 (× 2) blocks of fine cells (``ceil(n/2)`` per axis; a block cut by the
  grid's edge has fewer children). McAdams' rule is "Dirichlet if any child is, else an unknown if any
  child is, else solid"; with obstacles as Dirichlet cells it reads ``coarsening="all"`` (default): a
  coarse cell is an unknown only if all its children are (obstacles win). ``coarsening="any"``: an
  unknown if any child is.
- Coarse operators are re-discretised on the coarse grid (spacing ``2h``, the same walls), with the
  coarse cell coefficient the arithmetic mean of its fluid children's (faces then take harmonic means,
  as on the fine grid).
- Restriction ``R`` is cell-centred full weighting, the tensor product of ``(1/8, 3/8, 3/8, 1/8)`` per
  axis; prolongation ``P = 2^d Rᵀ`` (bi/trilinear interpolation), computed as the exact adjoint of
  ``R``, masked so that no correction lands on an obstacle cell. Past a Dirichlet wall the coarse
  correction is zero; past a Neumann wall it is mirrored (a ghost cell copies the edge cell), which
  keeps the interpolation of a no-flux correction flat there. With ``A_2h`` the re-discretisation, ``R A_h P ≈ A_2h`` away from boundaries.
- With ``coarse_operator="galerkin", interpolation="operator_dependent"`` the hierarchy is Black Box
  Multigrid's instead (`neuralsolvers.solvers.multigrid.galerkin`): coarse points the cells of even
  index, interpolation weights from the fine stencil (a correction follows the coefficient's jumps),
  coarse operators ``Pᵀ A P`` (9/27-point stencils, SPD), restriction ``Pᵀ``; obstacles stay
  decoupled identity rows on every level. It holds at any coefficient contrast (7–8 iterations at
  contrast 10⁶ from 64² to 1024² on binary fields, where the re-discretised hierarchy does not
  converge in 1,000); the re-discretised pair stays the default until measured better on the mild scenes.
- Smoothers: damped Jacobi (``ω = 2/3``) or red-black Gauss–Seidel (``ω = 1``), ``sweeps`` before
  and after the coarse correction (on the 9/27-point Galerkin levels Gauss–Seidel runs over 4/8
  colours, the index parities, which no coupling joins); ``boundary_sweeps`` extra damped-Jacobi sweeps before and after
  them in the band of ``boundary_width`` cells along obstacles and walls (McAdams: 3 and 3; the
  default is none).
- The coarsest level (at most ``coarsest`` cells) is solved exactly (dense Cholesky).

These options are one ``CycleOptions`` (``neuralsolvers.solvers.multigrid.cycle``).

Symmetry and definiteness: post-smoothing is the adjoint of pre-smoothing in reverse order (Jacobi is
self-adjoint, the adjoint of the red-then-black sweep is black-then-red), ``R ∝ Pᵀ`` and every coarse
operator is SPD, so the cycle ``B`` is symmetric; ``B = M̄ + (I − SᵀA) P B_c R (I − AS)`` with the
symmetrized smoother ``M̄`` positive definite whenever the smoother converges in the energy norm
(damped Jacobi with ``ω < 1`` and Gauss–Seidel always do on these diagonally dominant stencils), so
``B`` is SPD by induction over the levels even though the coarse operators are not Galerkin. Plain
``cg`` accepts it. Obstacle cells are decoupled identity rows: there ``z = r``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F

from neuralsolvers.solvers.multigrid.cycle import (
    COARSENINGS,
    SMOOTHERS,
    CycleOptions,
    cycle_options,
)
from neuralsolvers.solvers.multigrid.galerkin import (
    SMOOTHER_MARGIN,
    BoxStencil,
    GridTransfer,
    coarse_grid,
    coarse_mask,
    galerkin_operator,
    interpolation_weights,
)
from neuralsolvers.solvers.multigrid.hierarchy import (
    Level,
    MultilevelHierarchy,
    SetupClock,
    check_coarsest,
)
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.stencils import DiffusionStencil, red_cells

__all__ = ["COARSENINGS", "SMOOTHERS", "GeometricMultigrid", "LinearTransfer", "coarse_unknowns", "coarsen", "prolong", "restrict"]

WEIGHTS = (1 / 8, 3 / 8, 3 / 8, 1 / 8)  # full weighting per axis, cell-centred
GATHER_FRACTION = 0.05  # band sweeps gather their cells below this fraction of the grid, else mask it
BOUNDARY_WEIGHT = 2 / 3  # damped Jacobi in the boundary band, whatever the main smoother


def _take(x: torch.Tensor, axis: int, start: int, count: int) -> torch.Tensor:
    """Every second slice of ``x`` along ``axis`` from ``start``, ``count`` of them (a strided view)."""
    index = [slice(None)] * x.dim()
    index[axis] = slice(start, start + 2 * count - 1, 2)
    return x[tuple(index)]


def _ghosts(e: torch.Tensor, axis: int, neumann: tuple[bool, bool]) -> torch.Tensor:
    """``e`` with one ghost cell on each side along ``axis``: a copy of the edge cell at a Neumann
    wall (no flux: the correction is continued), zero at a Dirichlet wall."""
    low, high = (e.narrow(axis, index, 1) if flag else torch.zeros_like(e.narrow(axis, 0, 1))
                 for flag, index in zip(neumann, (0, e.shape[axis] - 1), strict=True))  # fmt: skip
    return torch.cat([low, e, high], dim=axis)


def _prolong_axis(e: torch.Tensor, axis: int, n: int, neumann: tuple[bool, bool]) -> torch.Tensor:
    """Linear interpolation along one axis, ``ceil(n/2) → n``: each coarse cell (ghosts included)
    adds ``(1/4, 3/4, 3/4, 1/4)`` of itself to the fine cells ``2i − 1 … 2i + 2``."""
    extended = _ghosts(e, axis, neumann)
    m = extended.shape[axis]
    shape = list(e.shape)
    shape[axis] = 2 * m + 2
    padded = e.new_zeros(shape)
    for offset, weight in enumerate(WEIGHTS):
        _take(padded, axis, offset, m).add_(extended, alpha=2 * weight)
    return padded.narrow(axis, 3, n)


def _restrict_axis(x: torch.Tensor, axis: int, neumann: tuple[bool, bool]) -> torch.Tensor:
    """Full weighting along one axis, ``n → ceil(n/2)``: half the adjoint of ``_prolong_axis``
    (a ghost cell's share is folded back onto the edge cell at a Neumann wall, dropped at a Dirichlet one)."""
    n = x.shape[axis]
    m = math.ceil(n / 2) + 2
    widths = [0, 0] * (x.dim() - 1 - axis) + [3, 2 * m + 2 - 3 - n]
    padded = F.pad(x, widths)
    extended = sum(weight * _take(padded, axis, offset, m) for offset, weight in enumerate(WEIGHTS))
    coarse = extended.narrow(axis, 1, m - 2).clone()
    for flag, ghost, edge in ((neumann[0], 0, 0), (neumann[1], m - 1, m - 3)):
        if flag:
            coarse.narrow(axis, edge, 1).add_(extended.narrow(axis, ghost, 1))
    return coarse


def _neumann(walls: tuple[bool, ...] | None, dim: int) -> list[tuple[bool, bool]]:
    """Per axis ``(low, high)``: which walls are Neumann (``walls`` as in ``DiffusionStencil``, True = Dirichlet)."""
    walls = (True,) * (2 * dim) if walls is None else walls
    return [(not walls[2 * axis], not walls[2 * axis + 1]) for axis in range(dim)]


def restrict(r: torch.Tensor, grid: tuple[int, ...], walls: tuple[bool, ...] | None = None) -> torch.Tensor:
    """Full weighting ``(k, *grid) → (k, *ceil(grid/2))``: each coarse cell a weighted mean over the
    4 × 4 (× 4) fine cells around its 2 × 2 (× 2) children (the tensor product of the per-axis
    weights); outside the grid zero at Dirichlet walls, mirrored at Neumann walls (``walls`` as in
    ``DiffusionStencil``, default all Dirichlet); separable, one axis after the other."""
    for axis, neumann in enumerate(_neumann(walls, len(grid)), start=1):
        r = _restrict_axis(r, axis, neumann)
    return r


def prolong(e: torch.Tensor, grid: tuple[int, ...], walls: tuple[bool, ...] | None = None) -> torch.Tensor:
    """``P = 2^d Rᵀ``: ``(k, *ceil(grid/2)) → (k, *grid)``, bi/trilinear interpolation, the exact
    adjoint of ``restrict`` (same ``walls``) up to the factor ``2^d``."""
    for axis, neumann in reversed(list(enumerate(_neumann(walls, len(grid)), start=1))):
        e = _prolong_axis(e, axis, grid[axis - 1], neumann)
    return e


def _pool(field: torch.Tensor, grid: tuple[int, ...], fill: float) -> torch.Tensor:
    """Sum over each coarse cell's children ``grid → ceil(grid/2)``; missing children count as ``fill``."""
    widths: list[int] = []
    for size in reversed(grid):
        widths += [0, size % 2]
    padded = F.pad(field[None, None], tuple(widths), value=fill)
    pool = F.avg_pool2d if len(grid) == 2 else F.avg_pool3d
    return pool(padded, kernel_size=2, stride=2)[0, 0] * 2 ** len(grid)


def coarse_unknowns(stencil: DiffusionStencil, rule: str = "all") -> torch.Tensor | None:
    """The re-discretised coarse grid's unknowns (bool, ``ceil(grid/2)``) by ``rule`` (module
    docstring), or None when no coarse cell is an unknown (or the grid cannot shrink further)."""
    if rule not in COARSENINGS:
        raise ValueError(f"coarsening must be one of {COARSENINGS}, got {rule!r}")
    grid = stencil.grid
    if min(math.ceil(size / 2) for size in grid) < 2:
        return None
    fluid = stencil.mask.to(stencil.dtype)
    children = 2 ** len(grid)
    if rule == "all":  # a missing child (past the edge) does not make the block an obstacle
        mask = _pool(fluid, grid, fill=1.0) > children - 0.5
    else:
        mask = _pool(fluid, grid, fill=0.0) > 0.5
    return mask if bool(mask.any()) else None


def coarsen(stencil: DiffusionStencil, rule: str = "all", unknowns: torch.Tensor | None = None) -> DiffusionStencil | None:
    """The re-discretised operator on the coarse grid (module docstring), or None when no coarse cell
    is an unknown (or the grid cannot shrink further); ``unknowns``: ``coarse_unknowns(stencil, rule)``
    where already known."""
    mask = coarse_unknowns(stencil, rule) if unknowns is None else unknowns
    if mask is None:
        return None
    grid = stencil.grid
    fluid = stencil.mask.to(stencil.dtype)
    count = _pool(fluid, grid, fill=0.0)
    total = _pool(stencil.coefficient * fluid, grid, fill=0.0)
    coefficient = torch.where(count > 0, total / count.clamp_min(1), torch.ones_like(total))
    return DiffusionStencil(tuple(mask.shape), coefficient, mask, 2 * stencil.spacing, list(stencil.walls), stencil.dtype, stencil.device)


class LinearTransfer:
    """Cell-centred full weighting and bi/trilinear interpolation on ``grid`` (``restrict``,
    ``prolong`` with the level's ``walls``), as a transfer object of the cycle."""

    def __init__(self, grid: tuple[int, ...], walls: tuple[bool, ...]):
        self.grid, self.walls = grid, walls

    def restrict(self, r: torch.Tensor) -> torch.Tensor:
        return restrict(r, self.grid, self.walls)

    def prolong(self, e: torch.Tensor) -> torch.Tensor:
        return prolong(e, self.grid, self.walls)


@dataclass
class _Band:
    """The boundary band as gather indices: its cells, their ``2d`` neighbours (the cell itself, with
    a zero coupling, where there is none) and couplings, and ``ω/diag`` there, so a band sweep costs
    O(band), not O(grid)."""

    cells: torch.Tensor  # (m,) flat indices
    neighbours: torch.Tensor  # (m, 2d) flat indices
    couplings: torch.Tensor  # (m, 2d)
    diagonal: torch.Tensor  # (m,)
    scaled_inverse_diagonal: torch.Tensor  # (m,)

    mask: torch.Tensor | None = None  # (1, *grid) ω/diag on band cells, 0 elsewhere: a masked full sweep
    operator: DiffusionStencil | None = None

    def sweep(self, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """One damped-Jacobi sweep on the band cells of ``x`` ``(k, *grid)``, in place."""
        if self.mask is not None:  # a wide band: a masked sweep of the whole grid is cheaper than gathers
            return x.add_(self.mask * (r - self.operator._apply(x)))
        k = x.shape[0]
        flat = x.view(k, -1)
        here = flat[:, self.cells]
        residual = r.reshape(k, -1)[:, self.cells] - self.diagonal * here + (self.couplings * flat[:, self.neighbours]).sum(-1)
        flat[:, self.cells] = here + self.scaled_inverse_diagonal * residual
        return x


@dataclass
class _Level:
    """One level: its operator and the fields its smoothers need, each ``(1, *grid)``."""

    operator: DiffusionStencil | BoxStencil
    fluid: torch.Tensor
    scaled_inverse_diagonal: torch.Tensor  # ω D⁻¹ on fluid cells, 0 on obstacles
    band: _Band | None  # fluid cells near obstacles and walls, for boundary sweeps
    red: torch.Tensor | None  # red cells (index sum even), for red-black Gauss–Seidel
    pre: list = field(default_factory=list)  # the pre-smoothing steps x ← step(x, r), in order
    post: list = field(default_factory=list)  # the post-smoothing steps (the adjoints, reversed)
    lift: Callable[[torch.Tensor], torch.Tensor] | None = None  # W after prolongation (learned transfer), None: identity
    lift_adjoint: Callable[[torch.Tensor], torch.Tensor] | None = None  # Wᵀ before restriction
    learned: object | None = None  # the neural cycle's learned stencils (read by the hierarchy only)
    transfer: LinearTransfer | GridTransfer | None = None  # to the next level (None on the coarsest)

    @property
    def grid(self) -> tuple[int, ...]:
        return self.operator.grid

    def residual(self, x: torch.Tensor | None, r: torch.Tensor) -> torch.Tensor:
        """``r − A x`` (``r`` itself for ``x = None``, i.e. zero)."""
        return r if x is None else r - self.operator._apply(x)


def _band(stencil: DiffusionStencil, width: int, omega: float) -> _Band | None:
    """The fluid cells within ``width`` cells (in every direction) of an obstacle cell or a wall."""
    grid, dim = stencil.grid, len(stencil.grid)
    blocked = (~stencil.mask).to(torch.float32)[None, None]
    padded = F.pad(blocked, (width, width) * dim, value=1.0)
    pool = F.max_pool2d if dim == 2 else F.max_pool3d
    near = (pool(padded, kernel_size=2 * width + 1, stride=1)[0, 0] > 0) & stencil.mask
    cells = torch.nonzero(near.reshape(-1)).reshape(-1)
    if len(cells) == 0:
        return None
    coordinates = torch.stack(torch.unravel_index(cells, grid), dim=1)  # (m, dim)
    strides = [math.prod(grid[axis + 1 :]) for axis in range(dim)]
    neighbours, couplings = [], []
    for axis, (size, stride) in enumerate(zip(grid, strides, strict=True)):
        coupling = stencil.couplings[axis].reshape(-1)  # between a cell and its +axis neighbour
        up = coordinates[:, axis] < size - 1
        down = coordinates[:, axis] > 0
        neighbours += [torch.where(up, cells + stride, cells), torch.where(down, cells - stride, cells)]
        couplings += [torch.where(up, coupling[cells], 0.0), torch.where(down, coupling[(cells - stride).clamp_min(0)], 0.0)]
    diagonal = stencil.diag.reshape(-1)[cells]
    band = _Band(cells, torch.stack(neighbours, 1), torch.stack(couplings, 1), diagonal, omega / diagonal)
    if len(cells) > GATHER_FRACTION * math.prod(grid):
        band.mask = (omega * near.to(stencil.dtype) / stencil.diag)[None]
        band.operator = stencil
    return band


class GeometricMultigrid(Preconditioner):
    """One symmetric V-cycle of geometric multigrid as an SPD preconditioner (module docstring).

    McAdams, Sifakis and Teran, "A Parallel Multigrid Poisson Solver for Fluids Simulation on Large
    Grids" (ACM SIGGRAPH/Eurographics Symposium on Computer Animation, SCA 2010); for the method in
    general, Trottenberg, Oosterlee and Schüller, *Multigrid* (Academic Press, 2001). ``z = B_0 r``
    with, on level ``l`` (``A_l`` the re-discretised operator, ``S`` the smoother, ``Sᵀ`` its
    adjoint, ``ν = sweeps``):

        x ← x + S(r − A_l x)   ν times, from x = 0            (pre-smoothing)
        x ← x + P B_{l+1} R (r − A_l x)                         (coarse correction)
        x ← x + Sᵀ(r − A_l x)  ν times                          (post-smoothing)

    and ``B_L = A_L⁻¹`` (dense Cholesky) on the coarsest level.

    Args:
        A: the ``DiffusionStencil`` of the system (2D or 3D, obstacles, variable coefficients,
            Dirichlet/Neumann walls per side).
        options: the cycle: smoother, sweeps, ω, boundary sweeps, coarsening, coarse operators and
            interpolation, coarsest size, levels (default ``CycleOptions()``: damped Jacobi, 2 sweeps,
            no boundary sweeps, re-discretised coarse operators with linear interpolation, 64 cells).
        **overrides: fields of ``CycleOptions`` that replace those of ``options``
            (``GeometricMultigrid(A, smoother="redblack", boundary_sweeps=3)``; Black Box Multigrid:
            ``GeometricMultigrid(A, coarse_operator="galerkin", interpolation="operator_dependent")``).

    Attributes:
        options: the ``CycleOptions`` in use.
        hierarchy: the levels as a [`MultilevelHierarchy`][neuralsolvers.solvers.multigrid.hierarchy.MultilevelHierarchy]
            (complexities, level table; read-only, built on first access).
        levels: ``hierarchy.levels``, finest first (``levels[i].operator`` the level's stencil).
        setup_seconds: wall seconds of the set-up per part (levels' smoother fields, interpolation,
            coarse operators, coarsest factorization; the neural cycle adds its network passes),
            device-synchronized, exclusive; also printed in the level table.

    Shapes:
        - **A:** a ``DiffusionStencil`` on a 2D ``(H, W)`` or 3D ``(D, H, W)`` grid; its
          ``n = prod(A.grid)`` unknowns are the cells in C order.
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` (``k`` columns at once), in the
          units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x`` (on obstacle cells,
          whose rows are the identity, ``z = r``).
    """

    linear = True
    linear_spd = True

    def __init__(self, A: DiffusionStencil, *, options: CycleOptions | None = None, **overrides: str | int | float | None):
        if not isinstance(A, DiffusionStencil):
            raise TypeError(f"{type(self).__name__} needs a DiffusionStencil (the grid, mask and coefficient), got {type(A).__name__}; "
                            "for an assembled matrix use AMG")  # fmt: skip
        self.options = options = cycle_options(options, overrides, type(self).__name__)
        self.shape, self.dtype, self.device, self.grid = A.shape, A.dtype, A.device, A.grid
        self.cycle_dtype = A.dtype if options.precision is None else getattr(torch, options.precision)
        bands = options.boundary_levels
        self._clock = clock = SetupClock(self.device)
        self._levels: list[_Level] = []
        operator: DiffusionStencil | BoxStencil | None = A.to(self.cycle_dtype)
        while operator is not None:
            depth = len(self._levels)
            last = math.prod(operator.grid) <= options.coarsest or (options.max_levels is not None and depth + 1 >= options.max_levels)
            unknowns = None if last else self._coarse_unknowns(operator)
            with clock.part("levels"):
                level = self._level(operator, with_band=bands is None or depth < bands, coarsest=unknowns is None)
            self._levels.append(level)
            operator = None if unknowns is None else self._coarsen(level, unknowns)
        check_coarsest(math.prod(self._levels[-1].grid), options.max_coarse_direct)
        self._hierarchy: MultilevelHierarchy | None = None
        coarsest = self._levels[-1].operator
        with clock.part("coarsest factorization"):
            if isinstance(coarsest, BoxStencil):  # assembled in torch: a learned Galerkin hierarchy differentiates through it
                self.coarse_factor = torch.linalg.cholesky(coarsest.dense().to(torch.float64)).to(self.cycle_dtype)
            else:
                coarsest_matrix = torch.as_tensor(coarsest.to_scipy().toarray(), dtype=torch.float64)
                self.coarse_factor = torch.linalg.cholesky(coarsest_matrix).to(self.device, self.cycle_dtype)
        self.setup_seconds = clock.seconds

    def _coarse_unknowns(self, operator: DiffusionStencil | BoxStencil) -> torch.Tensor | None:
        """The next level's unknowns (bool, its grid), or None where ``operator``'s level is the
        coarsest (no coarse unknown, or the grid cannot shrink further)."""
        if self.options.coarse_operator == "rediscretize":
            return coarse_unknowns(operator, self.options.coarsening)
        if min(coarse_grid(operator.grid)) < 2:
            return None
        unknowns = coarse_mask(operator.mask)
        return unknowns if bool(unknowns.any()) else None

    def _coarsen(self, level: _Level, unknowns: torch.Tensor) -> DiffusionStencil | BoxStencil:
        """Set ``level.transfer`` and return the next level's operator."""
        operator, clock = level.operator, self._clock
        if self.options.coarse_operator == "rediscretize":
            level.transfer = LinearTransfer(operator.grid, operator.walls)
            with clock.part("coarse operators"):
                return coarsen(operator, self.options.coarsening, unknowns)
        with clock.part("interpolation"):
            level.transfer = GridTransfer.from_weights(self._interpolation_weights(level), unknowns)
        with clock.part("coarse operators"):
            return galerkin_operator(operator, level.transfer, unknowns)

    def _interpolation_weights(self, level: _Level) -> torch.Tensor:
        """A fine point's weights on its neighbours ``(3^d, *grid)`` (operator-dependent here)."""
        return interpolation_weights(level.operator)

    def _level(self, operator: DiffusionStencil, with_band: bool, coarsest: bool = False) -> _Level:
        """One level's fields and smoothing steps (the coarsest is solved directly: its steps go unused)."""
        options = self.options
        fluid = operator.mask.to(operator.dtype)
        stencil = isinstance(operator, DiffusionStencil)  # 5/7 points (else a 9/27-point Galerkin BoxStencil)
        band = _band(operator, options.boundary_width, BOUNDARY_WEIGHT) if options.boundary_sweeps and with_band and stencil else None
        red = red_cells(operator.grid, self.device)[None] if options.smoother == "redblack" and stencil else None
        weight = options.weight
        if not stencil and options.smoother == "jacobi":  # keep damped Jacobi energy-convergent on a Galerkin level
            weight = min(weight, SMOOTHER_MARGIN / float(operator.spectral_bound()))
        level = _Level(operator, fluid[None], (weight * fluid / operator.diag)[None], band, red)
        level.pre, level.post = self._sweeps(level, adjoint=False), self._sweeps(level, adjoint=True)
        return level

    def _sweeps(self, level: _Level, adjoint: bool) -> list[Callable[[torch.Tensor | None, torch.Tensor], torch.Tensor]]:
        """The pre-smoothing steps ``x ← step(x, r)`` in order (``x = None``: zero; ``adjoint``:
        post-smoothing, the adjoint steps in reverse order)."""
        def jacobi(x: torch.Tensor | None, r: torch.Tensor) -> torch.Tensor:
            step = level.scaled_inverse_diagonal * level.residual(x, r)
            return step if x is None else x + step

        black = None if level.red is None else ~level.red

        def colour(x: torch.Tensor | None, r: torch.Tensor, red: bool) -> torch.Tensor:
            where = level.red if red else black
            step = where * (level.scaled_inverse_diagonal * level.residual(x, r))
            return step if x is None else x + step

        def boundary(x: torch.Tensor | None, r: torch.Tensor) -> torch.Tensor:
            return level.band.sweep(torch.zeros_like(r) if x is None else x, r)

        def parity(x: torch.Tensor | None, r: torch.Tensor, cells: tuple[int, ...]) -> torch.Tensor:
            """Gauss–Seidel on one colour of a 9/27-point stencil: the cells of index parity ``cells``
            (no two of them coupled), updated in place from their strided residual."""
            x = torch.zeros_like(r) if x is None else x.clone()
            where = (slice(None),) + tuple(slice(p, None, 2) for p in cells)
            x[where] += level.scaled_inverse_diagonal[where] * level.operator.residual_at(x, r, cells)
            return x

        options = self.options
        if options.smoother == "jacobi":
            smooth = [jacobi] * options.sweeps
        elif level.red is None:  # a Galerkin level: 2^d colours in order; the reversal below makes the adjoint
            colours = itertools.product((0, 1), repeat=len(level.grid))
            smooth = [partial(parity, cells=cells) for cells in colours] * options.sweeps
        else:  # red then black; the reversal below makes the adjoint black then red
            smooth = [lambda x, r: colour(x, r, True), lambda x, r: colour(x, r, False)] * options.sweeps
        band = [boundary] * (options.boundary_sweeps if level.band is not None else 0)
        steps = band + smooth + band
        return steps[::-1] if adjoint else steps

    def _cycle(self, index: int, r: torch.Tensor) -> torch.Tensor:
        """One V-cycle from ``x = 0`` on level ``index`` for right-hand sides ``(k, *grid)``."""
        if index == len(self._levels) - 1:
            k = r.shape[0]
            solution = torch.cholesky_solve(r.reshape(k, -1).T, self.coarse_factor)
            return solution.T.reshape(r.shape)
        level = self._levels[index]
        x = None  # zero: the first step needs no product with A
        for step in level.pre:
            x = step(x, r)
        coarse = self._levels[index + 1]
        residual = level.fluid * level.residual(x, r)
        if level.lift_adjoint is not None:
            residual = level.lift_adjoint(residual)
        coarse_r = coarse.fluid * level.transfer.restrict(residual)
        correction = level.transfer.prolong(coarse.fluid * self._cycle(index + 1, coarse_r))
        if level.lift is not None:
            correction = level.lift(correction)
        x = x + level.fluid * correction
        for step in level.post:
            x = step(x, r)
        return x

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        vector = r.dim() == 1
        columns = r[:, None] if vector else r
        k = columns.shape[1]
        fields = columns.T.reshape(k, *self.grid)
        fluid = self._levels[0].fluid
        z = (self._cycle(0, fluid * fields.to(self.cycle_dtype)) * fluid).to(self.dtype)
        z = z + (1 - fluid.to(self.dtype)) * fields  # obstacle rows are the identity
        z = z.reshape(k, -1).T
        return z[:, 0] if vector else z

    @property
    def hierarchy(self) -> MultilevelHierarchy:
        """The cycle's levels as a [`MultilevelHierarchy`][neuralsolvers.solvers.multigrid.hierarchy.MultilevelHierarchy]
        (built on first access from what the cycle stores; read-only)."""
        if self._hierarchy is None:
            last = len(self._levels) - 1
            self._hierarchy = MultilevelHierarchy([self._describe(level, depth == last) for depth, level in enumerate(self._levels)],
                                                  coarsest_solve=f"dense Cholesky ({math.prod(self._levels[-1].grid)} cells)",
                                                  setup_seconds=self.setup_seconds)  # fmt: skip
        return self._hierarchy

    @property
    def levels(self) -> list[Level]:
        """``hierarchy.levels``: the levels, finest first."""
        return self.hierarchy.levels

    def _smoother_name(self, level: _Level) -> str:
        options = self.options
        colours = "red-black" if level.red is not None else f"{2 ** len(level.grid)}-colour"
        name = "damped Jacobi" if options.smoother == "jacobi" else f"{colours} Gauss–Seidel"
        band = f" + {options.boundary_sweeps} band sweeps" if options.boundary_sweeps and level.band is not None else ""
        return f"{name} (ω={options.weight:.3g}) ×{options.sweeps}{band}"

    def _describe(self, level: _Level, coarsest: bool) -> Level:
        """One level's public record (the fixed smoother weights and full-weighting kernels)."""
        grid = level.grid
        counts = _stencil_counts(level.operator)
        if coarsest:
            return Level(level.operator, *counts, smoother="direct", grid=grid)
        weights = level.scaled_inverse_diagonal[0].detach().cpu()
        if isinstance(level.transfer, GridTransfer):  # operator-dependent: P's corner weights per fine cell, R = Pᵀ
            return Level(level.operator, *counts, smoother=self._smoother_name(level), grid=grid,
                         smoother_weights=weights, prolongation=level.transfer.corners.detach().cpu())  # fmt: skip
        kernel = torch.tensor(WEIGHTS, dtype=level.operator.dtype)
        restriction = kernel
        for _ in grid[1:]:
            restriction = restriction[..., None] * kernel
        return Level(level.operator, *counts, smoother=self._smoother_name(level), grid=grid,
                     smoother_weights=weights, prolongation=2 ** len(grid) * restriction, restriction=restriction)  # fmt: skip

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device})\n{self.hierarchy.table()}"


def _stencil_counts(operator: DiffusionStencil | BoxStencil) -> tuple[int, int]:
    """``(unknowns, nonzeros)`` of a stencil: its fluid cells, and their diagonals plus nonzero
    couplings (each in both rows; couplings join fluid cells only)."""
    fluid = int(operator.mask.sum())
    if isinstance(operator, BoxStencil):
        return fluid, operator.nonzeros()
    couplings = sum(int((coupling != 0).sum()) for coupling in operator.couplings)
    return fluid, fluid + 2 * couplings
