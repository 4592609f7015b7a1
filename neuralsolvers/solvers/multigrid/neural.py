"""The neural multigrid cycle: geometric multigrid whose smoothers and transfers are learned stencils.

The cycle is ``GeometricMultigrid``'s (same hierarchy, coarsening, re-discretised coarse operators,
exact coarsest solve, the same ``CycleOptions``); on every level but the coarsest a network maps
the level's ``stencil_features`` (dimensionless, so one network serves every level and grid size)
to raw per-cell numbers, turned here into two local stencils:

- **Smoother** ``S = D^{-1/2} T D^{-1/2}`` with ``T`` a symmetric 3×3(×3) stencil per cell (or its
  centre only, ``stencil=1``) between fluid cells. From the raw off-diagonal numbers ``a`` the coupling
  of cells ``i`` and ``j = i + o`` is ``u_ij = (a_{i,o} + a_{j,−o}) / 2`` (symmetric for any ``a``),
  scaled by ``min(g_i, g_j)`` with ``g_i = σ / max(σ, Σ_j |u_ij|)`` so every row's off-diagonal sum
  ``ρ_i ≤ σ = 0.45``; the centre is ``t_i = ε + ρ_i + (1 − 2ρ_i − ε)·sigmoid(z_i + z_0)`` (``ε = 0.01``; ``z_0`` makes ``t_i = 2/3`` at ``z_i = ρ_i = 0``), in
  ``[ε + ρ_i, 1 − ρ_i]``. By Gershgorin every eigenvalue of ``T`` lies in ``[ε, 1]``.
- **Transfer** ``W`` a general 3×3(×3) stencil per fine cell (identity plus ``tanh`` of the raw
  numbers, bounded so the cycle stays well scaled; couplings only between fluid cells): prolongation ``W P``, restriction ``(W P)ᵀ / 2^d``.

Why the cycle is symmetric positive definite for **any** network weights: ``S`` is symmetric, so the
post-smoother (``S`` again, the adjoint) mirrors the pre-smoother, and restriction is the transpose
of prolongation, so the cycle ``B`` is symmetric. ``Â = D^{-1/2} A D^{-1/2}`` has eigenvalues in
``(0, 2)`` (Gershgorin on the diagonally dominant stencil; 2 is excluded because the grid graph is
bipartite, so ``2 − λ`` is an eigenvalue whenever ``λ`` is, and ``A`` is nonsingular). Hence
``λ_max(T^{1/2} Â T^{1/2}) ≤ λ_max(T)·λ_max(Â) < 2`` and ``S + Sᵀ − SᵀAS = D^{-1/2} T^{1/2} (2 −
T^{1/2}ÂT^{1/2}) T^{1/2} D^{-1/2} ≻ 0``: the smoother converges in the energy norm
(``‖I − SA‖_A < 1``). Then ``B = M̄ + (I − SA) W P B_c (W P)ᵀ (I − AS) / 2^d`` with ``M̄ ≻ 0`` (the
symmetrized smoother of all sweeps) and the second term positive semidefinite whatever ``W`` is,
so ``B ≻ 0`` by induction from the SPD coarsest solve. With zero raw numbers (the untrained
network, whose output layer starts at zero) ``T = (2/3) I`` and ``W = I``: exactly the damped-Jacobi ``GeometricMultigrid``.

**On the Galerkin hierarchy** (``StencilLayout(galerkin=True)``, options ``coarse_operator="galerkin",
interpolation="operator_dependent"``) the network reads each level's ``box_features`` (the 5/7- or
9/27-point stencil over its diagonal) and, instead of ``W``, gives bounded factors
``1 + c tanh(a_o(i))`` (``c = layout.interpolation_range``) on the operator-dependent interpolation weights ``w_o(i)`` of Black Box
Multigrid (`neuralsolvers.solvers.multigrid.galerkin`): multiplicative, so a weight the fine
stencil makes negligible (towards a cell 10⁶ times less conductive) stays negligible, and a cycle
trained at moderate contrast keeps Black Box Multigrid's robustness at any contrast; the coarse operators are the Galerkin products ``Pᵀ A P`` of the learned ``P`` (restriction
``Pᵀ``), so they are SPD whatever the weights (``P`` is the identity on the coarse unknowns: full
column rank), and the coarsest one is factored in torch so training differentiates through it. On
9/27-point levels the grid is no longer bipartite, so ``T`` is scaled by
``min(1, 1.99 / (τ ρ))`` with ``τ ≥ λ_max(T)`` and ``ρ ≥ λ_max(D⁻¹A)`` Gershgorin bounds
(``BoxStencil.spectral_bound``): the smoother stays energy-convergent and the cycle SPD for any
weights. The classical Galerkin cycle caps its damped-Jacobi weight the same way, so the untrained
network is exactly that classical cycle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from neuralsolvers.solvers.multigrid.cycle import CycleOptions, cycle_options
from neuralsolvers.solvers.multigrid.galerkin import (
    SMOOTHER_MARGIN,
    BoxStencil,
)
from neuralsolvers.solvers.multigrid.geometric import GeometricMultigrid, _Level, _stencil_counts
from neuralsolvers.solvers.multigrid.hierarchy import Level
from neuralsolvers.solvers.multigrid.shifts import box_offsets, neighbour, pad, scatter, window
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["NeuralMultigridPreconditioner", "StencilLayout", "box_features", "stencil_features"]

OFF_DIAGONAL_BOUND = 0.45  # σ: the most a row of T may put off its diagonal
CENTRE_FLOOR = 0.01  # ε: the smallest eigenvalue T may have
JACOBI_WEIGHT = 2 / 3  # the centre of T for zero raw numbers: damped Jacobi, as GeometricMultigrid


def _offsets(dim: int, stencil: int) -> list[tuple[int, ...]]:
    """The non-zero offsets of a ``stencil``-wide box, lexicographic (none for ``stencil=1``)."""
    if stencil == 1:
        return []
    return [o for o in box_offsets(dim) if any(o)]


@dataclass(frozen=True)
class StencilLayout:
    """How a level's raw network output ``(1, channels, *grid)`` is split.

    Channels: the smoother's centre (1), its off-diagonal numbers (one per non-zero offset of the
    ``stencil``-wide box), then, with ``transfer``, the transfer stencil's (one per offset, zero
    included) or, with ``galerkin`` (the Galerkin hierarchy), the factors ``1 ± interpolation_range``
    at most on the operator-dependent interpolation weights (one per non-zero offset of the 3-wide box).
    """

    dim: int
    stencil: int = 3
    transfer: bool = True
    galerkin: bool = False
    interpolation_range: float = 0.5

    def __post_init__(self) -> None:
        if self.dim not in (2, 3) or self.stencil not in (1, 3):
            raise ValueError(f"need dim 2 or 3 and stencil 1 or 3, got dim={self.dim}, stencil={self.stencil}")
        if not 0 <= self.interpolation_range < 1:
            raise ValueError(f"interpolation_range must lie in [0, 1) so that every weight keeps its sign, got {self.interpolation_range}")

    @property
    def offsets(self) -> list[tuple[int, ...]]:
        return _offsets(self.dim, self.stencil)

    @property
    def channels(self) -> int:
        off = len(self.offsets)
        transfer = (3**self.dim - 1 if self.galerkin else off + 1) if self.transfer else 0
        return 1 + off + transfer

    @property
    def features(self) -> int:
        """The input channels: ``stencil_features`` (``2 + 2d``), or ``box_features`` (``3^d + 1``) with ``galerkin``."""
        return 3**self.dim + 1 if self.galerkin else 2 + 2 * self.dim

    def read(self, operator: DiffusionStencil | BoxStencil) -> torch.Tensor:
        """A level's input features: ``box_features`` with ``galerkin``, else ``stencil_features``."""
        return box_features(operator) if self.galerkin else stencil_features(operator)

    @property
    def centre_bias(self) -> float:
        """Added to the raw centre number, so that zero gives ``t = JACOBI_WEIGHT`` (no off-diagonals)."""
        p = (JACOBI_WEIGHT - CENTRE_FLOOR) / (1 - CENTRE_FLOOR)
        return math.log(p / (1 - p))


