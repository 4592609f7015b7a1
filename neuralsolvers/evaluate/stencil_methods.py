"""The methods of the evaluations on stencil systems (a `neuralsolvers.solvers.DiffusionStencil`:
held-out obstacle Poisson scenes, diffusion scenes, moving obstacles), as `Method`s.

Classical (`CLASSICAL`): ``cg`` (no preconditioner), ``jacobi``, ``ic0``, ``amg`` (PCG with our torch
V-cycle on the system's device), ``gmg`` (PCG with the matrix-free geometric multigrid V-cycle),
``bbmg`` (PCG with the same V-cycle on Black Box Multigrid's hierarchy: Galerkin coarse operators
``PᵀAP`` and operator-dependent interpolation, which holds at any coefficient contrast), ``pyamg`` and ``pyamg_rs`` (PyAMG's own ``solve(accel="cg")`` on the CPU with smoothed-aggregation
and with Ruge–Stüben coarsening, the references) and ``direct`` (SciPy's SuperLU with a minimum-degree
ordering of ``A + Aᵀ``, the factorization as set-up). Learned (`LEARNED`, each
needs its network): ``dcdm`` (the DCDM iteration) and ``fcg`` (flexible CG with the network as
preconditioner), which run at most ``network_maxiter`` network calls, and ``nmg`` (plain CG with the
V-cycle of a `neuralsolvers.models.NeuralMultigrid`). `method` makes one by name. A learned method
builds its preconditioner through the kind registry (`neuralsolvers.solvers.learned.kinds`), as
``neuralsolvers.load_preconditioner`` does, from a checkpoint read once
(`neuralsolvers.evaluate.economics.trained_preconditioner`) or from a bare network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse.linalg as spla
import torch
from torch import nn

from neuralsolvers.evaluate.methods import Method, no_setup, pcg
from neuralsolvers.solvers import (
    AMG,
    GeometricMultigrid,
    IncompleteCholesky,
    Jacobi,
    SolverResult,
    dcdm,
    fcg,
)
from neuralsolvers.solvers.learned.kinds import (
    FIELD_KIND,
    NEURAL_MULTIGRID_KIND,
    LearnedPreconditioner,
)

__all__ = ["BBMG_DEFAULTS", "CLASSICAL", "CYCLE_PRECISION", "FIELD_NETWORKS", "GMG_DEFAULTS", "LEARNED", "NAMES", "PCG", "StencilSystem", "method"]

# the geometric multigrid of the evaluations: damped Jacobi 2 + 2, no boundary sweeps (the fastest
# to 1e-6 on 1024² held-out scenes here: the band sweeps save iterations but cost more than they save)
# The Galerkin cycles (bbmg, and nmg with a Galerkin network) run in float32 inside the float64 CG:
# on 1024² held-out and contrast-10⁶ scenes the same iterations, about 1.8× faster. The re-discretised
# ones (gmg, nmg otherwise) keep float64: where they need hundreds of iterations a float32 cycle stalls
# (48×40 at contrast 10⁴: 241 iterations in float64, not converged in 300 in float32).
CYCLE_PRECISION = "float32"
GMG_DEFAULTS: dict[str, Any] = {"smoother": "jacobi", "sweeps": 2, "boundary_sweeps": 0}

# Black Box Multigrid's hierarchy (`neuralsolvers.solvers.multigrid.galerkin`), fixed for ``bbmg``
BLACK_BOX: dict[str, Any] = {"coarse_operator": "galerkin", "interpolation": "operator_dependent"}
# its smoother: damped Jacobi 2 + 2, the fastest to 1e-6 (set-up + CG solve, median of 3 after a warm-up,
# 2-core CPU, 1 thread) on the binary blob field of benchmarks/high_contrast.py at 256²: 0.099 s (6
# iterations) at contrast 1 and 0.107 s (7) at 1e6, against 0.116 / 0.130 s (6 / 7) for red-black
# Gauss–Seidel 1 + 1 and 0.141 / 0.150 s (5 / 5) for red-black 2 + 2; the set-up (≈ 0.05 s) is the same
BBMG_DEFAULTS: dict[str, Any] = {"smoother": "jacobi", "sweeps": 2, "precision": CYCLE_PRECISION}


@dataclass
class StencilSystem:
    """``A x = b``: ``A`` a `neuralsolvers.solvers.DiffusionStencil`, ``b`` ``(n,)`` float64 on its
    device, ``mask`` the grid's fluid cells; solved to the relative true residual ``rtol``, the
    classical methods from ``x0`` (None: zero) within ``maxiter`` iterations. ``A`` may also be any
    assembled sparse SPD operator (a `neuralsolvers.solvers.SparseOperator`, ``mask`` all true) for
    the methods that need no grid; ``near_nullspace`` ``(n, k)`` is then smoothed aggregation's ``B``
    (e.g. the rigid-body modes of an elasticity system; None: the constants)."""

    A: Any
    b: torch.Tensor
    mask: torch.Tensor
    rtol: float = 1e-6
    maxiter: int = 10_000
    x0: torch.Tensor | None = None
    near_nullspace: np.ndarray | None = None


def _near_nullspace(system: StencilSystem) -> dict[str, Any]:
    """Smoothed aggregation's ``B`` of ``system`` as PyAMG's keyword (none where it has none)."""
    return {} if system.near_nullspace is None else {"B": np.asarray(system.near_nullspace, dtype=np.float64)}


def _jacobi(system: StencilSystem) -> Jacobi:
    return Jacobi(system.A)


def _ic0(system: StencilSystem) -> IncompleteCholesky:
    return IncompleteCholesky(system.A.to_scipy(), dtype=system.b.dtype, device=system.b.device)


def _amg(system: StencilSystem) -> AMG:
    return AMG(system.A.to_scipy(), dtype=system.b.dtype, device=system.b.device, **_near_nullspace(system))


def _gmg(system: StencilSystem, options: dict[str, Any]) -> GeometricMultigrid:
    return GeometricMultigrid(system.A, **options)


def _pyamg_setup(system: StencilSystem, coarsening: str) -> Any:
    """PyAMG's hierarchy with its defaults: smoothed aggregation (``sa``, with the system's
    ``near_nullspace`` as ``B`` where it has one) or Ruge–Stüben (``rs``)."""
    import pyamg

    if coarsening == "rs":
        return pyamg.ruge_stuben_solver(system.A.to_scipy())
    return pyamg.smoothed_aggregation_solver(system.A.to_scipy(), **_near_nullspace(system))


def _pyamg_solve(system: StencilSystem, hierarchy: Any) -> SolverResult:
    """PyAMG's ``solve(accel="cg")`` on the CPU from ``x0``; the history's last entry is the true residual."""
    rhs, history = system.b.cpu().numpy(), []
    start = time.perf_counter()
    x = hierarchy.solve(rhs, x0=None if system.x0 is None else system.x0.cpu().numpy(), tol=system.rtol, accel="cg",
                        maxiter=system.maxiter, residuals=history)  # fmt: skip
    x = torch.as_tensor(x, device=system.b.device)
    true = float(torch.linalg.vector_norm(system.b - system.A @ x) / torch.linalg.vector_norm(system.b))
    converged = true <= system.rtol * (1 + 1e-9)
    residuals = torch.as_tensor(np.append(np.asarray(history[:-1]) / np.linalg.norm(rhs), true))
    iterations = len(history) - 1
    return SolverResult(x=x, converged=converged, iterations=iterations, residuals=residuals, info=0 if converged else max(iterations, 1),
                        message="PyAMG's solve", true_residual=true, time=time.perf_counter() - start)  # fmt: skip


def _direct_setup(system: StencilSystem) -> Any:
    """SuperLU's factorization of ``A`` (CPU) with the minimum-degree ordering of ``A + Aᵀ`` in symmetric
    mode: of SciPy's orderings the fastest on these SPD systems (256²: 0.29 s against 0.46 s with COLAMD)."""
    return spla.splu(system.A.to_scipy().tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})


