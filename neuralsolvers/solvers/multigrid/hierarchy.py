"""The multilevel hierarchy the multigrid family shares: ``Level`` and ``MultilevelHierarchy``.

In the spirit of PyAMG's ``MultilevelSolver`` (Bell, Olson and Schroder, "PyAMG: Algebraic Multigrid
Solvers in Python", JOSS 2022): ``levels`` (finest first), ``operator_complexity()`` and
``grid_complexity()`` with PyAMG's definitions, and a ``repr`` that prints the level table. The
geometric, neural and algebraic cycles each expose one as ``M.hierarchy`` (and ``M.levels``): a
read-only view of what the cycle stores, built on first access, with the learned stencils of the
neural cycle as detached CPU arrays (to plot and to check).

The coarsest level is solved directly from a dense matrix (a Cholesky factor in the geometric
cycles, a pseudo-inverse in AMG); ``check_coarsest`` refuses one larger than ``MAX_COARSE_DIRECT``
unknowns before it is formed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["MAX_COARSE_DIRECT", "Level", "MultilevelHierarchy", "SetupClock", "check_coarsest", "seeded_pyamg"]

MAX_COARSE_DIRECT = 10_000
"""Default cap on the unknowns of a directly solved coarsest level: a dense ``n × n`` float64 matrix
takes ``8 n²`` bytes (0.8 GB at 10 000, 3.2 GB at 20 000) and the set-up holds about three such
copies at once (SciPy's dense array, the torch copy, the factor), while the factorization costs
``n³/3`` operations (a pseudo-inverse several times more); 10 000 keeps the set-up within a few GB
and seconds."""


def check_coarsest(unknowns: int, limit: int = MAX_COARSE_DIRECT) -> None:
    """Refuse a directly solved coarsest level of more than ``limit`` unknowns.

    Raises:
        ValueError: one line naming the size, the limit and the ways out.
    """
    if unknowns > limit:
        raise ValueError(f"the coarsest level has {unknowns} unknowns, more than max_coarse_direct={limit} for its dense direct solve "
                         f"(8·n² = {8 * unknowns**2 / 1e9:.1f} GB in float64); allow more levels, or raise max_coarse_direct")  # fmt: skip


class SetupClock:
    """Wall seconds of a set-up per part, exclusive (a part timed inside another is not counted in
    it), synchronized with the device so that GPU work is counted where it runs.

    Attributes:
        seconds: ``{part: seconds}`` in the order the parts first ran.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []  # per open part: the seconds its nested parts took

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time the block as ``name`` (added to earlier blocks of that name)."""
        start = self._now()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = self._now() - start
            nested = self._inner.pop()
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - nested
            if self._inner:
                self._inner[-1] += elapsed


@dataclass(frozen=True, eq=False)
class Level:
    """One level of a multigrid hierarchy (a read-only record; the cycle keeps its own fields).

    Attributes:
        operator: the level's operator: a ``DiffusionStencil`` (geometric and neural cycles) or a
            torch sparse CSR matrix (AMG; the learned AMG's coarsest level is a dense tensor).
        unknowns: its unknowns (for a stencil the fluid cells: obstacle cells are decoupled
            identity rows).
        nonzeros: the stored entries of its operator: for a stencil the diagonal of every fluid cell
            plus its nonzero couplings (each counted in both rows); for a matrix its ``nnz``.
        smoother: a description of the smoother (``"direct: ..."`` on the coarsest level).
        grid: cells per axis (None for a matrix without a grid).
        smoother_weights: the smoother as an array, or None where implicit (see Shapes).
        prolongation: the coarse-to-fine transfer as an array, or None (see Shapes).
        restriction: the fine-to-coarse transfer as an array, or None where it is the adjoint of
            the prolongation (see Shapes).

    Shapes:
        Detached CPU tensors, per kind of cycle (``d`` the grid's dimension, ``n_l`` the unknowns):

        - **geometric:** ``smoother_weights`` ``grid``: ``ω/D`` on fluid cells, 0 on obstacles
          (damped Jacobi and red-black Gauss–Seidel alike); ``restriction`` ``(4,)*d``: the
          full-weighting kernel (tensor product of ``(1/8, 3/8, 3/8, 1/8)``); ``prolongation``
          ``(4,)*d``: ``2^d`` times it (``P = 2^d Rᵀ``).
        - **neural:** ``smoother_weights`` ``(s^d, *grid)``: the learned ``S`` as one stencil per
          cell, channel ``o`` (the offsets of the ``s``-wide box in lexicographic order,
          ``s = layout.stencil``) holding ``S[i, i + o]``; ``prolongation`` ``(t, *grid)`` the
          learned transfer ``W`` (prolongation ``W P``), channel ``o`` holding ``W[i, i + o]``
          (``t = s^d`` or ``1``, centre only, for ``s = 1``); None without a learned transfer;
          ``restriction`` None (it is ``(W P)ᵀ / 2^d``).
        - **AMG:** ``smoother_weights`` ``(n_l,)``: ``ω / (ρ(D⁻¹A) D)``; ``prolongation``
          ``(n_l, n_{l+1})`` and ``restriction`` ``(n_{l+1}, n_l)``: PyAMG's ``P`` and ``R`` as
          sparse CSR tensors.
        - **learned AMG:** ``smoother_weights`` ``(n_l, sweeps)``: ``w_k / D_ℓ1`` per sweep;
          ``prolongation`` and ``restriction`` the learned ``P_l`` and ``P_lᵀ`` as sparse CSR tensors.
        - **coarsest level:** all three None (solved directly).
    """

    operator: DiffusionStencil | torch.Tensor
    unknowns: int
    nonzeros: int
    smoother: str
    grid: tuple[int, ...] | None = None
    smoother_weights: torch.Tensor | None = None
    prolongation: torch.Tensor | None = None
    restriction: torch.Tensor | None = None


class MultilevelHierarchy:
    """The levels of a multigrid cycle, finest first, with PyAMG's complexities and level table.

    Args:
        levels: the ``Level`` records, finest first (at least one).
        coarsest_solve: how the coarsest level is solved (e.g. ``"dense Cholesky"``).
        setup_seconds: wall seconds of the set-up per part (`SetupClock.seconds`), if measured.

    Attributes:
        levels: see Args.
        coarsest_solve: see Args.
        setup_seconds: see Args (empty when not measured).
    """

    def __init__(self, levels: list[Level], coarsest_solve: str, setup_seconds: dict[str, float] | None = None):
        if not levels:
            raise ValueError("a hierarchy needs at least one level")
        self.levels = list(levels)
        self.coarsest_solve = coarsest_solve
        self.setup_seconds = dict(setup_seconds or {})

    def operator_complexity(self) -> float:
        """``Σ_l nnz(A_l) / nnz(A_0)``: the stored entries of all levels over the finest's (PyAMG's definition)."""
        return sum(level.nonzeros for level in self.levels) / float(self.levels[0].nonzeros)

    def grid_complexity(self) -> float:
        """``Σ_l n_l / n_0``: the unknowns of all levels over the finest's (PyAMG's definition)."""
        return sum(level.unknowns for level in self.levels) / float(self.levels[0].unknowns)

    def __len__(self) -> int:
        return len(self.levels)

    def __getitem__(self, index: int) -> Level:
        return self.levels[index]

    def __iter__(self) -> Iterator[Level]:
        return iter(self.levels)

    def table(self) -> str:
        """The level table (PyAMG's ``MultilevelSolver`` layout, plus each level's grid and smoother)."""
        total = sum(level.nonzeros for level in self.levels)
        lines = [
            f"Number of Levels:     {len(self.levels)}",
            f"Operator Complexity:  {self.operator_complexity():6.3f}",
            f"Grid Complexity:      {self.grid_complexity():6.3f}",
            f"Coarse Solver:        {self.coarsest_solve}",
        ]
        if self.setup_seconds:
            parts = ", ".join(f"{name} {seconds * 1e3:.1f} ms" for name, seconds in self.setup_seconds.items())
            lines.append(f"Set-up:               {parts}")
        lines.append("  level   unknowns     nonzeros            grid  smoother")
        for index, level in enumerate(self.levels):
            grid = "×".join(map(str, level.grid)) if level.grid is not None else "-"
            share = f"[{100 * level.nonzeros / total:2.2f}%]"
            lines.append(f"{index:>6} {level.unknowns:>11} {level.nonzeros:>12} {share:>9} {grid:>11}  {level.smoother}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"MultilevelHierarchy\n{self.table()}"


def seeded_pyamg(builder: Callable[..., Any], matrix: Any, **options: Any) -> Any:
    """``builder(matrix, **options)`` (a PyAMG solver builder) with NumPy's global generator seeded
    and the caller's state restored after: PyAMG estimates spectral radii (Jacobi weights ``ω/ρ``, the
    smoothed prolongation) from random start vectors, so unseeded a matrix gets a different hierarchy,
    and different iterations, on every build."""
    state = np.random.get_state()  # noqa: NPY002  the global generator is what PyAMG draws from
    np.random.seed(0)  # noqa: NPY002
    try:
        return builder(matrix, **options)
    finally:
        np.random.set_state(state)  # noqa: NPY002
