"""SOR and SSOR: stationary sweeps, and SSOR as a CG preconditioner, in two orderings.

With ``A = D + L + U`` (diagonal, strictly lower and strictly upper parts in the chosen ordering of
the unknowns), one SOR sweep is ``x ← x + (D/ω + L)⁻¹ (b − Ax)``; SSOR follows it with the backward
sweep ``x ← x + (D/ω + U)⁻¹ (b − Ax)``. The SSOR preconditioner (Khodak et al. 2024 use it in CG) is

    M = ω/(2 − ω) · (D/ω + L) D⁻¹ (D/ω + U),   M⁻¹ r = (2 − ω)/ω · (D/ω + U)⁻¹ D (D/ω + L)⁻¹ r,

one symmetric sweep from zero; SPD for SPD ``A`` and ``0 < ω < 2``.

Orderings (how the sweep is parallelized):

- ``lexicographic``: the natural order of the unknowns: the textbook sequential sweep, the reference.
  Its triangular solves are SuperLU's compiled sweeps on the CPU and level-scheduled on a device
  (``TriangularSolver``; ``2N − 1`` wavefronts on an ``N × N``
  5-point grid).
- ``redblack``: the unknowns grouped by colour so that no two of one colour are coupled; a sweep is one
  vectorized update per colour, in torch on any device. The matrix graph of a 5-point (7-point)
  stencil is bipartite: two colours, red-black. Other graphs get a greedy colouring (more colours).
  Reordering changes the method: for a 5-point stencil SOR keeps its rate and optimal ω (the red-black
  matrix is consistently ordered, Young's theory), but SSOR as a preconditioner does not (see
  BENCHMARKS.md for what that costs in CG iterations).

The residual ``b − Ax`` is recomputed after every half sweep, so convergence is declared on the true
residual (one operator product per half sweep on top of the triangular solve).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import torch

from neuralsolvers.solvers.classical.triangular import TriangularSolver
from neuralsolvers.solvers.operators import Operator, as_operator, assembled, scipy_to_torch_csr
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.result import SolverResult, SolveState
from neuralsolvers.solvers.system import check_preconditioner, prepare_system
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike

__all__ = ["ORDERINGS", "SSOR", "SORSplitting", "matrix_colors", "sor"]

ORDERINGS = ("lexicographic", "redblack")


def matrix_colors(matrix: sp.spmatrix) -> np.ndarray:
    """Colour ``(n,)`` int of each unknown such that coupled unknowns differ in colour.

    Two colours (a BFS parity) when the matrix graph is bipartite, as for 5- and 7-point stencils;
    otherwise a greedy colouring in natural order (at most one more colour than the largest degree).
    """
    graph = sp.csr_matrix(matrix, copy=True)
    graph.setdiag(0)
    graph.eliminate_zeros()
    graph = (abs(graph) + abs(graph.T)).tocsr()
    n = graph.shape[0]
    colors = np.full(n, -1, dtype=np.int64)
    if graph.nnz == 0:
        return np.zeros(n, dtype=np.int64)
    _, component = csgraph.connected_components(graph, directed=False)
    for root in np.unique(component, return_index=True)[1]:
        order, parent = csgraph.breadth_first_order(graph, root, directed=False)
        colors[root] = 0
        for node in order[1:]:  # BFS order: a node's parent is coloured before it
            colors[node] = 1 - colors[parent[node]]
    rows = np.repeat(np.arange(n), np.diff(graph.indptr))
    if not np.any(colors[rows] == colors[graph.indices]):
        return colors
    colors[:] = -1
    for node in range(n):
        taken = colors[graph.indices[graph.indptr[node] : graph.indptr[node + 1]]]
        free = np.setdiff1d(np.arange(len(taken) + 1), taken)
        colors[node] = free[0]
    return colors


class SORSplitting:
    """The two triangular solves of SOR/SSOR for one matrix, ordering and ω (or one ω per column).

    Args:
        A: square matrix or assemblable operator with a nonzero diagonal (SciPy sparse, torch, or a
            ``neuralsolvers.solvers.Operator`` with ``to_scipy``).
        omega: relaxation parameter in (0, 2), or a sequence of ``k`` of them: column ``j`` of an
            ``(n, k)`` right-hand side is then relaxed with ``omega[j]`` (all ω tried in one batched
            solve, e.g. to tabulate the cost of every ω).
        ordering: ``lexicographic`` or ``redblack`` (see the module docstring).
        backend: of the lexicographic solves: ``auto``, ``superlu`` (CPU) or ``levels``.
        colors: ``(n,)`` colour of each unknown for ``redblack`` (default ``matrix_colors``; pass
            it to reuse one colouring across a sequence of matrices with the same pattern).
        dtype: of the vectors (default those of ``A``; SciPy input: float64 on the CPU).
        device: see `dtype`.

    Attributes:
        operator: ``A`` as a torch operator (for residuals); ``diagonal``: ``(n,)``;
        omega: ``(m,)`` tensor (``m`` = 1 or ``k``);
        symmetric: whether ``A`` equals its transpose (then SSOR is SPD for positive diagonals).

    Shapes:
        - **input:** ``lower_solve(r)``, ``upper_solve(r)``: ``(n,)`` or ``(n, k)`` (with one ω
          per column, ``k`` must be their number).
        - **output:** the same shape.
    """

    def __init__(self, A: OperatorLike, omega: float | Sequence[float] = 1.0, ordering: str = "lexicographic", backend: str = "auto", colors: np.ndarray | None = None, dtype: torch.dtype | None = None, device: DeviceLike | None = None):
        omegas = np.atleast_1d(np.asarray(omega, dtype=np.float64))
        if omegas.ndim != 1 or len(omegas) == 0 or not np.all((omegas > 0) & (omegas < 2)):
            raise ValueError(f"omega must lie in (0, 2) for SOR to converge on SPD systems, got {omega}")
        if ordering not in ORDERINGS:
            raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
        matrix, self.dtype, self.device = assembled(A, dtype, device)
        if matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"the matrix must be square, got shape {matrix.shape}")
        if not np.all(np.isfinite(matrix.data)):
            raise ValueError("the matrix has non-finite entries (NaN or inf): SOR's triangular sweeps need finite ones")
        diagonal = matrix.diagonal()
        if np.any(diagonal == 0):
            raise ValueError("SOR needs a nonzero diagonal")
        self.ordering = ordering
        self.omega = torch.as_tensor(omegas, dtype=self.dtype, device=self.device)
        self.operator: Operator = as_operator(A, dtype=self.dtype, device=self.device)
        self.diagonal = torch.as_tensor(diagonal, dtype=self.dtype, device=self.device)
        self.symmetric = abs(matrix - matrix.T).max() == 0
        self.shape = matrix.shape
        if ordering == "lexicographic":
            lower, upper = sp.tril(matrix, -1), sp.triu(matrix, 1)
            solver = lambda triangle, is_lower: TriangularSolver(triangle, is_lower, backend, self.dtype, self.device)  # noqa: E731
            self._lower = [solver(sp.diags(diagonal / w) + lower, True) for w in omegas]
            self._upper = None if self.symmetric else [solver(sp.diags(diagonal / w) + upper, False) for w in omegas]
        else:
            colors = matrix_colors(matrix) if colors is None else np.asarray(colors)
            if colors.shape != (matrix.shape[0],):
                raise ValueError(f"colors must have shape ({matrix.shape[0]},), got {colors.shape}")
            off_diagonal = (matrix - sp.diags(diagonal)).tocsr()
            self.num_colors = int(colors.max()) + 1
            self._blocks = []
            for color in range(self.num_colors):
                rows = np.flatnonzero(colors == color)
                block = off_diagonal[rows]
                if block[:, rows].nnz:
                    raise ValueError(f"colour {color} has coupled unknowns: not a valid colouring of the matrix graph")
                block = scipy_to_torch_csr(block, self.dtype, self.device)
                self._blocks.append((torch.as_tensor(rows, device=self.device), block))

    def columns(self, r: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """``r`` as ``(n, k)`` (and whether it was a vector), checked against the number of ω."""
        vector = r.dim() == 1
        rhs = r[:, None] if vector else r
        if len(self.omega) > 1 and rhs.shape[1] != len(self.omega):
            raise ValueError(f"{len(self.omega)} values of omega need {len(self.omega)} right-hand-side columns, got {tuple(r.shape)}")
        return rhs, vector

    def _triangular(self, solvers: list[TriangularSolver], r: torch.Tensor, transpose: bool) -> torch.Tensor:
        rhs, vector = self.columns(r)
        if len(solvers) == 1:
            y = solvers[0].solve(rhs, transpose=transpose)
        elif solvers[0].backend == "superlu":  # one host round trip for all columns
            columns = rhs.detach().cpu().double().numpy()
            host = np.stack([solver.solve_array(columns[:, j], transpose) for j, solver in enumerate(solvers)], axis=1)
            y = torch.as_tensor(host, dtype=self.dtype, device=self.device)
        else:
            y = torch.stack([solver.solve(rhs[:, j], transpose=transpose) for j, solver in enumerate(solvers)], dim=1)
        return y[:, 0] if vector else y

    def _sweep(self, r: torch.Tensor, blocks: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Colour by colour: ``y_c = ω D_c⁻¹ (r_c − A_c,off y)`` (the unknowns of ``c`` are uncoupled)."""
        rhs, vector = self.columns(r)
        y = torch.zeros_like(rhs)
        scale = self.omega[None, :] / self.diagonal[:, None]
        for rows, block in blocks:
            y[rows] = (rhs[rows] - torch.sparse.mm(block, y)) * scale[rows]
        return y[:, 0] if vector else y

    def lower_solve(self, r: torch.Tensor) -> torch.Tensor:
        """``(D/ω + L)⁻¹ r``: the forward sweep's correction."""
        if self.ordering == "lexicographic":
            return self._triangular(self._lower, r, transpose=False)
        return self._sweep(r, self._blocks)

    def upper_solve(self, r: torch.Tensor) -> torch.Tensor:
        """``(D/ω + U)⁻¹ r``: the backward sweep's correction."""
        if self.ordering == "lexicographic":
            if self._upper is None:
                return self._triangular(self._lower, r, transpose=True)
            return self._triangular(self._upper, r, transpose=False)
        return self._sweep(r, self._blocks[::-1])


