"""Learned incomplete Cholesky (NeuralIF): a graph network on the pattern of ``A`` corrects the
IC(0) factor, ``A ≈ L Lᵀ`` with ``L`` on the pattern of ``tril(A)``, trained without solves.

Everything happens in the Jacobi-scaled matrix ``Â = D^{-1/2} A D^{-1/2}`` (``D = diag(A)``, unit
diagonal) and ``L = D^{1/2} L̂``: preconditioned CG on ``A`` with ``M = L Lᵀ`` runs exactly as on
``Â`` with ``L̂ L̂ᵀ``, so the inputs, the outputs and the loss are all free of the scale of ``A``.
Applying ``M⁻¹`` is the two compiled triangular solves of ``IncompleteCholesky`` (SuperLU sweeps on
the CPU, level scheduling on a GPU), built from the learned factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch_geometric.utils import scatter

from neuralsolvers.models.registry import register_model
from neuralsolvers.solvers.classical.ic0 import IncompleteCholesky, ic0_factor
from neuralsolvers.solvers.learned.matrix_kind import MATRIX_RECORD
from neuralsolvers.solvers.operators import (
    SparseOperator,
    check_sparse_spd,
    csr_tensor,
    normal_device,
)

__all__ = ["LearnedICPreconditioner", "LearnedIncompleteCholesky"]

NODE_FEATURES = 3  # log row dominance, log(1 + degree), log of the starting factor's diagonal
EDGE_FEATURES = 3  # â_ij, the starting factor's entry, direction (+1 from a lower column, −1 upper)


class LearnedICPreconditioner(IncompleteCholesky):
    """``z = (L Lᵀ)⁻¹ r`` with the factor ``L`` of a ``LearnedIncompleteCholesky`` (its
    ``preconditioner``): ``IncompleteCholesky``'s triangular solves, linear and SPD."""


@dataclass
class _Pattern:
    """What one matrix contributes: its scaling, the factor's pattern, the start and the graph.

    ``lower`` is ``tril(A)``'s CSR pattern (``crow``, ``col``, ``rows``: the row of each entry);
    ``assemble`` the inverse of the concatenation ``(diagonal entries, strict entries)``. Graph:
    ``edge_index`` ``(2, E)`` the off-diagonal entries (source column → target row), ``pairs``
    ``(2, m)`` for each strict entry ``(i, j)`` of ``L`` the edges ``j → i`` and ``i → j``.
    """

    n: int
    dtype: torch.dtype
    device: torch.device
    sqrt_diagonal: torch.Tensor  # (n,)
    crow: torch.Tensor
    col: torch.Tensor
    rows: torch.Tensor
    assemble: torch.Tensor
    start: torch.Tensor  # (nnz(tril A),) the starting L̂, in A's dtype
    start_kind: str  # "ic0" or "gauss_seidel"
    scaled: torch.Tensor  # Â, sparse CSR
    node_attr: torch.Tensor  # (n, NODE_FEATURES) float64
    edge_attr: torch.Tensor  # (E, EDGE_FEATURES) float64
    edge_index: torch.Tensor
    pairs: torch.Tensor


def _as_scipy(
    A: torch.Tensor | sp.spmatrix | sp.sparray,
) -> tuple[sp.csr_matrix, torch.dtype, torch.device]:
    """``A`` as a float64 SciPy CSR with the dtype and device of its torch side, checked."""
    if isinstance(A, torch.Tensor):
        if A.dim() != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
        if A.layout == torch.strided:
            raise TypeError(
                "A must be a torch sparse tensor (CSR) or a SciPy sparse matrix, got a dense tensor"
            )
        if A.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"A must be float32 or float64, got {A.dtype}")
        matrix, dtype, device = SparseOperator(A).to_scipy(), A.dtype, A.device
    elif sp.issparse(A):
        if len(A.shape) != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
        matrix, dtype, device = (
            sp.csr_matrix(A, dtype=np.float64),
            torch.float64,
            torch.device("cpu"),
        )
    else:
        raise TypeError(
            f"A must be a torch sparse CSR tensor or a SciPy sparse matrix, got {type(A).__name__}"
        )
    matrix = check_sparse_spd(matrix)
    return matrix, dtype, normal_device(device)