def box_features(operator: DiffusionStencil | BoxStencil) -> torch.Tensor:
    """Dimensionless per-cell features of a 5/7- or 9/27-point stencil ``(1, 3^d + 1, *grid)``: the
    fluid mask; the ``3^d − 1`` off-diagonal entries ``A[i, i + o] / A[i, i]`` (``box_offsets``
    order, the centre left out); the row sum over the diagonal (the share of the diagonal that no
    neighbour takes: Dirichlet faces, obstacles). Zero on obstacle cells; independent of the spacing."""
    box = BoxStencil.from_stencil(operator)
    fluid = box.mask.to(box.dtype)
    centre = len(box.offsets) // 2
    ratios = box.entries * (fluid / box.diag)
    channels = [fluid[None], ratios[:centre], ratios[centre + 1 :], ratios.sum(0, keepdim=True)]
    return torch.cat(channels)[None]




def stencil_features(operator: DiffusionStencil) -> torch.Tensor:
    """Dimensionless per-cell features ``(1, 2 + 2d, *grid)``: the fluid mask; for each axis the
    couplings to the +axis and −axis neighbours as fractions of the diagonal (0 at obstacles and
    Neumann walls); the fraction of the diagonal from Dirichlet faces (walls, obstacles). Zero on
    obstacle cells. Independent of the spacing, so every level of a hierarchy looks alike."""
    fluid = operator.mask.to(operator.dtype)
    channels = [fluid]
    coupled = torch.zeros_like(fluid)
    for axis, coupling in enumerate(operator.couplings):
        minus = torch.zeros_like(coupling)
        size = operator.grid[axis]
        minus.narrow(axis, 1, size - 1).copy_(coupling.narrow(axis, 0, size - 1))
        for face in (coupling, minus):
            fraction = fluid * face / operator.diag
            channels.append(fraction)
            coupled = coupled + fraction
    channels.append((fluid * (1 - coupled)).clamp_min(0))
    return torch.stack(channels)[None]


