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
        dtype: of the hierarchy on the device (default: those of ``A``).
        device: see `dtype`.
        **options: further keyword arguments of the PyAMG builder (e.g. ``strength``).

    Attributes:
        hierarchy: the PyAMG ``MultilevelSolver`` (with the same smoothers, for reference solves).

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
        dtype: torch.dtype | None = None,
        device: DeviceLike | None = None,
        **options: Any,
    ):
        if method not in BUILDERS:
            raise ValueError(f"method must be one of {sorted(BUILDERS)}, got {method!r}")
        matrix, self.dtype, self.device = assembled(A, dtype, device)
        self.shape = matrix.shape
        smoother = ("jacobi", {"omega": omega, "iterations": sweeps, "withrho": True})
        self.hierarchy = BUILDERS[method](
            matrix, presmoother=smoother, postsmoother=smoother, max_levels=max_levels,
            max_coarse=max_coarse, coarse_solver="pinv", **options,
        )
        self.levels: list[_Level] = []
        for level in self.hierarchy.levels[:-1]:
            weight = level.presmoother.keywords["omega"]
            diagonal = torch.as_tensor(level.A.diagonal(), dtype=self.dtype, device=self.device)
            self.levels.append(
                _Level(
                    A=self._csr(level.A), P=self._csr(level.P), R=self._csr(level.R),
                    scaled_inverse_diagonal=(weight / diagonal)[:, None], sweeps=sweeps,
                )
            )
        coarse = torch.as_tensor(self.hierarchy.levels[-1].A.toarray(), dtype=torch.float64)
        self.coarse_inverse = torch.linalg.pinv(coarse).to(self.dtype).to(self.device)

    def _csr(self, matrix: sp.spmatrix) -> torch.Tensor:
        return scipy_to_torch_csr(matrix, self.dtype, self.device)

    def _cycle(self, index: int, b: torch.Tensor) -> torch.Tensor:
        level = self.levels[index]
        x = level.scaled_inverse_diagonal * b  # first Jacobi sweep from x = 0
        for _ in range(level.sweeps - 1):
            x = x + level.scaled_inverse_diagonal * (b - level.A @ x)
        coarse_b = level.R @ (b - level.A @ x)
        if index == len(self.levels) - 1:
            coarse_x = self.coarse_inverse @ coarse_b
        else:
            coarse_x = self._cycle(index + 1, coarse_b)
        x = x + level.P @ coarse_x
        for _ in range(level.sweeps):
            x = x + level.scaled_inverse_diagonal * (b - level.A @ x)
        return x

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        if not self.levels:  # the matrix is already coarse: a direct solve
            return self.coarse_inverse @ r
        vector = r.dim() == 1
        z = self._cycle(0, r[:, None] if vector else r)
        return z[:, 0] if vector else z

    def __repr__(self) -> str:
        sizes = [level.A.shape[0] for level in self.levels] + [self.coarse_inverse.shape[0]]
        return f"AMG(levels={sizes}, device={self.device})"
