"""The methods of the evaluations on assembled sparse SPD matrices (finite-element systems: no grid),
as `Method`s on a `neuralsolvers.evaluate.stencil_methods.StencilSystem` whose ``A`` is a
`neuralsolvers.solvers.SparseOperator` (`matrix_system` makes one).

Classical (`MATRIX_CLASSICAL`): the stencil evaluations' methods that take any matrix (``cg``,
``jacobi``, ``ic0``, ``amg``, ``pyamg``, ``pyamg_rs``, ``direct``; smoothed aggregation gets the
system's ``near_nullspace`` as ``B``) and ``l1amg``, the classical cycle a learned AMG starts from
(PyAMG's hierarchy with ℓ1-Jacobi smoothing, ``LearnedAMG.classical_preconditioner``, of the learned
AMG checkpoint's own options): beside ``learned_amg`` it shows what learning bought. Learned
(`MATRIX_LEARNED`, each needs its checkpoint of kind ``matrix``): ``learned_amg`` (plain CG with the
V-cycle of a `neuralsolvers.models.LearnedAMG`) and ``learned_ic`` (plain CG with the factor of a
`neuralsolvers.models.LearnedIncompleteCholesky`). A learned method builds its preconditioner through
the kind registry (`neuralsolvers.solvers.learned.kinds`), as ``neuralsolvers.load_preconditioner``
does, from a checkpoint read once (`neuralsolvers.evaluate.economics.trained_preconditioner`) or from
a bare network; its set-up (the network's pass included) is timed as the classical ones'.

The AMG cycles (``learned_amg``, ``l1amg``) run in float32 inside the float64 CG (``precision``,
default `CYCLE_PRECISION`): on held-out 2D P1 systems (L-shape and Delaunay meshes, binary κ of
contrast 10³, 36k unknowns; Ruge–Stüben, ℓ1-Jacobi ω = 1.3 ×2) the classical cycle takes the same
iterations (17 to 1e-6, 21 to 1e-8) with a ~9 % faster solve, a randomly weighted network one or two
more (52 / 64 against 51 / 62).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from neuralsolvers.errors import CheckpointError
from neuralsolvers.evaluate.methods import Method, pcg
from neuralsolvers.evaluate.stencil_methods import CYCLE_PRECISION, StencilSystem
from neuralsolvers.evaluate.stencil_methods import method as stencil_method
from neuralsolvers.solvers import SparseOperator
from neuralsolvers.solvers.learned.kinds import MATRIX_KIND, LearnedPreconditioner

__all__ = ["CHECKPOINT_OF", "CYCLE_PRECISION", "MATRIX_CLASSICAL", "MATRIX_LEARNED", "NAMES", "matrix_system", "method"]

# the stencil evaluations' methods that need no grid (gmg and bbmg do)
MATRIX_CLASSICAL = ("cg", "jacobi", "ic0", "amg", "pyamg", "pyamg_rs", "direct")
MATRIX_LEARNED = ("learned_amg", "learned_ic")
# the checkpoint (by learned method) each method needs: l1amg is the learned AMG's classical start
CHECKPOINT_OF = {"l1amg": "learned_amg", "learned_amg": "learned_amg", "learned_ic": "learned_ic"}
NAMES = (*MATRIX_CLASSICAL, "l1amg", *MATRIX_LEARNED)
_MODELS = {"learned_amg": ("neuralsolvers.models.learned_amg", "LearnedAMG"),
           "learned_ic": ("neuralsolvers.models.learned_ic", "LearnedIncompleteCholesky")}  # fmt: skip


def matrix_system(
    A: sp.spmatrix | sp.sparray, b: np.ndarray | torch.Tensor, rtol: float = 1e-6, maxiter: int = 10_000,
    near_nullspace: np.ndarray | None = None, device: str | torch.device = "cpu",
) -> StencilSystem:  # fmt: skip
    """``A x = b`` for these methods: ``A`` (SciPy sparse SPD) as a float64 `SparseOperator` on
    ``device``, ``b`` ``(n,)`` float64 there, every unknown free; ``near_nullspace`` ``(n, k)``:
    smoothed aggregation's ``B`` (e.g. rigid-body modes)."""
    operator = SparseOperator.from_scipy(A, torch.float64, device)
    rhs = torch.as_tensor(np.asarray(b, dtype=np.float64) if not isinstance(b, torch.Tensor) else b, dtype=torch.float64, device=device)
    mask = torch.ones(operator.shape[0], dtype=torch.bool, device=device)
    return StencilSystem(operator, rhs, mask, rtol, maxiter, near_nullspace=near_nullspace)