class _LevelStencils:
    """One level's learned smoother ``S`` and transfer ``W`` (module docstring), from raw numbers."""

    def __init__(self, raw: torch.Tensor, operator: DiffusionStencil, layout: StencilLayout):
        grid = operator.grid
        self.grid = grid
        fluid = operator.mask.to(raw.dtype)[None]
        scale = operator.diag.to(raw.dtype)[None].rsqrt() * fluid  # D^{-1/2} on fluid cells
        offsets = layout.offsets
        index = {o: 1 + i for i, o in enumerate(offsets)}
        positive = [o for o in offsets if o > tuple(0 for _ in o)]
        couplings = []
        for o in positive:  # u_o(i): the coupling of i and i + o, symmetric by construction
            there = neighbour(raw[:, index[tuple(-c for c in o)]], o, grid)
            couplings.append((raw[:, index[o]] + there) / 2 * fluid * neighbour(fluid, o, grid))
        row = _row_sums(couplings, positive, grid, fluid)
        gain = OFF_DIAGONAL_BOUND / row.clamp_min(OFF_DIAGONAL_BOUND)
        couplings = [u * torch.minimum(gain, neighbour(gain, o, grid)) for u, o in zip(couplings, positive, strict=True)]
        row = _row_sums(couplings, positive, grid, fluid)
        centre = CENTRE_FLOOR + row + (1 - 2 * row - CENTRE_FLOOR) * torch.sigmoid(raw[:, 0] + layout.centre_bias)
        if isinstance(operator, BoxStencil):  # a Galerkin level: keep λ_max(T)·λ_max(D⁻¹A) < 2 (module docstring)
            bound = ((centre + row) * fluid).max().detach() * operator.spectral_bound().to(raw.dtype)
            gain = torch.clamp(SMOOTHER_MARGIN / bound, max=1.0)
            centre, couplings = centre * gain, [u * gain for u in couplings]
        self.centre = centre * scale**2  # S_ii = t_i / D_i
        self.pairs = [(o, u * scale * neighbour(scale, o, grid)) for u, o in zip(couplings, positive, strict=True)]
        self.transfer: list[tuple[tuple[int, ...], torch.Tensor]] | None = None
        self.interpolation: torch.Tensor | None = None  # Galerkin: factors on the interpolation weights (3^d, *grid)
        if layout.transfer and layout.galerkin:
            factor = 1 + layout.interpolation_range * torch.tanh(raw[0, 1 + len(offsets) :])
            middle = len(factor) // 2
            self.interpolation = torch.cat([factor[:middle], torch.ones_like(factor[:1]), factor[middle:]])
        elif layout.transfer:
            first = 1 + len(offsets)
            self.transfer = []
            for i, o in enumerate([tuple(0 for _ in range(layout.dim)), *offsets]):
                weight = torch.tanh(raw[:, first + i]) * fluid * neighbour(fluid, o, grid)
                self.transfer.append((o, weight + fluid if not any(o) else weight))

    def smoother_array(self) -> torch.Tensor:
        """``S`` as one stencil per cell ``(s^d, *grid)``, detached on the CPU: channel ``o`` (the
        offsets of the ``s``-wide box, lexicographic) holds ``S[i, i + o]``."""
        if not self.pairs:
            return self.centre.detach().cpu()
        pairs = dict(self.pairs)
        channels = []
        for o in box_offsets(len(self.grid)):
            if not any(o):
                channels.append(self.centre)
            elif o in pairs:
                channels.append(pairs[o])
            else:  # S[i, i + o] = S[i + o, i]: the pair of −o, stored at i + o
                channels.append(neighbour(pairs[tuple(-c for c in o)], o, self.grid))
        return torch.cat(channels).detach().cpu()

    def transfer_array(self) -> torch.Tensor | None:
        """``W`` as one stencil per fine cell ``(t, *grid)``, detached on the CPU (``t = 3^d``, or 1
        for a centre-only stencil): channel ``o`` (lexicographic offsets) holds ``W[i, i + o]``;
        None without a learned transfer."""
        if self.transfer is None:
            return None
        weights = dict(self.transfer)
        if len(weights) == 1:
            return next(iter(weights.values())).detach().cpu()
        return torch.cat([weights[o] for o in box_offsets(len(self.grid))]).detach().cpu()

    def smooth(self, v: torch.Tensor) -> torch.Tensor:
        """``S v`` for ``(k, *grid)``."""
        y = self.centre * v
        if not self.pairs:
            return y
        padded = pad(v)
        for o, pair in self.pairs:
            y = y + pair * window(padded, o, self.grid)
        return y + scatter([(o, pair * v) for o, pair in self.pairs], self.grid)

    def lift(self, v: torch.Tensor) -> torch.Tensor:
        """``W v``: ``Σ_o w_o(i) v(i + o)``."""
        (_, centre), *others = self.transfer
        if not others:
            return centre * v
        padded = pad(v)
        return centre * v + sum(w * window(padded, o, self.grid) for o, w in others)

    def lift_adjoint(self, u: torch.Tensor) -> torch.Tensor:
        """``Wᵀ u``: ``Σ_o (w_o u)(j − o)``."""
        (_, centre), *others = self.transfer
        if not others:
            return centre * u
        return centre * u + scatter([(o, w * u) for o, w in others], self.grid)


