"""The kinds of learned preconditioners: how a trained network becomes the preconditioner of a system.

A learned-preconditioner checkpoint records its kind (``neuralsolvers_preconditioner["kind"]``) and
each kind has one builder, ``builder(network, A, *, record, checkpoint, device, grid, mask,
**options) -> Preconditioner``, registered with [`register_preconditioner_kind`][neuralsolvers.solvers.learned.kinds.register_preconditioner_kind].
The built-in kinds are imported by name when first asked for (`BUILT_IN_KINDS`), so loading a
checkpoint imports only its own kind:

- ``field`` (`neuralsolvers.solvers.learned.field_kind`): a network on grid fields (DCDM's), wrapped
  as its record, a [`NetworkWrapping`][neuralsolvers.solvers.learned.field_preconditioner.NetworkWrapping], says; a record without a kind is this one;
- ``neural_multigrid`` (`neuralsolvers.solvers.learned.multigrid_kind`): the V-cycle of a
  ``NeuralMultigrid`` for a ``DiffusionStencil``;
- ``matrix`` (`neuralsolvers.solvers.learned.matrix_kind`): any network with ``preconditioner(A,
  differentiable=False)`` for a sparse SPD matrix ``A`` (no grid): learned AMG, learned IC.

A new learned preconditioner of matrices needs no new kind (its training module writes
``MATRIX_RECORD``); a new kind is one module with a registered builder, named in `BUILT_IN_KINDS` or
imported by its model's module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from neuralsolvers.errors import CheckpointError
from neuralsolvers.solvers.preconditioners import Preconditioner

__all__ = [
    "BUILT_IN_KINDS", "FIELD_KIND", "LearnedPreconditioner", "MATRIX_KIND", "NEURAL_MULTIGRID_KIND", "PRECONDITIONER_KINDS",
    "PreconditionerBuilder", "preconditioner_kind", "register_preconditioner_kind",
]  # fmt: skip

FIELD_KIND = "field"  # also the kind of a record that names none (DCDM's wrapping records)
MATRIX_KIND = "matrix"
NEURAL_MULTIGRID_KIND = "neural_multigrid"

# builder(network, A, *, record, checkpoint, device, grid, mask, **options) -> Preconditioner
PreconditionerBuilder = Callable[..., Preconditioner]
PRECONDITIONER_KINDS: dict[str, PreconditionerBuilder] = {}
# the module of every built-in kind, by name: imported when the kind is first asked for
BUILT_IN_KINDS: dict[str, str] = {
    FIELD_KIND: "neuralsolvers.solvers.learned.field_kind",
    MATRIX_KIND: "neuralsolvers.solvers.learned.matrix_kind",
    NEURAL_MULTIGRID_KIND: "neuralsolvers.solvers.learned.multigrid_kind",
}


def register_preconditioner_kind(kind: str, builder: PreconditionerBuilder | None = None) -> Any:
    """Register ``builder`` as the kind ``kind``; without ``builder``, a decorator that registers the
    function it decorates (and returns it unchanged). Another builder under a taken name is a ``ValueError``."""

    def register(function: PreconditionerBuilder) -> PreconditionerBuilder:
        if kind in PRECONDITIONER_KINDS and PRECONDITIONER_KINDS[kind] is not function:
            raise ValueError(
                f"preconditioner kind {kind!r} is already registered to {PRECONDITIONER_KINDS[kind]!r}"
            )
        PRECONDITIONER_KINDS[kind] = function
        return function

    return register if builder is None else register(builder)


def preconditioner_kind(kind: str) -> PreconditionerBuilder:
    """The builder of ``kind`` (a built-in kind's module is imported on first use).

    Raises:
        CheckpointError: an unknown kind, in one line naming the known ones.
    """
    if isinstance(kind, str) and kind not in PRECONDITIONER_KINDS and kind in BUILT_IN_KINDS:
        importlib.import_module(BUILT_IN_KINDS[kind])
    if not isinstance(kind, str) or kind not in PRECONDITIONER_KINDS:
        known = ", ".join(sorted(set(PRECONDITIONER_KINDS) | set(BUILT_IN_KINDS)))
        raise CheckpointError(
            f"unknown preconditioner kind {kind!r} (written by a newer version?); known kinds: {known}"
        )
    return PRECONDITIONER_KINDS[kind]


@dataclass(frozen=True)
class LearnedPreconditioner:
    """A trained network and its kind, ready to build the preconditioner of any number of systems
    (what ``neuralsolvers.checkpoints.preconditioner_from_checkpoint`` makes of one checkpoint read).

    Attributes:
        network: the trained network (eval mode).
        kind: its kind, a key of `PRECONDITIONER_KINDS` or `BUILT_IN_KINDS`.
        record: the checkpoint's ``neuralsolvers_preconditioner`` record, or None (a checkpoint
            written before records: the kind's default, DCDM's wrapping for ``field``).
        source: what errors name it by (the checkpoint's path).
    """

    network: nn.Module
    kind: str
    record: Mapping[str, Any] | None = None
    source: str = "the network"

    def __call__(
        self, A: Any, *, grid: Any = None, mask: Any = None, device: Any = None, **options: Any
    ) -> Preconditioner:
        """The preconditioner of ``A`` (``grid``, ``mask``, ``device`` as in ``neuralsolvers.load_preconditioner``;
        ``options`` go to the kind's builder, e.g. ``precision="float32"`` for a neural multigrid's cycle)."""
        builder = preconditioner_kind(self.kind)
        return builder(
            self.network,
            A,
            record=self.record,
            checkpoint=self.source,
            device=device,
            grid=grid,
            mask=mask,
            **options,
        )
