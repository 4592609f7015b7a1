"""The ``neural_multigrid`` kind of learned preconditioner: the V-cycle of a ``NeuralMultigrid`` for
the system's ``DiffusionStencil`` (the cycle coarsens its cell types, coefficients and walls, so a
plain matrix is one ``ValueError``). Linear and SPD: for ``cg`` and SciPy's ``cg``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from neuralsolvers.solvers.learned.kinds import NEURAL_MULTIGRID_KIND, register_preconditioner_kind
from neuralsolvers.solvers.operators import normal_device
from neuralsolvers.solvers.preconditioners import Preconditioner

__all__ = ["neural_multigrid_builder"]


@register_preconditioner_kind(NEURAL_MULTIGRID_KIND)
def neural_multigrid_builder(
    network: nn.Module, A: Any, *, record: Mapping[str, Any] | None = None, checkpoint: str = "the network",
    device: Any = None, grid: Any = None, mask: Any = None, **options: Any,
) -> Preconditioner:  # fmt: skip
    """The neural multigrid's V-cycle for ``A`` (the builder of the ``neural_multigrid`` kind): ``A``
    must be the system's ``DiffusionStencil`` (``grid`` and ``mask`` come from it); ``device``
    default ``A``'s; ``options`` go to ``network.preconditioner`` (e.g. ``precision="float32"``)."""
    network.check_operator(A, f"the neural multigrid of {checkpoint}")
    device = normal_device(device or A.device)
    return network.to(device).preconditioner(A.to(device=device), **options)
