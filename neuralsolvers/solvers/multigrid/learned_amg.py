"""The learned algebraic multigrid cycle: PyAMG's coarsening, learned prolongation values and smoother
weights, Galerkin coarse operators, for any sparse SPD matrix (no grid).

Set-up for a matrix ``A`` (``SetupClock`` parts in brackets):

1. [coarsening] PyAMG builds its classical hierarchy (smoothed aggregation or Ruge–Stüben): from it
   come the prolongation patterns and classical values ``P⁰_l`` of every level (``CoarseningPlan``;
   computed once per matrix and reusable, e.g. across training steps).
2. [network] On each level ``l`` (finest first) a network reads the level's matrix graph
   (``LevelGraph``: ``A_l`` and ``P⁰_l``) and gives raw numbers: ``z_i`` per unknown and ``y_k`` per
   stored entry of ``P⁰_l``. One network serves every level, so the depth follows the matrix.
3. [Galerkin products] ``P_l = P⁰_l ⊙ (1 + c tanh(y))`` (``c = interpolation_range``: the
   classical values scaled by bounded factors, on the classical pattern), ``A_{l+1} = P_lᵀ A_l P_l``
   (differentiable ``sparse_products`` while training, torch's sparse product otherwise).
4. [coarsest factorization] the coarsest ``A_L`` is factored densely (Cholesky; a pseudo-inverse if
   rounding made it singular, outside training).

The cycle, from ``x = 0`` on level ``l``: sweeps ``k = 1 … ν`` of ℓ1-Jacobi ``x ← x + W_{l,k} D_l⁻¹
(b − A_l x)`` with ``D_l = diag(Σ_j |a_ij|)`` and ``W_{l,k} = diag(w_{·k})``, ``w_ik = 0.01 + 1.98
σ(z_ik + z_lk)`` (``z_lk`` makes ``w_ik = ω_lk`` at ``z_ik = 0``: ``omega`` on the finest level,
``coarse_omega`` below); the coarse correction ``x ← x + P_l
B_{l+1} P_lᵀ (b − A_l x)``; the sweeps again in reverse order ``k = ν … 1``. Zero raw numbers (the
untrained network, whose output layers start at zero, or ``network=None``) give PyAMG's hierarchy
exactly with ℓ1-Jacobi smoothing of weights ``ω``: the classical method the learned one starts from.

Why the cycle is symmetric positive definite for **any** network weights: ``D_l ⪰ A_l`` for every
symmetric ``A_l`` (``xᵀ(D − A)x = ½ Σ_{i≠j} (|a_ij|(x_i² + x_j²) − 2 a_ij x_i x_j) ≥ 0``), and
``w_ik < 1.99``, so ``2 D_l W_{l,k}⁻¹ − A_l ⪰ (2/1.99 − 1) D_l ≻ 0`` on the finest level (``A`` SPD
has a positive diagonal): every sweep converges in the energy norm, and the post-sweeps, in reverse
order, are the adjoint of the pre-sweeps. With restriction ``P_lᵀ`` the cycle is ``B_l = M̄_l + S_lᵀ
P_l B_{l+1} P_lᵀ S_l`` with ``M̄_l`` the symmetrized smoother (positive definite on the finest level,
semidefinite below) and ``S_l`` the pre-smoother's error propagation; the second term is positive
semidefinite whenever ``B_{l+1}`` is, for any ``P_l`` (full rank or not: a coarse unknown whose
column of ``P_l`` vanished has ``D = 0`` and is not smoothed), and the coarsest solve is ``A_L⁻¹``
or ``A_L⁺``, semidefinite. By induction ``B_0 = M̄_0 + (…) ≻ 0``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyamg
import scipy.sparse as sp
import torch

from neuralsolvers.solvers.multigrid.galerkin import SMOOTHER_MARGIN
from neuralsolvers.solvers.multigrid.hierarchy import (
    MAX_COARSE_DIRECT,
    Level,
    MultilevelHierarchy,
    SetupClock,
    check_coarsest,
    seeded_pyamg,
)
from neuralsolvers.solvers.multigrid.sparse_products import (
    GalerkinPlan,
    PatternMatrix,
)
from neuralsolvers.solvers.operators import canonical_csr, check_sparse_spd
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.system import normal_device
from neuralsolvers.solvers.types import DeviceLike

__all__ = [
    "COARSENINGS",
    "CoarseningPlan",
    "LearnedAMGPreconditioner",
    "LevelGraph",
    "coarsening_plan",
    "scipy_csr",
]

COARSENINGS = {
    "smoothed_aggregation": pyamg.smoothed_aggregation_solver,
    "ruge_stuben": pyamg.ruge_stuben_solver,
}
WEIGHT_FLOOR = 0.01  # the smallest ℓ1-Jacobi weight: a saturated network still smooths (B stays definite in floating point)

Network = Callable[["LevelGraph"], tuple[torch.Tensor | None, torch.Tensor | None]]




@dataclass(eq=False)
class CoarseningPlan:
    """The classical hierarchy of one matrix that a learned AMG keeps: PyAMG's prolongations per level.

    Attributes:
        method: ``"smoothed_aggregation"`` or ``"ruge_stuben"``.
        matrices: PyAMG's classical operators ``A_l`` (canonical CSR), finest first (``L + 1`` of them;
            the cycle reads only the finest, the others are the classical reference).
        prolongations: PyAMG's ``P⁰_l`` (canonical CSR), ``L`` of them.
        products: the symbolic Galerkin products per level (made when training first needs them).
    """

    method: str
    matrices: list[sp.csr_matrix]
    prolongations: list[sp.csr_matrix]
    products: dict[tuple[int, str], GalerkinPlan] = field(default_factory=dict)

    def galerkin(self, level: int, device: torch.device) -> GalerkinPlan:
        """The symbolic ``P_lᵀ A_l P_l`` of ``level`` with index arrays on ``device`` (cached); ``A_l``'s
        pattern is the finest matrix's on level 0, below it the structural pattern of the product above
        (which a learned ``P`` fills: SciPy's classical products drop entries that cancel)."""
        key = (level, str(device))
        if key not in self.products:
            if level == 0:
                pattern = self.matrices[0]
            else:
                above = self.galerkin(level - 1, device).coarse
                pattern = sp.csr_matrix((np.ones(above.nnz), above.indices.numpy(), above.indptr.numpy()), shape=above.shape)
            self.products[key] = GalerkinPlan(pattern, self.prolongations[level], device)
        return self.products[key]


def coarsening_plan(
    A: sp.spmatrix | sp.sparray | torch.Tensor, method: str = "smoothed_aggregation", max_levels: int = 10, max_coarse: int = 100,
    near_nullspace: np.ndarray | None = None, **options: Any,
) -> CoarseningPlan:  # fmt: skip
    """PyAMG's classical hierarchy of ``A`` (checked SPD-like first), as a ``CoarseningPlan``; deterministic
    (PyAMG's random start vectors are drawn from a fixed seed, the caller's NumPy state restored).

    Args:
        A: sparse SPD ``(n, n)`` (SciPy, or a torch tensor).
        method: a key of ``COARSENINGS``.
        max_levels: PyAMG's limits on the hierarchy.
        max_coarse: see `max_levels`.
        near_nullspace: smoothed aggregation's ``B`` ``(n, k)`` (e.g. rigid-body modes); default constants.
        **options: further keyword arguments of the PyAMG builder (e.g. ``strength``).

    Raises:
        ValueError: unknown method, ``A`` fails ``check_sparse_spd``, or PyAMG's interpolation has
            non-finite weights (Ruge–Stüben's classical interpolation divides by zero on some matrices,
            e.g. a 3D cube with mixed boundaries and binary κ at 342k unknowns).
    """
    if method not in COARSENINGS:
        raise ValueError(f"coarsening must be one of {sorted(COARSENINGS)}, got {method!r}")
    matrix = check_sparse_spd(scipy_csr(A))
    if near_nullspace is not None:
        if method != "smoothed_aggregation":
            raise ValueError("a near null space (B) is taken by smoothed aggregation only")
        options["B"] = np.asarray(near_nullspace, dtype=np.float64)
    solver = seeded_pyamg(COARSENINGS[method], matrix, max_levels=max_levels, max_coarse=max_coarse, presmoother=None, postsmoother=None, **options)
    prolongations = [canonical_csr(level.P) for level in solver.levels[:-1]]
    for index, prolongation in enumerate(prolongations):
        if not np.all(np.isfinite(prolongation.data)):
            raise ValueError(f"PyAMG's {method} coarsening gave non-finite interpolation weights on level {index} "
                             f"({prolongation.shape[0]} unknowns; its interpolation divides by zero on this matrix): "
                             "try coarsening='smoothed_aggregation'")  # fmt: skip
    return CoarseningPlan(method, [matrix] + [canonical_csr(level.A) for level in solver.levels[1:]], prolongations)


@dataclass(frozen=True, eq=False)
class LevelGraph:
    """What a learned AMG's network reads on one level: the matrix graph and the classical prolongation.

    Attributes:
        rows: ``(nnz,)`` row of every stored entry of ``A_l`` (int64, CSR order).
        columns: ``(nnz,)`` its column.
        values: ``(nnz,)`` its value (units of ``A``; differentiable while training).
        size: ``n_l``.
        p_rows: ``(nnz_P,)`` fine row of every stored entry of ``P⁰_l``.
        p_columns: ``(nnz_P,)`` its coarse column.
        p_values: ``(nnz_P,)`` PyAMG's classical value (dimensionless).
        coarse_size: ``n_{l+1}``.
        level: the level's index (0 finest).
    """

    rows: torch.Tensor
    columns: torch.Tensor
    values: torch.Tensor
    size: int
    p_rows: torch.Tensor
    p_columns: torch.Tensor
    p_values: torch.Tensor
    coarse_size: int
    level: int


def _index(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(array, dtype=torch.int64).to(device)


def _csr_rows(indptr: torch.Tensor) -> torch.Tensor:
    return torch.repeat_interleave(
        torch.arange(indptr.numel() - 1, device=indptr.device), indptr.diff()
    )


@dataclass(eq=False)
class _Level:
    A: PatternMatrix  # (n, n)
    P: PatternMatrix  # (n, n_c)
    R: PatternMatrix  # (n_c, n), Pᵀ
    inverse_weights: torch.Tensor  # (n, sweeps): w / D_ℓ1 per sweep, 0 where D_ℓ1 = 0
    smoother_weights: torch.Tensor  # (n, sweeps): w


class LearnedAMGPreconditioner(Preconditioner):
    """One learned AMG V-cycle as a preconditioner (the construction and the SPD argument: module docstring).

    Args:
        A: sparse SPD matrix ``(n, n)`` (SciPy, or a torch sparse tensor).
        network: ``LevelGraph → (z, y)`` raw numbers per unknown ``(n_l,)`` or ``(n_l, sweeps)`` and per stored entry of
            ``P⁰_l`` ``(nnz_P,)`` (either may be None: not learned); None: the classical cycle.
        plan: the matrix's ``CoarseningPlan`` (default: made here, timed as "coarsening").
        coarsening: PyAMG's method when the plan is made here.
        omega: ℓ1-Jacobi weight of the classical smoother on the finest level, in ``(0.01, 1.99)``:
            one for every sweep, or one per sweep (the post-sweeps take them in reverse order).
        coarse_omega: the same on the coarser levels (None: ``omega``); over-relaxing there (1.9
            below a finest-level 1.0) saved 8% of the CG iterations on finite-element systems.
        sweeps: smoothing sweeps before and after the coarse correction (≥ 1).
        interpolation_range: the learned factors on ``P⁰`` lie in ``1 ± interpolation_range`` (in ``[0, 1)``).
        differentiable: keep the graph to the network's weights (training); the Galerkin products
            then run through ``sparse_products``.
        dtype: of the hierarchy (default ``A``'s; float64 for SciPy input); e.g. float32 inside a float64 solve.
        device: of the hierarchy (default ``A``'s; the CPU for SciPy input).
        max_levels: PyAMG's limits when the plan is made here.
        max_coarse: see `max_levels`.
        max_coarse_direct: the most unknowns the densely factored coarsest level may have.
        near_nullspace: smoothed aggregation's ``B`` when the plan is made here.

    Attributes:
        plan: the ``CoarseningPlan``.
        hierarchy: the levels as a ``MultilevelHierarchy`` (complexities, level table with the set-up in parts).
        setup_seconds: wall seconds of the set-up per part (``SetupClock``).

    Shapes:
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` in the units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x``.
    """

    def __init__(
        self,
        A: Any,
        network: Network | None = None,
        *,
        plan: CoarseningPlan | None = None,
        coarsening: str = "smoothed_aggregation",
        omega: float | Sequence[float] = 1.0,
        coarse_omega: float | Sequence[float] | None = None,
        sweeps: int = 1,
        interpolation_range: float = 0.5,
        differentiable: bool = False,
        dtype: torch.dtype | None = None,
        device: DeviceLike | None = None,
        max_levels: int = 10,
        max_coarse: int = 100,
        max_coarse_direct: int = MAX_COARSE_DIRECT,
        near_nullspace: np.ndarray | None = None,
    ):
        self.omega = self.check_options(omega, sweeps, interpolation_range)
        self.coarse_omega = self.omega if coarse_omega is None else self.check_options(coarse_omega, sweeps, interpolation_range)
        self.dtype, self.device = _dtype_and_device(A, dtype, device)
        self.clock = SetupClock(self.device)
        self.sweeps, self.interpolation_range = int(sweeps), float(interpolation_range)
        self.differentiable = differentiable
        fresh = plan is None
        if fresh:
            with self.clock.part("coarsening"):
                plan = coarsening_plan(
                    scipy_csr(A), coarsening, max_levels, max_coarse, near_nullspace
                )
        self.plan = plan
        # a SciPy A's values in canonical order: the checked copy the fresh plan made, else canonicalized here
        values = _matrix_values(A, self.dtype, self.device, plan.matrices[0] if fresh else None)
        self.shape = plan.matrices[0].shape
        check_coarsest(plan.matrices[-1].shape[0], max_coarse_direct)
        self._levels: list[_Level] = []
        self._hierarchy: MultilevelHierarchy | None = None
        with torch.set_grad_enabled(differentiable):
            self._build(values, network)

    @staticmethod
    @staticmethod
    def check_options(omega: float | Sequence[float], sweeps: int, interpolation_range: float) -> list[float]:
        """The smoother weight of every sweep (``omega`` repeated, or one per sweep) after refusing a
        weight outside ``(0.01, 1.99)``, a list of another length, no sweeps, or a factor range outside
        ``[0, 1)`` (one line each)."""
        weights = [float(omega)] * max(sweeps, 1) if isinstance(omega, int | float) else [float(value) for value in omega]
        if sweeps < 1 or not 0 <= interpolation_range < 1:
            raise ValueError(f"need sweeps ≥ 1 and 0 ≤ interpolation_range < 1; got {sweeps} and {interpolation_range}")
        if len(weights) != sweeps or not all(WEIGHT_FLOOR < weight < SMOOTHER_MARGIN for weight in weights):
            raise ValueError(f"omega must be one weight or one per sweep ({sweeps}), each in ({WEIGHT_FLOOR}, {SMOOTHER_MARGIN}); got {omega}")
        return weights

    def _build(self, fine_values: torch.Tensor, network: Network | None) -> None:
        fine = self.plan.matrices[0]
        indptr, columns, values = _index(fine.indptr, self.device), _index(fine.indices, self.device), fine_values
        if values.numel() != fine.nnz:
            raise ValueError(f"A's torch CSR tensor stores {values.numel()} entries but its canonical form {fine.nnz}: "
                             "give it with sorted column indices and no duplicates (e.g. from a SciPy matrix)")  # fmt: skip
        biases = []  # (sweeps,) on the finest level and below it: w = ω at z = 0
        for omega in (self.omega, self.coarse_omega):
            share = (torch.tensor(omega, dtype=self.dtype, device=self.device) - WEIGHT_FLOOR) / (SMOOTHER_MARGIN - WEIGHT_FLOOR)
            biases.append(torch.log(share / (1 - share)))
        for index, prolongation in enumerate(self.plan.prolongations):
            size = prolongation.shape[0]
            rows = _csr_rows(indptr)
            p_indptr, p_columns = _index(prolongation.indptr, self.device), _index(prolongation.indices, self.device)
            p_values = torch.as_tensor(prolongation.data, dtype=self.dtype, device=self.device)
            smoother_raw = interpolation_raw = None
            if network is not None:
                with self.clock.part("network"):
                    graph = LevelGraph(rows, columns, values, size, _csr_rows(p_indptr), p_columns, p_values, prolongation.shape[1], index)
                    smoother_raw, interpolation_raw = network(graph)
            with self.clock.part("Galerkin products"):
                if interpolation_raw is not None:
                    p_values = p_values * (1 + self.interpolation_range * torch.tanh(interpolation_raw.to(self.dtype)))
                raw = torch.zeros(size, 1, dtype=self.dtype, device=self.device) if smoother_raw is None else smoother_raw.to(self.dtype).reshape(size, -1)
                weights = WEIGHT_FLOOR + (SMOOTHER_MARGIN - WEIGHT_FLOOR) * torch.sigmoid(raw + biases[min(index, 1)])  # (n, sweeps)
                l1 = torch.zeros(size, dtype=self.dtype, device=self.device).index_add_(0, rows, values.abs())
                inverse = torch.where(l1[:, None] > 0, weights / torch.where(l1 > 0, l1, 1)[:, None], 0)
                A_l = PatternMatrix(indptr, columns, values, (size, size), self.differentiable)
                P_l = PatternMatrix(p_indptr, p_columns, p_values, prolongation.shape, self.differentiable)
                if interpolation_raw is None and not values.requires_grad:  # A_l and P_l as PyAMG's: so is their product
                    R_l, (indptr, columns, values) = self._classical_galerkin(index, P_l)
                else:
                    R_l, (indptr, columns, values) = self._galerkin(index, A_l, P_l, values, p_values)
            self._levels.append(_Level(A_l, P_l, R_l, inverse, weights))
        with self.clock.part("coarsest factorization"):
            self._factor(indptr, columns, values)

    def _galerkin(
        self, index: int, A_l: PatternMatrix, P_l: PatternMatrix, a_values: torch.Tensor, p_values: torch.Tensor
    ) -> tuple[PatternMatrix, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """``P_lᵀ`` and the next level's CSR ``(indptr, indices, values)``: the symbolic product's
        pattern while training (differentiable), torch's sparse product's otherwise."""
        if self.differentiable:
            galerkin = self.plan.galerkin(index, self.device)
            indptr, columns = galerkin.transposed
            R_l = PatternMatrix(indptr.to(self.device), columns.to(self.device), p_values[galerkin.transpose_order], P_l.shape[::-1], True)
            coarse = galerkin.coarse
            return R_l, (coarse.indptr.to(self.device), coarse.indices.to(self.device), galerkin.values(a_values, p_values))
        transposed = P_l.csr.t().to_sparse_csr()
        R_l = PatternMatrix(transposed.crow_indices(), transposed.col_indices(), transposed.values(), P_l.shape[::-1])
        product = torch.sparse.mm(transposed, torch.sparse.mm(A_l.csr, P_l.csr))
        return R_l, (product.crow_indices().long(), product.col_indices().long(), product.values())

    def _classical_galerkin(self, index: int, P_l: PatternMatrix) -> tuple[PatternMatrix, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """``P_lᵀ`` and the next level's CSR ``(indptr, indices, values)`` where the level's operator and
        prolongation are PyAMG's (no learned interpolation, no gradient to ``A``): PyAMG's own Galerkin
        product, which the plan holds, in the hierarchy's dtype."""
        transposed = P_l.csr.t().to_sparse_csr()
        R_l = PatternMatrix(transposed.crow_indices(), transposed.col_indices(), transposed.values(), P_l.shape[::-1], self.differentiable)
        coarse = self.plan.matrices[index + 1]
        values = torch.as_tensor(coarse.data, dtype=self.dtype, device=self.device)
        return R_l, (_index(coarse.indptr, self.device), _index(coarse.indices, self.device), values)

    def _factor(self, indptr: torch.Tensor, columns: torch.Tensor, values: torch.Tensor) -> None:
        size = indptr.numel() - 1
        self._coarsest_nonzeros = values.numel()
        dense = torch.zeros(size, size, dtype=torch.float64, device=self.device)
        dense = dense.index_put((_csr_rows(indptr), columns), values.to(torch.float64), accumulate=True)
        self.coarsest_operator = dense
        factor, info = torch.linalg.cholesky_ex(dense)
        if int(info) == 0:
            self._coarse_solve = lambda b: torch.cholesky_solve(b.to(torch.float64), factor).to(self.dtype)
            self.coarsest_solve = f"dense Cholesky ({size} unknowns)"
            return
        if self.differentiable:
            raise ValueError(f"the coarsest level ({size} unknowns) is not positive definite, so it cannot be "
                             "factored while training (the learned prolongation lost rank)")  # fmt: skip
        inverse = torch.linalg.pinv(dense, hermitian=True)
        self._coarse_solve = lambda b: (inverse @ b.to(torch.float64)).to(self.dtype)
        self.coarsest_solve = f"dense pseudo-inverse ({size} unknowns)"

    def _cycle(self, index: int, b: torch.Tensor) -> torch.Tensor:
        if index == len(self._levels):
            return self._coarse_solve(b)
        level = self._levels[index]
        weights = [level.inverse_weights[:, sweep : sweep + 1] for sweep in range(self.sweeps)]
        x = weights[0] * b
        for weight in weights[1:]:
            x = x + weight * (b - level.A @ x)
        x = x + level.P @ self._cycle(index + 1, level.R @ (b - level.A @ x))
        for weight in reversed(weights):  # the adjoint of the pre-smoother: the cycle stays symmetric
            x = x + weight * (b - level.A @ x)
        return x

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        vector = r.dim() == 1
        z = self._cycle(0, r[:, None] if vector else r)
        return z[:, 0] if vector else z

    @property
    def setup_seconds(self) -> dict[str, float]:
        """Wall seconds of the set-up per part: coarsening, network, Galerkin products, coarsest factorization."""
        return dict(self.clock.seconds)

    @property
    def hierarchy(self) -> MultilevelHierarchy:
        """The cycle's levels (built on first access; detached CPU copies of the learned parts)."""
        if self._hierarchy is None:
            records = []
            for level in self._levels:
                weights = level.smoother_weights.detach()
                describe = f"ℓ1-Jacobi (w {weights.min():.2f}–{weights.max():.2f}) ×{self.sweeps}"
                records.append(Level(level.A.csr.detach(), level.A.shape[0], level.A.values.numel(), smoother=describe,
                                     smoother_weights=level.inverse_weights.detach().cpu(),
                                     prolongation=level.P.csr.detach().cpu(), restriction=level.R.csr.detach().cpu()))  # fmt: skip
            records.append(Level(self.coarsest_operator, self.coarsest_operator.shape[0], self._coarsest_nonzeros, smoother="direct"))
            self._hierarchy = MultilevelHierarchy(records, self.coarsest_solve, self.setup_seconds)
        return self._hierarchy

    @property
    def levels(self) -> list[Level]:
        """``hierarchy.levels``, finest first."""
        return self.hierarchy.levels

    def __repr__(self) -> str:
        return f"LearnedAMGPreconditioner({self.plan.method}, device={self.device})\n{self.hierarchy.table()}"


def scipy_csr(A: Any) -> sp.csr_matrix:
    """``A`` (SciPy, or a torch sparse/dense tensor) as SciPy CSR in float64."""
    if sp.issparse(A):
        return sp.csr_matrix(A, dtype=np.float64)
    if isinstance(A, torch.Tensor):
        matrix = A.detach().cpu()
        if matrix.layout == torch.strided:
            return sp.csr_matrix(matrix.double().numpy())
        matrix = matrix.to_sparse_csr() if matrix.layout != torch.sparse_csr else matrix
        return sp.csr_matrix(
            (
                matrix.values().double().numpy(),
                matrix.col_indices().numpy(),
                matrix.crow_indices().numpy(),
            ),
            shape=tuple(matrix.shape),
        )
    raise TypeError(
        f"a learned AMG takes a SciPy sparse matrix or a torch tensor, got {type(A).__name__}"
    )


def _dtype_and_device(A: Any, dtype: torch.dtype | None, device: DeviceLike | None) -> tuple[torch.dtype, torch.device]:
    """The hierarchy's dtype and device: the given ones, else a torch ``A``'s, else float64 on the CPU."""
    if isinstance(A, torch.Tensor):
        return dtype or A.dtype, normal_device(device or A.device)
    return dtype or torch.float64, normal_device(device or "cpu")


def _matrix_values(A: Any, dtype: torch.dtype, device: torch.device, canonical: sp.csr_matrix | None = None) -> torch.Tensor:
    """``A``'s values in canonical CSR order, in ``dtype`` on ``device``: a torch CSR tensor's own
    (differentiable when they require grad; they must be canonical already), else those of
    ``canonical`` (``A`` in canonical CSR, when the caller has it) or of ``A`` canonicalized here."""
    if isinstance(A, torch.Tensor) and A.layout == torch.sparse_csr:
        return A.values().to(dtype=dtype, device=device)
    canonical = canonical_csr(scipy_csr(A)) if canonical is None else canonical
    return torch.as_tensor(canonical.data, dtype=dtype, device=device)