def sor(
    A: OperatorLike | SORSplitting,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: None = None,
    callback: Callable[[ArrayLike], None] | None = None,
    omega: float | Sequence[float] = 1.0,
    symmetric: bool = False,
    ordering: str = "lexicographic",
    backend: str = "auto",
    colors: np.ndarray | None = None,
    device: DeviceLike | None = None,
) -> SolverResult:
    """Solve ``Ax = b`` by SOR (``symmetric=True``: SSOR), batched over right-hand-side columns.

    ``ω = 1`` is Gauss–Seidel (symmetric Gauss–Seidel with ``symmetric``). One iteration is one sweep
    (forward, or forward then backward). Stops when ``‖b − Ax‖ ≤ max(rtol·‖b‖, atol)`` on the
    recomputed true residual; a non-finite residual stops the column with ``info = −2``.
    Successive over-relaxation as in Saad, *Iterative Methods for Sparse Linear Systems* (2nd ed.,
    SIAM, 2003, ch. 4); with ``A = D + L + U``:

        x ← x + (D/ω + L)⁻¹ (b − Ax)    (forward sweep)
        x ← x + (D/ω + U)⁻¹ (b − Ax)    (backward sweep, with ``symmetric``)

    Args:
        A: see ``SORSplitting`` (or a prebuilt splitting, whose ω and ordering are then used).
        b: ``(n,)`` or ``(n, k)``.
        x0: initial guess shaped like ``b`` (default zero).
        rtol: as in ``cg``.
        atol: see `rtol`.
        maxiter: see `rtol`.
        callback: see `rtol`.
        device: see `rtol`.
        M: stationary SOR takes no preconditioner (the argument exists for the one signature of
            every solver); use ``SSOR`` inside ``cg`` for the preconditioned method.
        omega: see ``SORSplitting``.
        ordering: see `omega`.
        backend: see `omega`.
        colors: see `omega`.

    Returns:
        The [`SolverResult`][neuralsolvers.solvers.result.SolverResult] (``residuals``: relative
            residual per sweep).

    Shapes:
        - **A:** ``(n, n)``, with a nonzero diagonal.
        - **b:** ``(n,)``, or ``(n, k)`` for ``k`` right-hand sides solved at once; in the units
          of ``A x``.
        - **x0:** shaped like ``b``, in the units of ``x``.
        - **output:** ``result.x`` shaped like ``b`` and of its kind (units of ``x``);
          ``result.residuals`` ``(iterations + 1,)`` or ``(iterations + 1, k)``, relative
          residuals ``‖b − Ax‖ / ‖b‖`` (dimensionless).
    """
    if M is not None:
        raise TypeError("sor takes no preconditioner: use cg(A, b, M=SSOR(A, omega)) for SSOR-preconditioned CG")
    start = time.perf_counter()
    system = prepare_system(A.operator if isinstance(A, SORSplitting) else A, b, x0, device)
    if isinstance(A, SORSplitting):
        splitting = A
        check_preconditioner(splitting, system.A, system.dtype, system.device)
    else:
        source = A if sp.issparse(A) else system.A  # SciPy input is assembled as it is
        splitting = SORSplitting(source, omega, ordering, backend, colors, system.dtype, system.device)
        system.A = splitting.operator
    run = SolveState(system, rtol, atol, maxiter, start)
    zero = torch.zeros_like(run.x)
    for _ in range(run.maxiter):
        if not bool(run.active.any()):
            break
        active = run.active
        run.x = run.x + torch.where(active, splitting.lower_solve(run.r), zero)
        run.r = run.b - run.A @ run.x
        if symmetric:
            run.x = run.x + torch.where(active, splitting.upper_solve(run.r), zero)
            run.r = run.b - run.A @ run.x
        run.end_iteration(active, callback)
    return run.result()


