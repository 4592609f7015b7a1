"""Linear operators for the solvers: one small interface, ``Operator``, over dense, sparse, SciPy and
matrix-free.

Every operator has ``shape``, ``dtype``, ``device``, ``matvec(x)`` for ``x`` of shape ``(n,)`` and
``matmat(X)`` for ``X`` of shape ``(n, k)`` (``k`` right-hand sides at once); ``A @ x`` dispatches
on the dimension. ``diagonal()`` is available where it is cheap (Jacobi, IC(0), AMG need it);
``finite()`` says whether the stored entries are all finite (None for a matrix-free operator).
``check_sparse_spd`` is the one check of a sparse matrix that must be SPD (square, finite, symmetric,
positive diagonal), with one line per failure.
``normal_device`` is the one place a device name is checked: every entry that takes ``device=``
goes through it, so a device the machine lacks is one ``ConfigError`` (a ``ValueError``) that says so.

``Operator`` was called ``LinearOperator`` before, a name that clashed with SciPy's
``scipy.sparse.linalg.LinearOperator`` (another interface, on NumPy arrays); the old name still
imports, with a ``DeprecationWarning``, for one release.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers.types import DeviceLike, OperatorLike, SupportsMatvec

__all__ = [
    "DenseOperator", "MatrixFreeOperator", "Operator", "ScipyOperator", "SparseOperator", "as_operator", "assembled",
    "all_finite", "canonical_csr", "check_sparse_spd", "csr_tensor", "normal_device", "scipy_to_torch_csr",
]  # fmt: skip

SPARSE_SYMMETRY_TOLERANCE = 1e-10  # of a sparse SPD matrix: max |a_ij − a_ji| ≤ this × max |a_ij|


def all_finite(values: torch.Tensor) -> bool:
    """Whether ``values`` holds no NaN or Inf: one reduction (a finite sum has finite terms), the
    element-wise test only where the sum is not finite (a NaN or Inf, or an overflow of huge values)."""
    if bool(torch.isfinite(values.sum())):
        return True
    return bool(torch.isfinite(values).all())


def _missing(name: str, kind: str, count: int) -> ConfigError:
    """The one-line error for a device the machine lacks (``count`` devices of ``kind`` present)."""
    if count == 0:
        return ConfigError(f"device {name!r} asked for, but this machine has no {kind} device")
    devices = f"{kind.lower()}:0" if count == 1 else f"{kind.lower()}:0 to {kind.lower()}:{count - 1}"
    return ConfigError(f"device {name!r} asked for, but this machine has {count} {kind} device{'s' * (count > 1)} ({devices})")


def normal_device(device: DeviceLike) -> torch.device:
    """``device`` checked against the machine, with the index made explicit (``cuda`` →
    ``cuda:<current>``), so equal devices compare equal.

    Raises:
        ConfigError: (a ``ValueError``) for a name torch does not know, or a CUDA or MPS device this
            machine does not have: ``device 'cuda' asked for, but this machine has no CUDA device``.
    """
    name = str(device)
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be cpu, cuda, cuda:<index> or mps, got {name!r}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise _missing(name, "CUDA", count)
        return device if device.index is not None else torch.device("cuda", torch.cuda.current_device())
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise _missing(name, "MPS", 0)
    return device


class Operator:
    """Base class: ``y = A x`` on torch tensors of one dtype and device (not SciPy's
    ``LinearOperator``, which works on NumPy arrays: ``as_operator`` wraps one)."""

    shape: tuple[int, int]
    dtype: torch.dtype
    device: torch.device

    def matmat(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, k) -> (n, k)``."""
        raise NotImplementedError

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        """``(n,) -> (n,)``."""
        return self.matmat(x[:, None])[:, 0]

    def __matmul__(self, x: torch.Tensor) -> torch.Tensor:
        return self.matvec(x) if x.dim() == 1 else self.matmat(x)

    def diagonal(self) -> torch.Tensor:
        """The main diagonal ``(n,)``."""
        raise NotImplementedError(f"{type(self).__name__} does not provide its diagonal")

    def finite(self) -> bool | None:
        """Whether every stored entry is finite (one pass over them); None where nothing is stored
        (a matrix-free operator): the solvers then check its first product instead."""
        return None

    def to_scipy(self) -> sp.csr_matrix:
        """The same operator as a SciPy CSR matrix (float64, CPU), for references and set-up on the CPU."""
        raise NotImplementedError(f"{type(self).__name__} cannot be assembled as a SciPy matrix")

    def to(self, dtype: torch.dtype | None = None, device: DeviceLike | None = None) -> Operator:
        """The operator in another dtype or on another device (``self`` when nothing changes)."""
        dtype, device = dtype or self.dtype, self.device if device is None else normal_device(device)
        if dtype == self.dtype and device == self.device:
            return self
        converted = self._converted(dtype, device)
        if converted is None:
            raise TypeError(f"{type(self).__name__} is {self.dtype} on {self.device} and cannot be converted to {dtype} on {device}: "
                            "build it there, or give the solve data of its dtype and device")  # fmt: skip
        return converted

    def _converted(self, dtype: torch.dtype, device: torch.device) -> Operator | None:
        """The converted copy, or None where the operator cannot convert itself (subclasses override)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype}, device={self.device})"


class DenseOperator(Operator):
    """A dense ``(n, n)`` tensor."""

    def __init__(self, matrix: torch.Tensor):
        if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"the matrix must be square, got shape {tuple(matrix.shape)}")
        self.matrix = matrix
        self.shape, self.dtype, self.device = tuple(matrix.shape), matrix.dtype, matrix.device

    def matmat(self, x: torch.Tensor) -> torch.Tensor:
        return self.matrix @ x

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        return self.matrix @ x

    def diagonal(self) -> torch.Tensor:
        return self.matrix.diagonal()

    def finite(self) -> bool:
        return all_finite(self.matrix)

    def _converted(self, dtype: torch.dtype, device: torch.device) -> DenseOperator:
        return DenseOperator(self.matrix.to(device=device, dtype=dtype))

    def to_scipy(self) -> sp.csr_matrix:
        return sp.csr_matrix(self.matrix.detach().cpu().double().numpy())


def csr_tensor(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A torch sparse CSR tensor from valid, sorted CSR arrays (no invariant check; torch's "sparse CSR
    support is in beta" notice silenced). Indices become int32 while the matrix allows it: half the
    index traffic of int64, which makes the CPU product ~2× faster at 10⁶ unknowns."""
    index = torch.int32 if values.numel() < 2**31 - 1 and max(size) < 2**31 - 1 else torch.int64
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        return torch.sparse_csr_tensor(crow.to(index), col.to(index), values, size=size, check_invariants=False)


