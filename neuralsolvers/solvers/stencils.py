"""Matrix-free finite-difference operators: −∇·(a∇u) on 2D/3D grids with Dirichlet obstacles.

The 5-point (2D) / 7-point (3D) stencil on a cell grid of shape ``grid``; unknowns are ordered like
``torch.Tensor.flatten`` of the grid (C order). Walls are Dirichlet (u = 0 outside the grid).
Obstacle cells (``mask`` False) hold u = 0: their rows are the identity and their neighbours see them
as Dirichlet boundaries, so the operator stays symmetric positive definite. With a variable cell
coefficient ``a`` the face coefficient between two fluid cells is the harmonic mean of theirs; a face
to a wall or an obstacle takes the fluid cell's own coefficient. Nothing is stored but the face and
diagonal coefficients; the product is computed by slicing, batched over right-hand sides.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.operators import Operator, all_finite, normal_device
from neuralsolvers.solvers.types import DeviceLike

__all__ = ["DiffusionStencil", "GridOperator", "red_cells"]


def red_cells(grid: Sequence[int], device: DeviceLike = "cpu") -> torch.Tensor:
    """Bool field of shape ``grid``: True on the cells whose index sum is even (red), False on black
    ones. The 5/7-point couplings only join cells of different colours."""
    device = normal_device(device)
    index = torch.meshgrid(*(torch.arange(int(s), device=device) for s in grid), indexing="ij")
    return sum(index) % 2 == 0


class GridOperator(Operator):
    """An operator on the cells of a grid, defined by ``_apply`` on fields ``(k, *grid)`` and its
    centre ``diag`` (shape ``grid``): the vector products and the diagonal follow (cells in C order)."""

    grid: tuple[int, ...]
    diag: torch.Tensor

    def _apply(self, u: torch.Tensor) -> torch.Tensor:
        """``u`` of shape ``(k, *grid)`` → ``A u`` of the same shape."""
        raise NotImplementedError

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply(x.reshape(1, *self.grid)).reshape(-1)

    def matmat(self, x: torch.Tensor) -> torch.Tensor:
        k = x.shape[1]
        return self._apply(x.T.reshape(k, *self.grid)).reshape(k, -1).T

    def diagonal(self) -> torch.Tensor:
        return self.diag.reshape(-1)


class DiffusionStencil(GridOperator):
    """The operator ``(A u)_i = Σ_faces k_f (u_i − u_neighbour) / h²`` on fluid cells, ``u_i`` on obstacles.

    Args:
        grid: cells per axis, 2 or 3 numbers.
        coefficient: cell coefficient ``a`` of shape ``grid`` (positive), or ``None`` for ``a = 1``.
        mask: bool tensor of shape ``grid``, True where the cell is an unknown (fluid), False on
            obstacles; ``None`` for no obstacle.
        spacing: grid spacing ``h``.
        dirichlet_walls: True (all walls Dirichlet), False (all Neumann: no flux), or one bool per
            wall ordered (axis 0 low, axis 0 high, axis 1 low, ...). With no Dirichlet wall and no
            obstacle the operator is singular: see ``neuralsolvers.data_gen.poisson`` for the fix.
        dtype: of the stored coefficients and of the vectors it acts on.
        device: see `dtype`.

    Attributes:
        grid: the grid's shape.
        mask: bool, shape ``grid``: True on unknowns.
        coefficient: the cell coefficient ``a``, shape ``grid``.
        spacing: the grid spacing ``h``.
        walls: one bool per wall, True for Dirichlet.
        diag: the stencil's centre, shape ``grid`` (1 on obstacle cells, whose rows are the identity).
        couplings: one tensor of shape ``grid`` per axis: the coupling of each cell to its
            neighbour on the high side (harmonic mean of the two coefficients over ``h²``; 0 at an
            obstacle or the last cell).

    Shapes:
        - **input:** ``matvec(x)``: ``(n,)``; ``matmat(X)``: ``(n, k)``, with ``n = prod(grid)``
          (cells in C order).
        - **output:** ``A x`` of the same shape.
    """

    def __init__(
        self,
        grid: Sequence[int],
        coefficient: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        spacing: float = 1.0,
        dirichlet_walls: bool | Sequence[bool] = True,
        dtype: torch.dtype = torch.float64,
        device: DeviceLike = "cpu",
    ):
        self.grid = tuple(int(n) for n in grid)
        if len(self.grid) not in (2, 3) or min(self.grid) < 2:
            raise ValueError(f"grid must be 2 or 3 sizes of at least 2 cells, got {grid}")
        self.dtype, self.device = dtype, normal_device(device)
        n = int(np.prod(self.grid))
        self.shape = (n, n)
        a = torch.ones(self.grid, dtype=dtype, device=self.device) if coefficient is None else coefficient.to(self.device, dtype)
        fluid = torch.ones(self.grid, dtype=torch.bool, device=self.device) if mask is None else mask.to(self.device, torch.bool)
        if a.shape != self.grid or fluid.shape != self.grid:
            raise ValueError(f"coefficient and mask must have the grid's shape {self.grid}")
        if not bool((a[fluid] > 0).all()) or not bool(torch.isfinite(a).all()):
            raise ValueError("the coefficient must be finite and positive on fluid cells")
        if not (np.isfinite(spacing) and spacing > 0):
            raise ValueError(f"spacing must be a positive finite number, got {spacing}")
        if not bool(fluid.any()):
            raise ValueError("the mask has no fluid cell: there is nothing to solve for")
        self.mask = fluid
        walls = [dirichlet_walls] * (2 * len(self.grid)) if isinstance(dirichlet_walls, bool) else list(dirichlet_walls)
        if len(walls) != 2 * len(self.grid):
            raise ValueError(f"dirichlet_walls needs {2 * len(self.grid)} entries (low, high per axis), got {len(walls)}")
        self.coefficient, self.spacing, self.walls = a, float(spacing), tuple(bool(w) for w in walls)
        scale = 1.0 / spacing**2
        diagonal = torch.zeros(self.grid, dtype=dtype, device=self.device)
        self.couplings: list[torch.Tensor] = []
        for axis, size in enumerate(self.grid):
            here, there = a.narrow(axis, 0, size - 1), a.narrow(axis, 1, size - 1)
            both = fluid.narrow(axis, 0, size - 1) & fluid.narrow(axis, 1, size - 1)
            harmonic = 2 * here * there / (here + there)
            coupling = torch.zeros(self.grid, dtype=dtype, device=self.device)
            coupling.narrow(axis, 0, size - 1).copy_(torch.where(both, harmonic, torch.zeros_like(harmonic)))
            # each fluid cell has two faces on this axis: coupled faces use the harmonic mean, faces to
            # a wall or an obstacle the cell's own coefficient
            plus = torch.where(fluid, a, torch.zeros_like(a))
            plus.narrow(axis, 0, size - 1).copy_(torch.where(both, harmonic, plus.narrow(axis, 0, size - 1)))
            minus = torch.where(fluid, a, torch.zeros_like(a))
            minus.narrow(axis, 1, size - 1).copy_(torch.where(both, harmonic, minus.narrow(axis, 1, size - 1)))
            if not walls[2 * axis + 1]:  # Neumann: no flux through the high wall
                plus.narrow(axis, size - 1, 1).zero_()
            if not walls[2 * axis]:
                minus.narrow(axis, 0, 1).zero_()
            diagonal += plus + minus
            self.couplings.append(coupling * scale)
        self.diag = torch.where(fluid, diagonal * scale, torch.ones_like(diagonal))

    def _apply(self, u: torch.Tensor) -> torch.Tensor:
        """``u`` of shape ``(k, *grid)`` → ``A u`` of the same shape."""
        y = self.diag * u
        for axis, (coupling, size) in enumerate(zip(self.couplings, self.grid, strict=True)):
            axis += 1
            c = coupling.narrow(axis - 1, 0, size - 1)
            y.narrow(axis, 0, size - 1).sub_(c * u.narrow(axis, 1, size - 1))
            y.narrow(axis, 1, size - 1).sub_(c * u.narrow(axis, 0, size - 1))
        return y

    def finite(self) -> bool:
        """Whether the stored stencil (diagonal and couplings) is finite: ``2d + 1`` numbers per cell."""
        return all(all_finite(values) for values in (self.diag, *self.couplings))

    def _converted(self, dtype: torch.dtype, device: torch.device) -> DiffusionStencil:
        converted = copy.copy(self)
        converted.dtype, converted.device = dtype, device
        converted.diag = self.diag.to(device, dtype)
        converted.couplings = [coupling.to(device, dtype) for coupling in self.couplings]
        converted.mask = self.mask.to(device)
        converted.coefficient = self.coefficient.to(device, dtype)
        return converted

    def to_scipy(self) -> sp.csr_matrix:
        n = self.shape[0]
        index = np.arange(n).reshape(self.grid)
        rows, cols, values = [np.arange(n)], [np.arange(n)], [self.diag.reshape(-1).cpu().double().numpy()]
        for axis, (coupling, size) in enumerate(zip(self.couplings, self.grid, strict=True)):
            c = coupling.narrow(axis, 0, size - 1).cpu().double().numpy().reshape(-1)
            here = np.take(index, np.arange(size - 1), axis=axis).reshape(-1)
            there = np.take(index, np.arange(1, size), axis=axis).reshape(-1)
            keep = c != 0
            rows += [here[keep], there[keep]]
            cols += [there[keep], here[keep]]
            values += [-c[keep], -c[keep]]
        return sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
