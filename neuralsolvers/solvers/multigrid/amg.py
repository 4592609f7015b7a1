"""Algebraic multigrid preconditioner: PyAMG builds the hierarchy, the V-cycle runs in torch.

PyAMG (smoothed aggregation or Ruge–Stüben) computes the coarse operators ``A_l``, the
prolongations ``P_l`` and restrictions ``R_l`` once on the CPU; they are moved to the device as
sparse CSR tensors. One application ``z = M(r)`` is one V-cycle from a zero initial guess, exactly
as PyAMG's ``aspreconditioner()``: weighted-Jacobi pre-smoothing (``ω / ρ(D⁻¹A)`` per level, the
same ω PyAMG computed), residual, restriction, recursion, a dense pseudo-inverse on the coarsest
level, prolongation and post-smoothing. Jacobi smoothing keeps every step a parallel sparse product,
so AMG-PCG runs entirely on a GPU; the cycle is symmetric, hence a valid preconditioner for ``cg``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyamg
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.multigrid.hierarchy import (
    MAX_COARSE_DIRECT,
    Level,
    MultilevelHierarchy,
    check_coarsest,
    seeded_pyamg,
)
from neuralsolvers.solvers.operators import assembled, scipy_to_torch_csr
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.types import DeviceLike, OperatorLike

__all__ = ["AMG"]

BUILDERS = {"smoothed_aggregation": pyamg.smoothed_aggregation_solver, "ruge_stuben": pyamg.ruge_stuben_solver}


@dataclass
class _Level:
    A: torch.Tensor
    P: torch.Tensor
    R: torch.Tensor
    scaled_inverse_diagonal: torch.Tensor  # ω / (ρ(D⁻¹A) · diag(A)), shape (n, 1)
    sweeps: int


class AMG(Preconditioner):
    """One AMG V-cycle as a preconditioner.

    The hierarchy is PyAMG's (Bell, Olson and Schroder, "PyAMG: Algebraic Multigrid Solvers in
    Python", Journal of Open Source Software 7, 2022, <https://doi.org/10.21105/joss.04142>): classical Ruge–Stüben coarsening (Ruge and
    Stüben, "Algebraic Multigrid", in *Multigrid Methods*, S. F. McCormick (ed.), Frontiers in
    Applied Mathematics 3, SIAM, 1987) or smoothed aggregation (Vaněk, Mandel and Brezina,
    "Algebraic Multigrid by Smoothed Aggregation for Second and Fourth Order Elliptic Problems",
    Computing 56, 1996). ``z = B_0 r`` with, on level ``l`` (``ν = sweeps``,
    ``J_l = ω / (ρ(D_l⁻¹A_l) · D_l)``):

        x ← x + J_l (r − A_l x)   ν times, from x = 0
        x ← x + P_l B_{l+1} R_l (r − A_l x)
        x ← x + J_l (r − A_l x)   ν times

    and ``B_L = A_L⁺`` (dense pseudo-inverse) on the coarsest level.

    Args:
        A: SPD matrix (SciPy sparse, torch, or an operator with ``to_scipy``).
        method: ``smoothed_aggregation`` or ``ruge_stuben``.
        omega: Jacobi weight before scaling by ``1/ρ(D⁻¹A)`` (PyAMG's ``withrho``; default 4/3).
        sweeps: smoothing sweeps before and after the coarse correction.
        max_levels: hierarchy limits passed to PyAMG.
        max_coarse: see `max_levels`.
        max_coarse_direct: the most unknowns the coarsest level may have (its dense pseudo-inverse
            needs ``8 n²`` bytes per copy; default ``MAX_COARSE_DIRECT``, 10 000): a larger one
            (``max_levels`` reached first, or coarsening that stalls) is refused.
        dtype: of the hierarchy on the device (default: those of ``A``).
        device: see `dtype`.
        **options: further keyword arguments of the PyAMG builder (e.g. ``strength``).

    Attributes:
        hierarchy: the levels as a [`MultilevelHierarchy`][neuralsolvers.solvers.multigrid.hierarchy.MultilevelHierarchy]
            (complexities and level table as PyAMG's; read-only, built on first access).
        levels: ``hierarchy.levels``, finest first (``levels[i].operator`` a sparse CSR tensor).
        pyamg: the PyAMG ``MultilevelSolver`` (with the same smoothers, for reference solves).

    Shapes:
        - **A:** ``(n, n)``, SPD (assembled; ``to_scipy`` for an operator).
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` (``k`` columns at once), in the
          units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x``.
    """

    def __init__(
        self,
        A: OperatorLike,
        method: str = "smoothed_aggregation",
        omega: float = 4.0 / 3.0,
        sweeps: int = 1,
        max_levels: int = 10,
        max_coarse: int = 10,
        max_coarse_direct: int = MAX_COARSE_DIRECT,
        dtype: torch.dtype | None = None,
        device: DeviceLike | None = None,
        **options: Any,
    ):
        if method not in BUILDERS:
            raise ValueError(f"method must be one of {sorted(BUILDERS)}, got {method!r}")
        matrix, self.dtype, self.device = assembled(A, dtype, device)
        self.shape = matrix.shape
        smoother = ("jacobi", {"omega": omega, "iterations": sweeps, "withrho": True})
        self.pyamg = seeded_pyamg(BUILDERS[method], matrix, presmoother=smoother, postsmoother=smoother, max_levels=max_levels,
                                  max_coarse=max_coarse, coarse_solver="pinv", **options)  # fmt: skip
        self._levels: list[_Level] = []
        self._hierarchy: MultilevelHierarchy | None = None
        for level in self.pyamg.levels[:-1]:
            weight = level.presmoother.keywords["omega"]
            diagonal = torch.as_tensor(level.A.diagonal(), dtype=self.dtype, device=self.device)
            self._levels.append(
                _Level(
                    A=self._csr(level.A), P=self._csr(level.P), R=self._csr(level.R),
                    scaled_inverse_diagonal=(weight / diagonal)[:, None], sweeps=sweeps,
                )
            )
        check_coarsest(self.pyamg.levels[-1].A.shape[0], max_coarse_direct)
        coarse = torch.as_tensor(self.pyamg.levels[-1].A.toarray(), dtype=torch.float64)
        self.coarse_inverse = torch.linalg.pinv(coarse).to(self.dtype).to(self.device)

    def _csr(self, matrix: sp.spmatrix) -> torch.Tensor:
        return scipy_to_torch_csr(matrix, self.dtype, self.device)

    def _cycle(self, index: int, b: torch.Tensor) -> torch.Tensor:
        level = self._levels[index]
        x = level.scaled_inverse_diagonal * b  # first Jacobi sweep from x = 0
        for _ in range(level.sweeps - 1):
            x = x + level.scaled_inverse_diagonal * (b - level.A @ x)
        coarse_b = level.R @ (b - level.A @ x)
        if index == len(self._levels) - 1:
            coarse_x = self.coarse_inverse @ coarse_b
        else:
            coarse_x = self._cycle(index + 1, coarse_b)
        x = x + level.P @ coarse_x
        for _ in range(level.sweeps):
            x = x + level.scaled_inverse_diagonal * (b - level.A @ x)
        return x

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        if not self._levels:  # the matrix is already coarse: a direct solve
            return self.coarse_inverse @ r
        vector = r.dim() == 1
        z = self._cycle(0, r[:, None] if vector else r)
        return z[:, 0] if vector else z

    @property
    def hierarchy(self) -> MultilevelHierarchy:
        """The cycle's levels as a [`MultilevelHierarchy`][neuralsolvers.solvers.multigrid.hierarchy.MultilevelHierarchy]
        (built on first access from what the cycle stores; read-only)."""
        if self._hierarchy is None:
            records = []
            for level, source in zip(self._levels, self.pyamg.levels, strict=False):
                weight = source.presmoother.keywords["omega"]
                records.append(Level(level.A, source.A.shape[0], int(source.A.nnz), smoother=f"jacobi (ω/ρ={weight:.3g}) ×{level.sweeps}",
                                     smoother_weights=level.scaled_inverse_diagonal[:, 0].detach().cpu(),
                                     prolongation=level.P.detach().cpu(), restriction=level.R.detach().cpu()))  # fmt: skip
            coarsest = self.pyamg.levels[-1].A
            records.append(Level(self._csr(coarsest), coarsest.shape[0], int(coarsest.nnz), smoother="direct"))
            self._hierarchy = MultilevelHierarchy(records, coarsest_solve=f"dense pseudo-inverse ({coarsest.shape[0]} unknowns)")
        return self._hierarchy

    @property
    def levels(self) -> list[Level]:
        """``hierarchy.levels``: the levels, finest first."""
        return self.hierarchy.levels

    def __repr__(self) -> str:
        return f"AMG(device={self.device})\n{self.hierarchy.table()}"
