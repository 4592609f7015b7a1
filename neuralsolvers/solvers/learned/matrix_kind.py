"""The ``matrix`` kind of learned preconditioner: a network that builds the preconditioner of any
sparse symmetric positive definite matrix, no grid needed (learned AMG, learned IC).

Such a network answers one small protocol, [`MatrixPreconditionerNetwork`][neuralsolvers.solvers.learned.matrix_kind.MatrixPreconditionerNetwork]:
``network.preconditioner(A, differentiable=False)`` with ``A`` a torch sparse CSR tensor returns its
preconditioner, and its training module writes ``MATRIX_RECORD`` into the checkpoint. Then
``neuralsolvers.load_preconditioner(checkpoint, A)`` takes ``A`` as a SciPy sparse matrix, a torch
sparse (CSR or COO) or dense tensor, a NumPy array or an ``Operator`` that assembles (``to_scipy``),
checks it (square, symmetric, finite: one ``ValueError`` each) and hands the network ``A`` as a
torch sparse CSR tensor on the device, in ``A``'s dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
import torch

from neuralsolvers.errors import CheckpointError
from neuralsolvers.solvers.learned.kinds import MATRIX_KIND, register_preconditioner_kind
from neuralsolvers.solvers.operators import (
    assembled,
    check_sparse_spd,
    normal_device,
    scipy_to_torch_csr,
)
from neuralsolvers.solvers.preconditioners import ModulePreconditioner, Preconditioner

__all__ = [
    "MATRIX_RECORD",
    "MatrixPreconditionerNetwork",
    "matrix_builder",
    "sparse_spd_matrix",
]

# the record of a learned preconditioner of matrices (linear and SPD, for cg): what its training module writes
MATRIX_RECORD = {"kind": MATRIX_KIND, "solver": "cg", "linear": True, "spd": True}


@runtime_checkable
class MatrixPreconditionerNetwork(Protocol):
    """What a network of the ``matrix`` kind answers: the preconditioner of a sparse SPD ``A`` (a torch
    sparse CSR tensor), on ``A``'s device and in its dtype; ``differentiable=True`` keeps the graph to
    the weights (training)."""

    def preconditioner(
        self, A: torch.Tensor, *, differentiable: bool = False
    ) -> Preconditioner: ...


def _own_dtype(A: Any) -> torch.dtype | None:
    """The torch dtype of a SciPy matrix's float32 or float64 data (float64 for anything else); None for the rest."""
    if not sp.issparse(A):
        return None
    return torch.float32 if np.dtype(A.dtype) == np.float32 else torch.float64


def sparse_spd_matrix(A: Any, device: Any = None) -> torch.Tensor:
    """``A`` as a torch sparse CSR tensor on ``device`` (default ``A``'s, the CPU for SciPy/NumPy), in
    ``A``'s dtype, after ``check_sparse_spd`` on a SciPy copy (square, finite, symmetric to
    ``1e-10 · max |A|``, positive diagonal).

    Raises:
        ValueError: ``A`` is not square, has NaN or Inf entries, is not symmetric, has a diagonal entry
            that is not positive, or cannot be assembled.
    """
    shape = tuple(getattr(A, "shape", ()))
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(
            f"A must be a square matrix, got shape {shape}: a learned preconditioner of matrices needs a symmetric positive definite A"
        )
    try:
        matrix, dtype, own_device = assembled(A, dtype=_own_dtype(A))
    except NotImplementedError as error:
        raise ValueError(
            f"a learned preconditioner of matrices needs A as a matrix: {error}"
        ) from None
    matrix = check_sparse_spd(matrix)
    return scipy_to_torch_csr(
        matrix, dtype, own_device if device is None else normal_device(device)
    )


@register_preconditioner_kind(MATRIX_KIND)
def matrix_builder(
    network: Any, A: Any, *, record: Mapping[str, Any] | None = None, checkpoint: str = "the network",
    device: Any = None, grid: Any = None, mask: Any = None, **options: Any,
) -> Preconditioner:  # fmt: skip
    """``network.to(device).preconditioner(A_csr, **options)`` (the builder of the ``matrix`` kind) with
    ``A_csr`` = [`sparse_spd_matrix`][neuralsolvers.solvers.learned.matrix_kind.sparse_spd_matrix]``(A, device)``; ``grid`` and ``mask`` are not needed.
    A result with only ``apply(r)`` is wrapped as the linear (SPD) map its record declares."""
    if not callable(getattr(network, "preconditioner", None)):
        raise CheckpointError(
            f"{checkpoint}: its record says kind {MATRIX_KIND!r} but {type(network).__name__} has no preconditioner(A) method"
        )
    matrix = sparse_spd_matrix(A, device)
    if hasattr(network, "to"):
        network = network.to(matrix.device)
    M = network.preconditioner(matrix, **options)
    if isinstance(M, Preconditioner):
        return M
    if not callable(getattr(M, "apply", None)):
        raise TypeError(
            f"{type(network).__name__}.preconditioner(A) must return a Preconditioner or an object with apply(r); got a {type(M).__name__}"
        )
    record = MATRIX_RECORD if record is None else record
    spd = bool(record.get("spd", True))
    return ModulePreconditioner(
        M.apply,
        matrix.shape[0],
        linear_spd=spd,
        linear=bool(record.get("linear", spd)),
        dtype=matrix.dtype,
        device=matrix.device,
    )
