"""What the solvers accept, one name per kind of input, for their signatures and the API reference.

- ``OperatorLike``: a matrix or operator ``A``: a SciPy sparse matrix or array, a
  ``scipy.sparse.linalg.LinearOperator``, a NumPy array, a torch tensor (dense or sparse CSR), or
  anything with ``shape`` and ``matvec`` (``SupportsMatvec``: our ``Operator``, a stencil of your own).
- ``PreconditionerLike``: ``M``: a preconditioner (``SupportsApply``: our ``Preconditioner``), an
  explicit approximation of ``A⁻¹`` (an ``OperatorLike``), a callable ``r ↦ z`` (taken by the
  flexible solvers), or None.
- ``ArrayLike``: ``b`` and ``x0``: a NumPy array or a torch tensor.
- ``DeviceLike``: ``"cpu"``, ``"cuda:1"`` or a ``torch.device``.

NumPy and SciPy are imported here as by ``neuralsolvers.solvers.operators``, which every module using
these names imports anyway: a first solver name costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

__all__ = ["ArrayLike", "DeviceLike", "OperatorLike", "PreconditionerLike", "SupportsApply", "SupportsMatvec"]


@runtime_checkable
class SupportsMatvec(Protocol):
    """A matrix-free operator: ``shape`` ``(n, n)`` and ``matvec(x)`` on ``(n,)`` tensors (``matmat``,
    ``diagonal``, ``dtype`` and ``device`` are used where present)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def matvec(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class SupportsApply(Protocol):
    """A preconditioner: ``apply(r)`` on ``(n,)`` and ``(n, k)`` tensors."""

    def apply(self, r: torch.Tensor) -> torch.Tensor: ...


OperatorLike: TypeAlias = sp.spmatrix | sp.sparray | spla.LinearOperator | np.ndarray | torch.Tensor | SupportsMatvec
PreconditionerLike: TypeAlias = SupportsApply | OperatorLike | Callable[[torch.Tensor], torch.Tensor] | None
ArrayLike: TypeAlias = np.ndarray | torch.Tensor
DeviceLike: TypeAlias = str | torch.device