def scipy_to_torch_csr(matrix: sp.spmatrix | sp.sparray, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu") -> torch.Tensor:
    """A SciPy sparse matrix as a torch sparse CSR tensor (converted once, moved to ``device``)."""
    csr = sp.csr_matrix(matrix)
    csr.sort_indices()
    return csr_tensor(
        torch.from_numpy(csr.indptr), torch.from_numpy(csr.indices), torch.from_numpy(csr.data).to(dtype), csr.shape
    ).to(normal_device(device))


def canonical_csr(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """``matrix`` as CSR with sorted column indices and no duplicate entries (a copy)."""
    csr = sp.csr_matrix(matrix, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def check_sparse_spd(matrix: sp.spmatrix | sp.sparray, name: str = "A") -> sp.csr_matrix:
    """``matrix`` as canonical CSR after the checks an SPD matrix passes cheaply.

    Raises:
        ValueError: one line each: not square, not finite, not symmetric (to ``1e-10`` of its largest
            entry), a diagonal entry that is not positive.
    """
    csr = canonical_csr(matrix)
    if csr.shape[0] != csr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {csr.shape[0]}×{csr.shape[1]}")
    if not np.all(np.isfinite(csr.data)):
        raise ValueError(
            f"{name} has {int((~np.isfinite(csr.data)).sum())} non-finite entries (NaN or inf)"
        )
    scale = float(np.abs(csr.data).max()) if csr.nnz else 0.0
    asymmetry = float(abs(csr - csr.T).max()) if csr.nnz else 0.0
    if asymmetry > SPARSE_SYMMETRY_TOLERANCE * scale:
        raise ValueError(
            f"{name} is not symmetric: max |a_ij − a_ji| = {asymmetry:.3g} against max |a_ij| = {scale:.3g}"
        )
    diagonal = csr.diagonal()
    if csr.shape[0] and diagonal.min() <= 0:
        raise ValueError(
            f"{name} is not positive definite: its diagonal has {int((diagonal <= 0).sum())} entries ≤ 0 (row {int(diagonal.argmin())})"
        )
    return csr

class SparseOperator(Operator):
    """A torch sparse CSR matrix (built from torch or SciPy)."""

    def __init__(self, matrix: torch.Tensor):
        if matrix.layout != torch.sparse_csr:
            matrix = matrix.to_sparse_csr()
        if matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"the matrix must be square, got shape {tuple(matrix.shape)}")
        self.matrix = matrix
        self.shape, self.dtype, self.device = tuple(matrix.shape), matrix.dtype, matrix.device

    @classmethod
    def from_scipy(cls, matrix: sp.spmatrix | sp.sparray, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu") -> SparseOperator:
        return cls(scipy_to_torch_csr(matrix, dtype, device))

    def matmat(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:  # the sparse matrix-vector kernel is faster than the matrix-matrix one
            return torch.mv(self.matrix, x[:, 0])[:, None]
        return self.matrix @ x

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mv(self.matrix, x)

    def diagonal(self) -> torch.Tensor:
        crow, col, values = self.matrix.crow_indices(), self.matrix.col_indices().long(), self.matrix.values()
        rows = torch.repeat_interleave(torch.arange(self.shape[0], device=self.device), crow.diff().long())
        diagonal = torch.zeros(self.shape[0], dtype=self.dtype, device=self.device)
        on_diagonal = rows == col
        return diagonal.index_add_(0, rows[on_diagonal], values[on_diagonal])

    def finite(self) -> bool:
        return all_finite(self.matrix.values())

    def _converted(self, dtype: torch.dtype, device: torch.device) -> SparseOperator:
        return SparseOperator(self.matrix.to(device=device, dtype=dtype))

    def to_scipy(self) -> sp.csr_matrix:
        m = self.matrix.cpu()
        return sp.csr_matrix(
            (m.values().double().numpy(), m.col_indices().numpy(), m.crow_indices().numpy()), shape=self.shape
        )


class MatrixFreeOperator(Operator):
    """Wrap any object with ``shape`` and ``matvec`` (and optionally ``matmat``, ``diagonal``)."""

    def __init__(self, operator: SupportsMatvec, dtype: torch.dtype | None = None, device: DeviceLike | None = None):
        self.operator = operator
        self.shape = tuple(operator.shape)
        self.dtype = dtype or getattr(operator, "dtype", torch.float64)
        self.device = normal_device(device or getattr(operator, "device", "cpu"))

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        return self.operator.matvec(x)

    def matmat(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self.operator, "matmat"):
            return self.operator.matmat(x)
        return torch.stack([self.operator.matvec(column) for column in x.T], dim=1)

    def diagonal(self) -> torch.Tensor:
        if hasattr(self.operator, "diagonal"):
            return self.operator.diagonal()
        return super().diagonal()

    def finite(self) -> bool | None:
        check = getattr(self.operator, "finite", None)
        return check() if callable(check) else None


class ScipyOperator(Operator):
    """A ``scipy.sparse.linalg.LinearOperator`` (e.g. PyAMG's ``aspreconditioner()``) on torch tensors.

    Each product goes through NumPy on the CPU; use it for interoperability, not for speed.
    """

    def __init__(self, operator: spla.LinearOperator, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"):
        self.operator = operator
        self.shape, self.dtype, self.device = tuple(operator.shape), dtype, normal_device(device)

    def matmat(self, x: torch.Tensor) -> torch.Tensor:
        y = self.operator.matmat(x.detach().cpu().double().numpy())
        return torch.as_tensor(np.asarray(y), dtype=self.dtype, device=self.device)

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        y = self.operator.matvec(x.detach().cpu().double().numpy())
        return torch.as_tensor(np.asarray(y).reshape(-1), dtype=self.dtype, device=self.device)

    def _converted(self, dtype: torch.dtype, device: torch.device) -> ScipyOperator:
        return ScipyOperator(self.operator, dtype, device)


def assembled(
    A: OperatorLike, dtype: torch.dtype | None = None, device: DeviceLike | None = None
) -> tuple[sp.csr_matrix, torch.dtype, torch.device]:
    """SciPy CSR form of ``A`` for set-up work on the CPU, and the dtype/device of its torch side.

    SciPy input is used as it is, with no round trip through torch; defaults float64 on the CPU.
    """
    if sp.issparse(A):
        return sp.csr_matrix(A), dtype or torch.float64, normal_device(device or "cpu")
    operator = as_operator(A)
    return operator.to_scipy(), dtype or operator.dtype, normal_device(device or operator.device)


def _own_dtype(A: OperatorLike) -> torch.dtype:
    """The torch dtype of a SciPy/NumPy matrix's float32 or float64 data, float64 for anything else."""
    return torch.float32 if np.dtype(getattr(A, "dtype", None) or np.float64) == np.float32 else torch.float64


def as_operator(A: OperatorLike, dtype: torch.dtype | None = None, device: DeviceLike | None = None) -> Operator:
    """Any supported matrix as an ``Operator``.

    Accepts an ``Operator``, a dense or sparse torch tensor, a SciPy sparse matrix or
    dense ``ndarray`` (converted once, in its own float32/float64 unless ``dtype``), or an object with ``shape`` and
    ``matvec``. ``device`` moves tensors; a matrix-free operator must already live there.
    """
    if isinstance(A, Operator):
        return A
    device = None if device is None else normal_device(device)
    if isinstance(A, torch.Tensor):
        A = A.to(device=device or A.device, dtype=dtype or A.dtype)
        return DenseOperator(A) if A.layout == torch.strided else SparseOperator(A)
    if sp.issparse(A):
        return SparseOperator.from_scipy(A, dtype or _own_dtype(A), device or "cpu")
    if isinstance(A, spla.LinearOperator):
        return ScipyOperator(A, dtype or _own_dtype(A), device or "cpu")
    if isinstance(A, np.ndarray):
        return DenseOperator(torch.as_tensor(A, dtype=dtype or _own_dtype(A), device=device or "cpu"))
    if hasattr(A, "matvec") and hasattr(A, "shape"):
        return MatrixFreeOperator(A, dtype, device)
    raise TypeError(f"cannot use {type(A).__name__} as a linear operator: give a tensor, a SciPy matrix or an object with shape and matvec")


def __getattr__(name: str) -> type[Operator]:
    """``LinearOperator``, the old name of ``Operator``, with a ``DeprecationWarning`` (one release)."""
    if name == "LinearOperator":
        warnings.warn("neuralsolvers.solvers.LinearOperator is deprecated: use neuralsolvers.solvers.Operator "
                      "(the name clashed with scipy.sparse.linalg.LinearOperator)", DeprecationWarning, stacklevel=2)  # fmt: skip
        return Operator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