class SSOR(Preconditioner):
    """SSOR preconditioner ``M⁻¹ r = (2 − ω)/ω · (D/ω + U)⁻¹ D (D/ω + L)⁻¹ r`` for ``cg``.

    Symmetric successive over-relaxation as a preconditioner: Saad, *Iterative Methods for Sparse
    Linear Systems* (2nd ed., SIAM, 2003, ch. 4 and 10). SSOR-preconditioned CG is one of the
    solvers whose ω Khodak, Chow, Balcan and Talwalkar, "Learning to Relax: Setting Solver
    Parameters Across a Sequence of Linear System Instances" (ICLR 2024), learn to set. With
    ``A = D + L + U``:

        M = ω/(2 − ω) · (D/ω + L) D⁻¹ (D/ω + U),

    SPD for SPD ``A`` and ``0 < ω < 2``. ``A`` must have a positive diagonal. ``linear_spd`` holds
    when ``A`` is symmetric (plain ``cg`` refuses the preconditioner of a nonsymmetric matrix). With
    one ω per column, column ``j`` is preconditioned with ``omega[j]`` (still SPD column by column,
    as ``cg`` needs: its columns never mix).

    Args:
        A: matrix or assemblable operator with a positive diagonal, or a prebuilt ``SORSplitting``
            (whose ω, ordering and backend are then used).
        omega: relaxation parameter in (0, 2), or one per right-hand-side column.
        ordering: ``lexicographic`` or ``redblack`` (as in ``SORSplitting``).
        backend: of the lexicographic triangular solves (as in ``SORSplitting``).
        colors: colouring for ``redblack`` (as in ``SORSplitting``).
        dtype: of the vectors (default those of ``A``).
        device: see `dtype`.

    Shapes:
        - **A:** ``(n, n)``.
        - **input:** ``apply(r)``: residual ``(n,)`` or ``(n, k)`` (``k`` columns at once), in the
          units of ``A x``.
        - **output:** ``z ≈ A⁻¹ r``, shaped like ``r``, in the units of ``x``.
    """

    def __init__(self, A: OperatorLike | SORSplitting, omega: float | Sequence[float] = 1.0, ordering: str = "lexicographic", backend: str = "auto", colors: np.ndarray | None = None, dtype: torch.dtype | None = None, device: DeviceLike | None = None):
        self.splitting = A if isinstance(A, SORSplitting) else SORSplitting(A, omega, ordering, backend, colors, dtype, device)
        if not bool((self.splitting.diagonal > 0).all()):
            raise ValueError("the SSOR preconditioner needs a positive diagonal (is A symmetric positive definite?)")
        self.omega = self.splitting.omega
        self.linear_spd = bool(self.splitting.symmetric)
        self.shape, self.dtype, self.device = self.splitting.shape, self.splitting.dtype, self.splitting.device

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        rhs, vector = self.splitting.columns(r)
        y = self.splitting.lower_solve(rhs) * self.splitting.diagonal[:, None]
        z = self.splitting.upper_solve(y) * ((2 - self.omega) / self.omega)[None, :]
        return z[:, 0] if vector else z