def _row_sums(couplings: list[torch.Tensor], positive: list[tuple[int, ...]], grid: tuple[int, ...], fluid: torch.Tensor) -> torch.Tensor:
    """``Σ_j |u_ij|`` per cell: each coupling counts at ``i`` and at ``i + o`` (zero, shaped like
    ``fluid``, without couplings)."""
    if not couplings:
        return torch.zeros_like(fluid)
    forward = sum(u.abs() for u in couplings)
    return forward + scatter([(o, u.abs()) for u, o in zip(couplings, positive, strict=True)], grid)


class NeuralMultigridPreconditioner(GeometricMultigrid):
    """The neural multigrid V-cycle of one system as an SPD preconditioner (module docstring).

    The cycle of [`GeometricMultigrid`][neuralsolvers.solvers.multigrid.geometric.GeometricMultigrid]
    (McAdams, Sifakis and Teran, SCA 2010) with learned local smoother and transfer stencils, in the
    line of the learned multigrid of Greenfeld, Galun, Kimmel, Yavneh and Basri, "Learning to
    Optimize Multigrid PDE Solvers" (ICML 2019, <https://arxiv.org/abs/1902.10248>) and Katrutsa, Daulbaev and Oseledets, "Black-box
    learning of multigrid parameters" (Journal of Computational and Applied Mathematics 368, 2020),
    both of which learn transfer operators; here the construction keeps the cycle SPD for any
    weights. On level ``l``, with ``S_l = D^{-1/2} T_l D^{-1/2}`` and ``W_l`` from the network:

        x ← x + S_l(r − A_l x)   ν times, from x = 0
        x ← x + W_l P B_{l+1} (W_l P)ᵀ (r − A_l x) / 2^d
        x ← x + S_l(r − A_l x)   ν times

    Args:
        A: the ``DiffusionStencil`` of the system.
        network: maps ``stencil_features`` ``(1, F, *grid)`` to raw numbers
            ``(1, layout.channels, *grid)`` on any level (its own dtype and device; converted).
        layout: the stencil sizes the raw numbers describe.
        options: the cycle's ``CycleOptions``: ``sweeps``, ``coarsening``, ``coarsest``, ``max_levels``
            (the smoother is learned: ``smoother``, ``omega`` and ``boundary_sweeps`` must keep
            their defaults).
        differentiable: keep the network's graph (training); default: set-up under ``no_grad``.
        **overrides: fields of ``CycleOptions`` that replace those of ``options`` (``sweeps=1``).

    Set-up: one network pass per level (all but the coarsest), done once; ``apply`` reuses it.

    Shapes:
        - **A:** a ``DiffusionStencil`` on a 2D ``(H, W)`` or 3D ``(D, H, W)`` grid; its
          ``n = prod(A.grid)`` unknowns are the cells in C order.
        - **network:** ``stencil_features`` ``(1, 2 + 2d, *grid_l)`` (dimensionless) to raw
          numbers ``(1, layout.channels, *grid_l)`` on every level ``l`` but the coarsest.
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` (``k`` columns at once), in the
          units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x``.
    """

    linear = True
    linear_spd = True

    def __init__(
        self,
        A: DiffusionStencil,
        network: Callable[[torch.Tensor], torch.Tensor],
        layout: StencilLayout,
        *,
        options: CycleOptions | None = None,
        differentiable: bool = False,
        **overrides: str | int | float | None,
    ):
        if isinstance(A, DiffusionStencil) and len(A.grid) != layout.dim:
            raise ValueError(f"the network is for {layout.dim}D grids but A's grid is {A.grid}")
        options = cycle_options(options, overrides, type(self).__name__)
        learned = {"smoother": "jacobi", "omega": None, "boundary_sweeps": 0}
        fixed = [name for name, value in learned.items() if getattr(options, name) != value]
        if fixed:
            raise ValueError(f"the neural cycle learns its smoother: leave {', '.join(fixed)} at their defaults ({learned})")
        if layout.galerkin != (options.coarse_operator == "galerkin"):
            raise ValueError(f"the network was made for the {'Galerkin' if layout.galerkin else 're-discretised'} hierarchy but the options "
                             f"ask for coarse_operator={options.coarse_operator!r}")  # fmt: skip
        self.network, self.layout = network, layout
        with torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
            super().__init__(A, options=options)

    def _level(self, operator: DiffusionStencil, with_band: bool, coarsest: bool = False) -> _Level:
        level = _Level(operator, operator.mask.to(operator.dtype)[None], torch.zeros(()), None, None)
        if coarsest:  # solved directly: no stencils, no network pass
            return level
        with self._clock.part("network"):
            features = self.layout.read(operator)
            parameter = next(self.network.parameters(), None) if isinstance(self.network, torch.nn.Module) else None
            if parameter is not None:  # the network's own dtype and device
                features = features.to(parameter.device, parameter.dtype)
            raw = self.network(features).to(self.device, operator.dtype)
        if raw.shape != (1, self.layout.channels, *operator.grid):
            raise ValueError(f"the network gave {tuple(raw.shape)}, expected {(1, self.layout.channels, *operator.grid)}")
        stencils = _LevelStencils(raw, operator, self.layout)
        level.learned = stencils

        def step(x: torch.Tensor | None, r: torch.Tensor) -> torch.Tensor:
            update = stencils.smooth(level.residual(x, r))
            return update if x is None else x + update

        level.pre = [step] * self.options.sweeps
        level.post = [step] * self.options.sweeps  # S is symmetric: the adjoint steps are the same
        if stencils.transfer is not None:
            level.lift, level.lift_adjoint = stencils.lift, stencils.lift_adjoint
        return level

    def _interpolation_weights(self, level: _Level) -> torch.Tensor:
        """The operator-dependent weights times the network's factors (Galerkin hierarchy)."""
        weights = super()._interpolation_weights(level)
        learned: _LevelStencils = level.learned
        return weights if learned.interpolation is None else weights * learned.interpolation.to(weights.dtype)

    def _smoother_name(self, level: _Level) -> str:
        transfer = (", learned interpolation" if self.layout.galerkin else ", learned transfer") if self.layout.transfer else ""
        box = "×".join([str(self.layout.stencil)] * self.layout.dim)
        return f"learned {box} S ×{self.options.sweeps}{transfer}"

    def _describe(self, level: _Level, coarsest: bool) -> Level:
        """One level's public record with its learned stencils as arrays (``Level``'s Shapes)."""
        counts = _stencil_counts(level.operator)
        if coarsest:
            return Level(level.operator, *counts, smoother="direct", grid=level.grid)
        stencils: _LevelStencils = level.learned
        prolongation = level.transfer.corners.detach().cpu() if self.layout.galerkin else stencils.transfer_array()
        return Level(level.operator, *counts, smoother=self._smoother_name(level), grid=level.grid,
                     smoother_weights=stencils.smoother_array(), prolongation=prolongation)  # fmt: skip

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(stencil={self.layout.stencil}, transfer={self.layout.transfer}, device={self.device})\n"
                f"{self.hierarchy.table()}")