def _pattern(A: torch.Tensor | sp.spmatrix | sp.sparray) -> _Pattern:
    """Check ``A`` and compute its scaling, starting factor, features and index maps (CPU, once per call)."""
    matrix, dtype, device = _as_scipy(A)
    n = matrix.shape[0]
    matrix = ((matrix + matrix.T) * 0.5).tocsr()  # symmetric to rounding; now exactly, pattern too
    matrix.eliminate_zeros()
    matrix.sort_indices()
    root = np.sqrt(matrix.diagonal())
    scaling = sp.diags(1.0 / root)
    scaled = (scaling @ matrix @ scaling).tocsr()
    scaled.sort_indices()
    try:
        start, start_kind = ic0_factor(scaled), "ic0"
    except ValueError:  # IC(0) breaks down (A SPD but far from an M-matrix): symmetric Gauss–Seidel
        start = (sp.tril(scaled, k=-1) + sp.identity(n)).tocsr()
        start_kind = "gauss_seidel"
    start.sort_indices()
    lower = sp.tril(scaled, format="csr")
    lower.sort_indices()
    same = np.array_equal(start.indptr, lower.indptr) and np.array_equal(
        start.indices, lower.indices
    )
    if not same:  # never: IC(0) and the Gauss–Seidel start keep it
        raise RuntimeError("the starting factor lost the pattern of tril(A)")
    rows = np.repeat(np.arange(n), np.diff(lower.indptr))
    cols = lower.indices
    on_diagonal = rows == cols
    strict = np.flatnonzero(~on_diagonal)
    assemble = np.argsort(np.concatenate([np.flatnonzero(on_diagonal), strict]), kind="stable")

    off = (scaled - sp.diags(scaled.diagonal())).tocsr()
    off.eliminate_zeros()
    off.sort_indices()
    edges = off.nnz
    edge_rows = np.repeat(np.arange(n), np.diff(off.indptr))
    edge_cols = off.indices
    ids = sp.csr_matrix(
        (np.arange(1, edges + 1, dtype=np.float64), edge_cols, off.indptr), shape=(n, n)
    )
    lower_ids = sp.tril(ids, k=-1, format="csr")
    upper_ids = sp.tril(ids.T.tocsr(), k=-1, format="csr")
    lower_ids.sort_indices()
    upper_ids.sort_indices()
    pairs = np.stack([lower_ids.data, upper_ids.data]).astype(np.int64) - 1

    # features: scale-free numbers of Â and of the start, float64 (cast to the network's dtype)
    strict_start = sp.tril(start, k=-1)
    start_symmetric = (strict_start + strict_start.T).tocsr()
    start_edges = np.asarray(start_symmetric[edge_rows, edge_cols]).reshape(-1)
    absolute_sum = np.asarray(abs(off).sum(axis=1)).reshape(-1)
    dominance = -np.log(np.maximum(absolute_sum, np.exp(-5.0)))  # log(â_ii / Σ_j≠i |â_ij|)
    degree = np.log1p(np.diff(off.indptr))
    start_diagonal = np.log(np.maximum(start.diagonal(), np.exp(-10.0)))
    node_attr = np.stack([np.clip(dominance, -5.0, 5.0), degree, start_diagonal], axis=1)
    edge_attr = np.stack(
        [off.data, start_edges, np.where(edge_cols < edge_rows, 1.0, -1.0)], axis=1
    )

    def index(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values, dtype=np.int64), device=device)

    return _Pattern(
        n=n, dtype=dtype, device=device,
        sqrt_diagonal=torch.as_tensor(root, dtype=dtype, device=device),
        crow=index(lower.indptr), col=index(cols), rows=index(rows),
        assemble=index(assemble),
        start=torch.as_tensor(start.data, dtype=dtype, device=device), start_kind=start_kind,
        scaled=csr_tensor(index(scaled.indptr), index(scaled.indices), torch.as_tensor(scaled.data, dtype=dtype, device=device), (n, n)),
        node_attr=torch.as_tensor(node_attr, device=device), edge_attr=torch.as_tensor(edge_attr, device=device),
        edge_index=index(np.stack([edge_cols, edge_rows])), pairs=index(pairs),
    )  # fmt: skip