def _checked(name: str, network: nn.Module | LearnedPreconditioner) -> LearnedPreconditioner:
    """``network`` as the ``matrix``-kind preconditioner of the model ``name``'s method needs; a
    checkpoint of another kind or model is one ``CheckpointError`` naming both."""
    import importlib

    model = CHECKPOINT_OF[name]
    module, cls = _MODELS[model]
    learned = network if isinstance(network, LearnedPreconditioner) else LearnedPreconditioner(network, MATRIX_KIND)
    if learned.kind != MATRIX_KIND or not isinstance(learned.network, getattr(importlib.import_module(module), cls)):
        raise CheckpointError(f"method {name} needs a {model} checkpoint (kind {MATRIX_KIND!r}, model {cls}); "
                              f"{learned.source} is of kind {learned.kind!r} with a {type(learned.network).__name__}")  # fmt: skip
    return learned


def _near_nullspace(network: nn.Module, system: StencilSystem) -> dict[str, Any]:
    """The system's ``near_nullspace`` for a learned AMG that coarsens by smoothed aggregation (Ruge–Stüben takes none)."""
    aggregation = network.cycle_options["coarsening"] == "smoothed_aggregation"
    return {"near_nullspace": system.near_nullspace} if aggregation and system.near_nullspace is not None else {}


def _learned_cycle(learned: LearnedPreconditioner, precision: str | None, system: StencilSystem) -> Any:
    return learned(system.A, device=system.b.device, precision=precision, **_near_nullspace(learned.network, system))


def _classical_start(learned: LearnedPreconditioner, precision: str | None, system: StencilSystem) -> Any:
    network = learned.network.to(system.b.device)
    return network.classical_preconditioner(system.A.to_scipy(), precision=precision, **_near_nullspace(network, system))


def _learned_factor(learned: LearnedPreconditioner, system: StencilSystem) -> Any:
    return learned(system.A, device=system.b.device)


def method(name: str, network: nn.Module | LearnedPreconditioner | None = None, *, precision: str | None = CYCLE_PRECISION) -> Method[StencilSystem]:
    """The method ``name`` (one of `NAMES`).

    Args:
        network: what ``l1amg``, ``learned_amg`` and ``learned_ic`` need: a checkpoint's
            ``LearnedPreconditioner`` (`neuralsolvers.evaluate.economics.trained_preconditioner`) of
            kind ``matrix``, or a bare network: a ``LearnedAMG`` (``l1amg``, ``learned_amg``) or a
            ``LearnedIncompleteCholesky`` (``learned_ic``).
        precision: of the AMG cycles inside the float64 CG (``"float32"``; None: the system's).

    Raises:
        ValueError: an unknown name, or a method that needs a network without one.
        CheckpointError: a network of another kind or model than the method needs.
    """
    if name not in NAMES:
        raise ValueError(f"unknown method {name!r}; choose from {list(NAMES)}")
    if name in MATRIX_CLASSICAL:
        return stencil_method(name)
    if network is None:
        raise ValueError(f"method {name!r} needs a trained {CHECKPOINT_OF[name]} network (a checkpoint)")
    learned = _checked(name, network)
    if name == "l1amg":
        return Method(name, "ℓ1-AMG-PCG (learned AMG's classical start)", partial(_classical_start, learned, precision), pcg)
    if name == "learned_amg":
        return Method(name, "learned AMG-PCG", partial(_learned_cycle, learned, precision), pcg, learned=True)
    return Method(name, "learned IC-PCG", partial(_learned_factor, learned), pcg, learned=True)
