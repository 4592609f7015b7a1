"""The ``field`` kind of learned preconditioner: a network on grid fields (DCDM's), wrapped as its
checkpoint's record (a [`NetworkWrapping`][neuralsolvers.solvers.learned.field_preconditioner.NetworkWrapping]) says, for a system on a grid.

The grid and the fluid mask come from a ``DiffusionStencil``, or from the caller for any other matrix
(``grid=`` required: a matrix without a grid is one ``ValueError`` that says to pass it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from neuralsolvers.errors import CheckpointError
from neuralsolvers.solvers.learned.field_preconditioner import FieldPreconditioner, NetworkWrapping
from neuralsolvers.solvers.learned.kinds import FIELD_KIND, register_preconditioner_kind
from neuralsolvers.solvers.operators import as_operator, normal_device
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["field_builder", "grid_and_mask"]


def grid_and_mask(
    A: Any, n: int, grid: Sequence[int] | None, mask: Any
) -> tuple[tuple[int, ...], torch.Tensor]:
    """The grid of ``A``'s unknowns and its fluid mask: from a [`DiffusionStencil`][neuralsolvers.solvers.stencils.DiffusionStencil], else from
    the caller (``grid`` required, ``mask`` default all True); mismatches are ``ValueError``s."""
    if isinstance(A, DiffusionStencil):
        if grid is not None and tuple(grid) != A.grid:
            raise ValueError(f"grid={tuple(grid)} but the stencil is on the grid {A.grid}")
        grid = A.grid
        if mask is None:
            mask = A.mask
    if grid is None:
        raise ValueError(f"A is a {type(A).__name__} of {n} unknowns: pass grid=(rows, columns[, layers]), "
                         "the grid its unknowns are the cells of (C order), and mask= if some cells are obstacles")  # fmt: skip
    grid = tuple(int(size) for size in grid)
    if math.prod(grid) != n:
        raise ValueError(
            f"grid {'×'.join(map(str, grid))} has {math.prod(grid)} cells but A has {n} unknowns"
        )
    fluid = torch.ones(grid, dtype=torch.bool) if mask is None else torch.as_tensor(mask)
    if tuple(fluid.shape) != grid:
        raise ValueError(f"mask has shape {tuple(fluid.shape)} but the grid is {grid}")
    return grid, fluid.to(torch.bool)


@register_preconditioner_kind(FIELD_KIND)
def field_builder(
    network: nn.Module, A: Any, *, record: Mapping[str, Any] | None = None, checkpoint: str = "the network",
    device: Any = None, grid: Sequence[int] | None = None, mask: Any = None,
) -> FieldPreconditioner:  # fmt: skip
    """The field network's preconditioner of ``A`` (the builder of the ``field`` kind).

    Args:
        network: the grid network.
        A: a ``DiffusionStencil`` (grid and mask from it) or any matrix the solvers take of a grid's unknowns.
        record: the wrapping (``NetworkWrapping.record()``; a ``kind`` key is allowed); None: DCDM's
            wrapping (``dcdm_wrapping``), that of checkpoints written before records.
        checkpoint: names the network in errors.
        device: where the network runs (default ``A``'s device).
        grid: the grid of ``A``'s unknowns (C order), needed unless ``A`` is a stencil.
        mask: bool field of the grid, True on unknowns (default: every cell).

    Raises:
        CheckpointError: a record that is no wrapping.
        ValueError: no grid for a plain matrix, or a grid, mask or dimension that does not fit.
    """
    wrapping = None
    if record is not None:
        try:
            wrapping = NetworkWrapping.from_record(
                {key: value for key, value in record.items() if key != "kind"}
            )
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{checkpoint}: {error}") from None
    operator = as_operator(A)
    grid, fluid = grid_and_mask(A, operator.shape[0], grid, mask)
    if wrapping is None:
        # imported here: DCDM's module imports the field preconditioner's
        from neuralsolvers.solvers.learned.dcdm_solver import dcdm_wrapping

        wrapping = dcdm_wrapping(network, dim=len(grid))
    if len(grid) != wrapping.dim:
        raise ValueError(
            f"the network of {checkpoint} is {wrapping.dim}D but the grid {'×'.join(map(str, grid))} is {len(grid)}D"
        )
    device = normal_device(device or operator.device)
    network = network.to(device) if isinstance(network, nn.Module) else network
    return wrapping.build(network, fluid, dtype=operator.dtype, device=device)