def _product(
    values: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, X: torch.Tensor
) -> torch.Tensor:
    """``T X`` for the sparse ``T`` with ``T[rows, cols] = values``, as a gather and a scatter: the
    gradient in ``values`` costs O(nnz · k) (backward at n = 8k, k = 4: 0.02 s; through torch's CSR
    product 0.8 s)."""
    return torch.zeros_like(X).index_add_(0, rows, values[:, None] * X[cols])


def _split_linear(
    layer: nn.Linear, parts: list[tuple[torch.Tensor, torch.Tensor | None]]
) -> torch.Tensor:
    """``layer(cat([x[index] for x, index in parts], 1))`` without the wide gathered input: each
    part is multiplied by its slice of the weight first and gathered after (fewer rows: nodes)."""
    out = layer.bias
    start = 0
    for x, index in parts:
        projected = x @ layer.weight[:, start : start + x.shape[1]].T
        out = out + (projected if index is None else projected[index])
        start += x.shape[1]
    return out


def _block(width_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden))


@register_model("learned_ic")
class LearnedIncompleteCholesky(nn.Module):
    """A graph network that corrects the IC(0) factor of a sparse SPD matrix: a learned
    preconditioner for the conjugate gradient method.

    NeuralIF, from Häusner, Öktem and Sjölund, "Neural incomplete factorization: learning
    preconditioners for the conjugate gradient method" (Transactions on Machine Learning Research,
    2024, <https://arxiv.org/abs/2305.16368>): message passing on the graph of ``A`` outputs the
    values of a lower-triangular ``L`` on the pattern of ``tril(A)``, trained to make ``L Lᵀ``
    close to ``A`` by a sketched Frobenius loss, which needs no solve (``training_loss``).

    Here the network works on the Jacobi-scaled ``Â = D^{-1/2} A D^{-1/2}`` (``D = diag(A)``) and
    ``L = D^{1/2} L̂``, with ``L̂_IC0`` the IC(0) factor of ``Â`` (Meijerink and van der Vorst, 1977;
    ``neuralsolvers.solvers.classical.ic0``), ``o`` the network's raw outputs and
    ``c = correction``:

        L̂_ii = s_i · L̂_IC0,ii,   s_i = exp(c · tanh(o_ii / c)),
        L̂_ij = s_i · L̂_IC0,ij · (1 + c · tanh(o_ij / c))   (i > j).

    Each row is scaled by ``s_i ∈ (e^{−c}, e^{c})`` and each entry's ratio to its diagonal,
    ``L̂_ij / L̂_ii``, is IC(0)'s times a factor in ``(1 − c, 1 + c)`` (same sign for ``c < 1``).
    The diagonal of ``L̂`` is positive for any weights, so ``L`` is a nonsingular triangular
    matrix and ``M = L Lᵀ`` is symmetric positive definite (``xᵀ M x = ‖Lᵀ x‖² > 0`` for
    ``x ≠ 0``): plain ``cg`` may use it, trained or not. Bounding the ratios, not the entries, keeps
    the triangular solves as stable as IC(0)'s (entries free to grow against a shrinking diagonal
    make ``L⁻¹`` grow exponentially with the number of levels). The output layers start at zero,
    so the untrained network is exactly IC(0) (up to rounding: IC(0) of ``Â`` scaled back is that
    of ``A``). Where IC(0) breaks down (a pivot ≤ 0: an SPD ``A`` far from an M-matrix) the start
    is symmetric Gauss–Seidel instead, ``L̂ = I + tril(Â, −1)``, still SPD; there
    ``classical_preconditioner`` raises IC(0)'s ``ValueError``.

    The network (small, as NeuralIF's): node features (log row dominance
    ``â_ii / Σ_{j≠i} |â_ij|``, ``log(1 + degree)``, ``log L̂_IC0,ii``) and edge features (``â_ij``,
    ``L̂_IC0`` at the entry, its direction) on the edges of ``A`` in both directions, encoded to
    ``hidden`` channels; ``layers`` residual blocks of edge updates ``e ← e + MLP(h_j, h_i, e)`` and
    node updates ``h ← h + MLP(h, mean of incoming e)``; a linear head reads ``o_ij`` from both
    directed edges of an entry and its two nodes, another ``o_ii`` from the node.

    Args:
        hidden: channels of the node and edge embeddings.
        layers: message-passing blocks (the factor's entries see ``layers + 1`` hops of ``A``).
        correction: bound ``c`` of the learned corrections (> 0; see above).

    Shapes:
        - **A:** ``(n, n)`` sparse SPD: a torch sparse CSR tensor (float32 or float64, any device
          the module is on) or a SciPy sparse matrix (then float64 on the CPU); symmetric to
          ``1e-10`` relative, finite, with a positive diagonal (else ``ValueError``).
        - **factor(A):** ``L`` ``(n, n)`` sparse CSR, lower triangular on the pattern of
          ``tril(A)``, in ``A``'s dtype and device and in the units of ``√A``; its values are
          differentiable in the weights.
        - **preconditioner(A):** ``apply`` maps residuals ``(n,)`` or ``(n, k)`` (units of ``A x``)
          to ``z = (L Lᵀ)⁻¹ r`` of the same shape (units of ``x``).
        - **training_loss(A, probes):** probes ``(n, k)`` → a scalar (dimensionless).
        - **forward:** node features ``(n, 3)``, ``edge_index`` ``(2, E)``, edge features
          ``(E, 3)``, ``pairs`` ``(2, m)`` → raw outputs ``(n,)`` (diagonal) and ``(m,)`` (strict
          lower entries), dimensionless, zero for the untrained network.
    """

    preconditioner_record = MATRIX_RECORD  # its checkpoints' kind: a preconditioner of sparse matrices

    def __init__(self, hidden: int = 16, layers: int = 2, correction: float = 0.5):
        super().__init__()
        if hidden < 1 or layers < 0:
            raise ValueError(f"hidden must be positive and layers ≥ 0, got {hidden} and {layers}")
        if not correction > 0:
            raise ValueError(f"correction must be positive, got {correction}")
        self.correction = float(correction)
        self.node_in = nn.Linear(NODE_FEATURES, hidden)
        self.edge_in = nn.Linear(EDGE_FEATURES, hidden)
        self.edge_blocks = nn.ModuleList(_block(3 * hidden, hidden) for _ in range(layers))
        self.node_blocks = nn.ModuleList(_block(2 * hidden, hidden) for _ in range(layers))
        self.lower_out = nn.Linear(4 * hidden, 1)
        self.diagonal_out = nn.Linear(hidden, 1)
        for head in (self.lower_out, self.diagonal_out):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(
        self,
        node_attr: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        pairs: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs ``o``: ``(n,)`` for the diagonal, ``(m,)`` for the strict lower entries."""
        source, target = edge_index
        h = torch.relu(self.node_in(node_attr))
        e = torch.relu(self.edge_in(edge_attr))
        for edge_block, node_block in zip(self.edge_blocks, self.node_blocks, strict=True):
            first, activation, second = edge_block
            e = e + second(activation(_split_linear(first, [(h, source), (h, target), (e, None)])))
            incoming = scatter(e, target, dim=0, dim_size=h.shape[0], reduce="mean")
            h = h + node_block(torch.cat([h, incoming], dim=1))
        forward_edge, backward_edge = pairs
        parts = [
            (e, forward_edge),
            (e, backward_edge),
            (h, target[forward_edge]),
            (h, source[forward_edge]),
        ]
        return self.diagonal_out(h)[:, 0], _split_linear(self.lower_out, parts)[:, 0]

    def _scaled_factor(self, pattern: _Pattern) -> torch.Tensor:
        """The values of ``L̂`` on the CSR pattern of ``tril(A)``, in ``A``'s dtype."""
        parameter = next(self.parameters())
        cast = {"dtype": parameter.dtype, "device": parameter.device}
        diagonal, lower = self.forward(pattern.node_attr.to(**cast), pattern.edge_index.to(parameter.device),
                                       pattern.edge_attr.to(**cast), pattern.pairs.to(parameter.device))  # fmt: skip
        c = self.correction
        row_scale = torch.exp(c * torch.tanh(diagonal.to(pattern.start) / c))
        lower = 1 + c * torch.tanh(lower.to(pattern.start) / c)
        entry_scale = torch.cat([torch.ones_like(row_scale), lower])[pattern.assemble]
        return pattern.start * row_scale[pattern.rows] * entry_scale

    def factor(self, A: torch.Tensor | sp.spmatrix) -> torch.Tensor:
        """The learned factor ``L`` (sparse CSR, lower triangular, differentiable values); ``A ≈ L Lᵀ``."""
        pattern = _pattern(A)
        values = pattern.sqrt_diagonal[pattern.rows] * self._scaled_factor(pattern)
        return csr_tensor(pattern.crow, pattern.col, values, (pattern.n, pattern.n))

    def preconditioner(
        self, A: torch.Tensor | sp.spmatrix, *, differentiable: bool = False, backend: str = "auto"
    ) -> LearnedICPreconditioner:
        """``z = (L Lᵀ)⁻¹ r`` on ``A``'s device and dtype, linear and SPD for any weights: for ``cg``,
        SciPy's ``cg`` (``.as_linear_operator()``) and PyAMG. ``backend`` as ``IncompleteCholesky``'s.

        Raises:
            ValueError: with ``differentiable=True``: the compiled triangular solves carry no
                gradient; train with ``training_loss``, which needs none.
        """
        if differentiable:
            raise ValueError(
                "the learned IC's triangular solves are not differentiable: train with "
                "training_loss (no solves), apply with differentiable=False"
            )
        pattern = _pattern(A)
        with torch.no_grad():
            values = (
                (pattern.sqrt_diagonal[pattern.rows] * self._scaled_factor(pattern))
                .double()
                .cpu()
                .numpy()
            )
        L = sp.csr_matrix(
            (values, pattern.col.cpu().numpy(), pattern.crow.cpu().numpy()),
            shape=(pattern.n, pattern.n),
        )
        return LearnedICPreconditioner.from_factor(
            L, dtype=pattern.dtype, device=pattern.device, backend=backend
        )

    def classical_preconditioner(self, A: torch.Tensor | sp.spmatrix) -> IncompleteCholesky:
        """IC(0) of ``A``, where the untrained network starts (``ValueError`` where IC(0) breaks down)."""
        matrix, dtype, device = _as_scipy(A)
        return IncompleteCholesky(matrix, dtype=dtype, device=device)

    def training_loss(self, A: torch.Tensor | sp.spmatrix, probes: torch.Tensor) -> torch.Tensor:
        """NeuralIF's sketched Frobenius loss, relative and in the scaled matrix: the mean over the
        probe columns ``w`` of ``‖(L̂ L̂ᵀ − Â) w‖² / ‖Â w‖²``. For Gaussian probes numerator and
        denominator have the expectations ``‖L̂ L̂ᵀ − Â‖_F²`` and ``‖Â‖_F²`` (Hutchinson), so the
        loss estimates the squared relative Frobenius error of ``D^{-1/2} (L Lᵀ − A) D^{-1/2}``,
        invariant to diagonal scalings of ``A`` as CG is. (NeuralIF's code takes ``‖(L Lᵀ − A) w‖`` of one probe.) Three sparse
        products per probe, differentiable in the weights; no solve.

        Args:
            A: the matrix (see the class).
            probes: ``(n, k)`` random vectors, e.g. ``torch.randn`` (or ``(n,)``).
        """
        pattern = _pattern(A)
        if probes.dim() == 1:
            probes = probes[:, None]
        if probes.dim() != 2 or probes.shape[0] != pattern.n or probes.shape[1] < 1:
            raise ValueError(
                f"probes must be (n, k) = ({pattern.n}, k ≥ 1), got {tuple(probes.shape)}"
            )
        if not torch.isfinite(probes).all():
            raise ValueError("probes have non-finite entries")
        probes = probes.to(dtype=pattern.dtype, device=pattern.device)
        values = self._scaled_factor(pattern)
        rows, cols = pattern.rows, pattern.col
        target = pattern.scaled @ probes
        residual = _product(values, rows, cols, _product(values, cols, rows, probes)) - target
        return (
            residual.square().sum(0)
            / target.square().sum(0).clamp_min(torch.finfo(target.dtype).tiny)
        ).mean()