def _direct_solve(system: StencilSystem, factor: Any) -> SolverResult:
    """The triangular solves of the factorization; no iterations, the true residual checked as for the others."""
    start = time.perf_counter()
    x = torch.as_tensor(factor.solve(system.b.cpu().numpy()), device=system.b.device)
    true = float(torch.linalg.vector_norm(system.b - system.A @ x) / torch.linalg.vector_norm(system.b))
    converged = true <= system.rtol * (1 + 1e-9)
    return SolverResult(x=x, converged=converged, iterations=0, residuals=torch.tensor([1.0, true], dtype=torch.float64), info=0 if converged else 1,
                        message="sparse direct solve", true_residual=true, time=time.perf_counter() - start)  # fmt: skip


def _field(learned: LearnedPreconditioner, system: StencilSystem) -> Any:
    return learned(system.A, mask=system.mask, device=system.b.device)


def _dcdm(system: StencilSystem, M: Any, maxiter: int) -> SolverResult:
    return dcdm(system.A, system.b, M=M, rtol=system.rtol, maxiter=maxiter)


def _fcg(system: StencilSystem, M: Any, maxiter: int, keep: int) -> SolverResult:
    return fcg(system.A, system.b, M=M, rtol=system.rtol, maxiter=maxiter, keep=keep)


def _cycle(learned: LearnedPreconditioner, system: StencilSystem) -> Any:
    return learned(system.A, precision=CYCLE_PRECISION if learned.network.layout.galerkin else None)


