"""Galerkin coarse operators on grids, with operator-dependent interpolation (Black Box Multigrid).

Alcouffe, Brandt, Dendy and Painter, "The multi-grid method for the diffusion equation with strongly
discontinuous coefficients" (SIAM J. Sci. Stat. Comput. 2, 1981); Dendy, "Black box multigrid"
(J. Comput. Phys. 48, 1982). Matrix-free, on any device, batched over right-hand sides.

**Coarse points.** The cells of even index on every axis (``ceil(n/2)`` per axis): a cell-grid
hierarchy coarsened like a vertex grid, so that interpolation and the coarse operators stay within
the 3-wide box (9 points in 2D, 27 in 3D). A coarse point is an unknown where its fine cell is;
obstacle coarse points are decoupled identity rows, as on the fine grid.

**Interpolation** ``P`` (fine ← coarse) is the identity on coarse points; a fine point whose index is
odd on the set ``S`` of axes (and even on the others) takes ``Σ_o w_o(i) e(i + o)`` over its
neighbours ``i + o`` with ``o`` zero off ``S`` (points with fewer odd axes, interpolated before it):
the fine stencil, collapsed (summed) over the axes off ``S``, gives ``ā_o(i)`` and
``w_o(i) = −ā_o(i) / ā_0(i)``. For a point between two coarse points on a line this is Dendy's
collapsed 1D stencil (the couplings across the line added to the centre), so an interpolated
correction jumps where the coefficient does; for a point in the middle of a coarse cell (2D) or box
(3D) it is ``e_i = −Σ_j a_ij e_j / a_ii``, the fine equation solved locally. Weights are zero where
``ā_0 ≤ 0`` and at obstacles (whose couplings are zero), and the columns of obstacle coarse points
are dropped, so no correction lands on an obstacle. ``P`` has full column rank (the identity on the
coarse unknowns) whatever the weights, which is what makes a learned ``P`` safe
(``NeuralMultigridPreconditioner``).

**Coarse operators** ``A_2h = Pᵀ A_h P`` (restriction ``R = Pᵀ``), symmetric positive definite on the
coarse unknowns because ``A_h`` is and ``P`` has full column rank; computed as stencils by probing:
``Pᵀ A_h P`` applied to ``3^d`` coarse vectors, each the indicator of the points whose index is
``c`` modulo 3 per axis, reads off every coarse point's ``3^d`` couplings (a coarse point's stencil
meets each residue class once), then symmetrized against round-off.

Every transfer is stored as **corner weights** ``(2^d, *fine_grid)``: fine point ``i`` takes
``Σ_c W_c(i) e(⌊i/2⌋ + c)`` over the corners ``c ∈ {0, 1}^d`` (lexicographic), which prolongation
and restriction (its adjoint) apply with strided slices in ``3^d`` products over the fine grid per
``2^d`` cells.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.multigrid.shifts import box_offsets, neighbour, pad, window
from neuralsolvers.solvers.operators import all_finite
from neuralsolvers.solvers.stencils import DiffusionStencil, GridOperator

__all__ = ["SMOOTHER_MARGIN", "BoxStencil", "GridTransfer", "coarse_grid", "coarse_mask", "galerkin_operator", "interpolation_weights"]

PROBE_CHUNK = 9  # Galerkin probes per batch (bounds the set-up's memory: 9 fine-grid vectors at once)
SMOOTHER_MARGIN = 1.99  # Jacobi-type smoothers on Galerkin levels keep ω·spectral_bound() ≤ this < 2 (energy-convergent)


class BoxStencil(GridOperator):
    """A symmetric stencil of up to ``3^d`` points per cell (9 in 2D, 27 in 3D) on a cell grid:
    the Galerkin coarse operators.

    Args:
        entries: ``(3^d, *grid)``: channel ``o`` (``box_offsets`` order) holds ``A[i, i + o]``; zero
            where ``i + o`` lies past the grid; symmetric (``A[i, i + o] = A[i + o, i]``); the rows of
            non-unknowns are the identity.
        mask: bool ``grid``: True on unknowns.

    Attributes:
        grid, mask, entries: see Args.
        diag: the centre channel, shape ``grid``.

    Shapes:
        - **input:** ``matvec(x)``: ``(n,)``; ``matmat(X)``: ``(n, k)``, ``n = prod(grid)`` cells in C order.
        - **output:** ``A x`` of the same shape.
    """

    def __init__(self, entries: torch.Tensor, mask: torch.Tensor):
        self.grid = tuple(entries.shape[1:])
        dim = len(self.grid)
        if dim not in (2, 3) or entries.shape[0] != 3**dim or mask.shape != self.grid:
            raise ValueError(f"need entries (3^d, *grid) and a mask of the grid's shape for d = 2 or 3, got {tuple(entries.shape)}, {tuple(mask.shape)}")
        self.entries, self.mask = entries, mask.to(torch.bool)
        self.dtype, self.device = entries.dtype, entries.device
        n = math.prod(self.grid)
        self.shape = (n, n)
        self.offsets = box_offsets(dim)
        self.diag = entries[len(self.offsets) // 2]

    @classmethod
    def from_stencil(cls, stencil: DiffusionStencil | BoxStencil) -> BoxStencil:
        """A ``DiffusionStencil``'s 5/7-point stencil as a box stencil (the other entries zero)."""
        if isinstance(stencil, BoxStencil):
            return stencil
        dim, grid = len(stencil.grid), stencil.grid
        offsets = box_offsets(dim)
        entries = torch.zeros((len(offsets), *grid), dtype=stencil.dtype, device=stencil.device)
        entries[len(offsets) // 2] = stencil.diag
        for axis, coupling in enumerate(stencil.couplings):
            up = tuple(int(a == axis) for a in range(dim))
            down = tuple(-c for c in up)
            entries[offsets.index(up)] = -coupling
            entries[offsets.index(down)] = -neighbour(coupling[None], down, grid)[0]
        return cls(entries, stencil.mask)

    def _apply(self, u: torch.Tensor) -> torch.Tensor:
        """``u`` ``(k, *grid)`` → ``A u`` of the same shape."""
        padded = pad(u)
        y = self.diag * u
        for index, offset in enumerate(self.offsets):
            if any(offset):
                y = y + self.entries[index] * window(padded, offset, self.grid)
        return y

    def residual_at(self, x: torch.Tensor, r: torch.Tensor, parity: tuple[int, ...]) -> torch.Tensor:
        """``(r − A x)`` on the cells whose index has ``parity`` (0 even, 1 odd) per axis: the strided
        sub-grid ``x[:, p0::2, p1::2, ...]`` (multicolour Gauss–Seidel; ``x``, ``r`` ``(k, *grid)``)."""
        cells = _cells(parity)
        padded = pad(x)
        y = r[(slice(None),) + cells].clone()
        for index, offset in enumerate(self.offsets):
            y -= self.entries[index][cells] * _shifted(padded, parity, offset, self.grid)
        return y

    def finite(self) -> bool:
        return all_finite(self.entries)

    def spectral_bound(self) -> torch.Tensor:
        """A guaranteed bound on the largest eigenvalue of ``D⁻¹A`` over the unknowns (a 0-d tensor):
        the smaller of Gershgorin's on ``D⁻¹A`` (``max_i Σ_j |a_ij| / a_ii``) and on the similar
        ``D^{-1/2} A D^{-1/2}`` (``max_i Σ_j |a_ij| / √(a_ii a_jj)``; the tighter at high contrast)."""
        scale = torch.where(self.mask, self.diag, torch.ones_like(self.diag)).rsqrt()[None]
        rows = sum(self.entries[i].abs() for i in range(len(self.offsets))) / self.diag
        symmetric = sum(self.entries[i].abs() * scale[0] * neighbour(scale, o, self.grid)[0] for i, o in enumerate(self.offsets))
        unknown = self.mask
        return torch.minimum(rows[unknown].max(), symmetric[unknown].max())

    def nonzeros(self) -> int:
        """Stored nonzero entries in the rows of unknowns (PyAMG's ``nnz`` of the level)."""
        return int(((self.entries != 0) & self.mask).sum())

    def _converted(self, dtype: torch.dtype, device: torch.device) -> BoxStencil:
        converted = copy.copy(self)
        converted.entries = self.entries.to(device, dtype)
        converted.mask, converted.dtype, converted.device = self.mask.to(device), dtype, device
        converted.diag = converted.entries[len(self.offsets) // 2]
        return converted

    def dense(self) -> torch.Tensor:
        """The ``(n, n)`` matrix as a dense torch tensor (differentiable in ``entries``; for the small
        coarsest level)."""
        n, grid = self.shape[0], self.grid
        index = torch.arange(n, device=self.device).reshape(1, *grid)
        matrix = self.entries.new_zeros((n, n))
        for channel, offset in enumerate(self.offsets):
            inside = neighbour(torch.ones_like(index), offset, grid)[0] > 0
            there = neighbour(index, offset, grid)[0]
            matrix = matrix.index_put((index[0][inside], there[inside]), self.entries[channel][inside], accumulate=True)
        return matrix

    def to_scipy(self) -> sp.csr_matrix:
        n, grid = self.shape[0], self.grid
        index = np.arange(n).reshape(grid)
        entries = self.entries.detach().cpu().double().numpy()
        rows, cols, values = [], [], []
        for channel, offset in enumerate(self.offsets):
            inside = tuple(slice(max(0, -o), n_a - max(0, o)) for o, n_a in zip(offset, grid, strict=True))
            shifted = tuple(slice(max(0, o), n_a + min(0, o)) for o, n_a in zip(offset, grid, strict=True))
            value = entries[channel][inside].reshape(-1)
            keep = value != 0
            rows.append(index[inside].reshape(-1)[keep])
            cols.append(index[shifted].reshape(-1)[keep])
            values.append(value[keep])
        return sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def coarse_grid(grid: tuple[int, ...]) -> tuple[int, ...]:
    """The coarse points per axis: the even indices, ``ceil(n/2)``."""
    return tuple(math.ceil(n / 2) for n in grid)


def coarse_mask(mask: torch.Tensor) -> torch.Tensor:
    """The coarse unknowns: the fine unknowns of even index on every axis (a strided copy)."""
    return mask[tuple(slice(None, None, 2) for _ in range(mask.dim()))].clone()


def _shifted(padded: torch.Tensor, parity: tuple[int, ...], offset: tuple[int, ...], grid: tuple[int, ...]) -> torch.Tensor:
    """``v(i + offset)`` on the cells of index ``parity`` (a strided view), from ``v`` padded by ``pad``."""
    return padded[(slice(None),) + tuple(slice(1 + p + o, 1 + n + o, 2) for p, o, n in zip(parity, offset, grid, strict=True))]


def _cells(parity: tuple[int, ...]) -> tuple[slice, ...]:
    """The grid cells whose index has ``parity`` per axis (0 even, 1 odd), as strided slices."""
    return tuple(slice(p, None, 2) for p in parity)


def interpolation_weights(operator: DiffusionStencil | BoxStencil) -> torch.Tensor:
    """The operator-dependent interpolation weights ``w_o(i)`` (module docstring) ``(3^d, *grid)``:
    channel ``o`` (``box_offsets`` order) the weight of ``e(i + o)`` in the interpolated ``e(i)``;
    zero on coarse points (even index on every axis), at obstacles and past the grid."""
    box = BoxStencil.from_stencil(operator)
    grid, dim = box.grid, len(box.grid)
    weights = torch.zeros_like(box.entries).reshape((3,) * dim + grid)
    for parity in itertools.product((0, 1), repeat=dim):
        if not any(parity):
            continue
        cells = _cells(parity)  # the points odd on the axes S = {a: parity[a] = 1}, even on the others
        stencil = box.entries[(slice(None),) + cells].reshape((3,) * dim + tuple(box.entries[(0,) + cells].shape))
        others = tuple(a for a in range(dim) if not parity[a])
        collapsed = stencil.sum(dim=others, keepdim=True) if others else stencil
        centre_index = tuple(1 if p else 0 for p in parity)
        centre = collapsed[centre_index]
        safe = torch.where(centre > 0, centre, torch.ones_like(centre))
        local = torch.where(centre > 0, -collapsed / safe, torch.zeros_like(collapsed))
        local[centre_index] = 0
        place = tuple(slice(None) if p else slice(1, 2) for p in parity)
        weights[place + cells] = local
    return weights.reshape(3**dim, *grid) * box.mask


class GridTransfer:
    """Prolongation ``P`` from ``coarse_grid(grid)`` to ``grid`` and restriction ``R = Pᵀ``, stored as
    corner weights (module docstring).

    Args:
        corners: ``(2^d, *grid)``: channel ``c`` (``{0, 1}^d`` lexicographic) holds ``P[i, ⌊i/2⌋ + c]``.

    Shapes:
        - **prolong:** ``(k, *coarse_grid(grid)) → (k, *grid)``.
        - **restrict:** ``(k, *grid) → (k, *coarse_grid(grid))``.
    """

    def __init__(self, corners: torch.Tensor):
        self.corners = corners
        self.grid = tuple(corners.shape[1:])
        self.coarse_grid = coarse_grid(self.grid)
        dim = len(self.grid)
        if corners.shape[0] != 2**dim:
            raise ValueError(f"need (2^d, *grid) corner weights, got {tuple(corners.shape)}")
        self.corner_offsets = list(itertools.product((0, 1), repeat=dim))
        # per fine parity class q: its cells (strided) and the corners c ≤ q that reach them
        self._classes = []
        for q in itertools.product((0, 1), repeat=dim):
            cells = _cells(q)
            sizes = tuple(math.ceil((n - p) / 2) for n, p in zip(self.grid, q, strict=True))
            reach = [(index, c) for index, c in enumerate(self.corner_offsets) if all(ci <= qi for ci, qi in zip(c, q, strict=True))]
            self._classes.append((cells, sizes, [(c, corners[index][cells]) for index, c in reach]))

    @classmethod
    def from_weights(cls, weights: torch.Tensor, coarse_unknowns: torch.Tensor) -> GridTransfer:
        """The transfer whose prolongation injects on coarse points and interpolates fine points
        from their neighbours with ``weights`` ``(3^d, *grid)`` (``interpolation_weights``, or a
        learned set), in order of their number of odd axes; columns of coarse non-unknowns dropped."""
        grid = tuple(weights.shape[1:])
        dim = len(grid)
        offsets = box_offsets(dim)
        coarse = coarse_grid(grid)
        # probes: coarse indicator of each parity class p ∈ {0,1}^d (a fine cell's 2^d corners fall in distinct classes)
        parities = list(itertools.product((0, 1), repeat=dim))
        probes = weights.new_zeros((len(parities), *coarse))
        for index, p in enumerate(parities):
            probes[(index,) + _cells(p)] = 1
        fine = weights.new_zeros((len(parities), *grid))
        fine[(slice(None),) + _cells((0,) * dim)] = probes * coarse_unknowns.to(weights.dtype)
        for parity in sorted(parities, key=sum)[1:]:  # fewer odd axes first: a point's neighbours are set before it
            padded = pad(fine)
            neighbours = [(i, o) for i, o in enumerate(offsets) if any(o) and all(p or not c for p, c in zip(parity, o, strict=True))]
            cells = (slice(None),) + _cells(parity)
            fine[cells] = sum(weights[(i,) + cells[1:]] * _shifted(padded, parity, o, grid) for i, o in neighbours)
        corners = weights.new_zeros((2**dim, *grid))
        base = [torch.arange(n, device=weights.device) // 2 for n in grid]
        for index, c in enumerate(itertools.product((0, 1), repeat=dim)):
            parent = torch.meshgrid(*[b + ca for b, ca in zip(base, c, strict=True)], indexing="ij")
            inside = torch.ones(grid, dtype=torch.bool, device=weights.device)
            probe = torch.zeros(grid, dtype=torch.int64, device=weights.device)
            for axis, coordinate in enumerate(parent):
                inside = inside & (coordinate < coarse[axis])
                probe = probe * 2 + coordinate % 2
            corners[index] = torch.gather(fine, 0, probe[None])[0] * inside
        return cls(corners)

    def prolong(self, e: torch.Tensor) -> torch.Tensor:
        """``P e``: ``(k, *coarse_grid) → (k, *grid)``."""
        k = e.shape[0]
        padded = torch.nn.functional.pad(e, (0, 1) * len(self.grid))  # one zero past each high edge
        fine = e.new_empty((k, *self.grid))
        for cells, sizes, reach in self._classes:
            total = None
            for c, weight in reach:
                term = weight * padded[(slice(None),) + tuple(slice(ca, ca + s) for ca, s in zip(c, sizes, strict=True))]
                total = term if total is None else total + term
            fine[(slice(None),) + cells] = total
        return fine

    def restrict(self, r: torch.Tensor) -> torch.Tensor:
        """``Pᵀ r``: ``(k, *grid) → (k, *coarse_grid)``."""
        k = r.shape[0]
        padded = r.new_zeros((k, *(m + 1 for m in self.coarse_grid)))
        for cells, sizes, reach in self._classes:
            values = r[(slice(None),) + cells]
            for c, weight in reach:
                padded[(slice(None),) + tuple(slice(ca, ca + s) for ca, s in zip(c, sizes, strict=True))] += weight * values
        return padded[(slice(None),) + tuple(slice(0, m) for m in self.coarse_grid)]


def galerkin_operator(operator: DiffusionStencil | BoxStencil, transfer: GridTransfer, unknowns: torch.Tensor) -> BoxStencil:
    """``Pᵀ A P`` as a ``BoxStencil`` on ``transfer.coarse_grid``, by probing (module docstring);
    ``unknowns`` the coarse unknowns (the others get identity rows)."""
    grid = transfer.coarse_grid
    dim = len(grid)
    offsets = box_offsets(dim)
    residue = sum((torch.arange(n, device=operator.device) % 3).reshape([n if a == axis else 1 for a in range(dim)]) * 3 ** (dim - 1 - axis)
                  for axis, n in enumerate(grid))  # fmt: skip
    residue = residue.expand(grid)
    probes = (residue[None] == torch.arange(3**dim, device=operator.device).reshape(-1, *([1] * dim))).to(operator.dtype) * unknowns
    images = torch.cat([transfer.restrict(operator._apply(transfer.prolong(chunk))) for chunk in probes.split(PROBE_CHUNK)])
    entries = torch.empty((len(offsets), *grid), dtype=operator.dtype, device=operator.device)
    for index, offset in enumerate(offsets):
        colour = neighbour(residue[None], offset, grid)[0]  # the residue class of i + o (0 past the edge: masked below)
        inside = neighbour(torch.ones((1, *grid), dtype=operator.dtype, device=operator.device), offset, grid)[0]
        entries[index] = torch.gather(images, 0, colour[None])[0] * inside
    mirrored = torch.stack([neighbour(entries[offsets.index(tuple(-c for c in o))][None], o, grid)[0] for o in offsets])
    entries = (entries + mirrored) / 2 * unknowns * torch.stack([neighbour(unknowns[None].to(operator.dtype), o, grid)[0] for o in offsets])
    entries[len(offsets) // 2] = torch.where(unknowns, entries[len(offsets) // 2], torch.ones_like(entries[0]))
    return BoxStencil(entries, unknowns)