PCG: tuple[Method[StencilSystem], ...] = (  # the classical PCGs: these can also finish a failed learned solve
    Method("cg", "CG", no_setup, pcg),
    Method("jacobi", "Jacobi-PCG", _jacobi, pcg),
    Method("ic0", "IC(0)-PCG", _ic0, pcg),
    Method("amg", "AMG-PCG (torch V-cycle)", _amg, pcg),
    Method("gmg", "GMG-PCG (geometric multigrid)", partial(_gmg, options=GMG_DEFAULTS), pcg),
    Method("bbmg", "BoxMG-PCG (Galerkin, operator-dependent)", partial(_gmg, options={**BBMG_DEFAULTS, **BLACK_BOX}), pcg),
)
CLASSICAL: tuple[Method[StencilSystem], ...] = (
    *PCG,
    Method("pyamg", "AMG-PCG (PyAMG SA, CPU)", partial(_pyamg_setup, coarsening="sa"), _pyamg_solve),
    Method("pyamg_rs", "AMG-PCG (PyAMG RS, CPU)", partial(_pyamg_setup, coarsening="rs"), _pyamg_solve),
    Method("direct", "direct (SuperLU, CPU)", _direct_setup, _direct_solve),
)
FIELD_NETWORKS = ("dcdm", "fcg")  # the learned methods whose network acts on residual fields (DCDM's)
LEARNED = (*FIELD_NETWORKS, "nmg")
NAMES = (*(classical.name for classical in CLASSICAL), *LEARNED)


def _learned(name: str, network: nn.Module | LearnedPreconditioner, network_maxiter: int, keep: int) -> Method[StencilSystem]:
    """The learned method ``name`` of a checkpoint's preconditioner, or of a bare network (then of the
    method's kind: DCDM's field wrapping for ``dcdm`` and ``fcg``, the neural multigrid for ``nmg``)."""
    kind = NEURAL_MULTIGRID_KIND if name == "nmg" else FIELD_KIND
    network = network if isinstance(network, LearnedPreconditioner) else LearnedPreconditioner(network, kind)
    if name == "nmg" and network.kind != kind:
        raise ValueError(f"method nmg needs a neural multigrid checkpoint; {network.source} is of kind {network.kind!r}")
    if name == "dcdm":
        return Method(name, "DCDM", partial(_field, network), partial(_dcdm, maxiter=network_maxiter), learned=True)
    if name == "fcg":
        return Method(name, "FCG + network", partial(_field, network), partial(_fcg, maxiter=network_maxiter, keep=keep), learned=True)
    return Method(name, "NMG-PCG (neural multigrid)", partial(_cycle, network), pcg, learned=True)


def method(
    name: str, network: nn.Module | LearnedPreconditioner | None = None, *, network_maxiter: int = 500, keep: int = 2, gmg: dict[str, Any] | None = None,
    bbmg: dict[str, Any] | None = None, fallback: str | None = None, mark: str = "",
) -> Method[StencilSystem]:  # fmt: skip
    """The method ``name`` (one of `NAMES`).

    Args:
        network: the trained network of a learned method, or its checkpoint's ``LearnedPreconditioner``
            (`neuralsolvers.evaluate.economics.trained_preconditioner`, built as its record says): a DCDM
            network for ``dcdm`` and ``fcg``, a ``NeuralMultigrid`` for ``nmg``.
        network_maxiter: iteration cap (network calls) of ``dcdm`` and ``fcg``. keep: directions FCG keeps.
        gmg: options of `neuralsolvers.solvers.GeometricMultigrid` (default `GMG_DEFAULTS`).
        bbmg: options of ``bbmg``'s `neuralsolvers.solvers.GeometricMultigrid` (default `BBMG_DEFAULTS`;
            the hierarchy, ``coarse_operator`` and ``interpolation``, is fixed).
        fallback: a classical PCG (`PCG`: ``cg``, ``jacobi``, ``ic0``, ``amg``, ``gmg``, ``bbmg``) that finishes
            a failed learned solve; None: a failed learned solve is reported as failed.
        mark: appended to a learned method's label (e.g. `` (multi-level)``).
    """
    pcgs = {candidate.name: candidate for candidate in PCG}
    if fallback is not None and fallback not in pcgs:
        raise ValueError(f"fallback must be one of {list(pcgs)} or None, got {fallback!r}")
    if name not in NAMES:
        raise ValueError(f"unknown method {name!r}; choose from {list(NAMES)}")
    if name == "gmg" and gmg is not None:
        return Method(name, pcgs[name].label, partial(_gmg, options=dict(gmg)), pcg)
    if bbmg is not None and set(bbmg) & set(BLACK_BOX):
        raise ValueError(f"bbmg's options cannot change its hierarchy ({sorted(BLACK_BOX)}); use gmg for another one")
    if name == "bbmg" and bbmg is not None:
        return Method(name, pcgs[name].label, partial(_gmg, options={**bbmg, **BLACK_BOX}), pcg)
    if name not in LEARNED:
        return next(classical for classical in CLASSICAL if classical.name == name)
    if network is None:
        raise ValueError(f"method {name!r} needs a trained network (a checkpoint)")
    learned = _learned(name, network, network_maxiter, keep)
    return replace(learned, label=learned.label + mark, fallback=None if fallback is None else pcgs[fallback])
