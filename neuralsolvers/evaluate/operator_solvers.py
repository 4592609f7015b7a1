"""Neural operators inside iterative solvers, on held-out Darcy systems.

A trained approximate inverse ``(a, r) ↦ A(a)⁻¹ r`` (``configs/mgno_darcy_preconditioner.yaml``) acts
(1) as the preconditioner of flexible CG (``fcg``, 5 kept directions), alone and inside
`neuralsolvers.solvers.SmoothedPreconditioner` (damped-Jacobi sweeps before and after it: a
two-grid cycle with the network as coarse solve), and (2) as the correction of the HINTS-style
`neuralsolvers.solvers.hybrid` iteration (damped Jacobi or red-black Gauss–Seidel sweeps, a learned
correction every ``period`` iterations). Baselines on the same systems: Jacobi-, IC(0)- and
AMG-PCG, the Jacobi sweeps alone, and the same cycle around an untrained copy of the network.

Systems: ``−∇·(a∇u) = 1`` with held-out piecewise 12/3 coefficients (``seed``, never seen in training)
at ``size²`` interior unknowns. Every solve must reach the relative true residual ``rtol``; per method
the table gives iterations, set-up and solve seconds (median of ``repeats`` after a warm-up, the
device synchronized), peak memory beyond what was held, the final true residual, and for the learned
rows the training cost of the checkpoint and the solves after which it pays for itself against the
fastest classical PCG. With ``fallback`` a failed learned solve is finished by that classical PCG.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralsolvers.data_gen import Darcy2D
from neuralsolvers.data_gen.darcy import darcy_operator
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_network, training_cost
from neuralsolvers.evaluate.figures import residual_figure
from neuralsolvers.evaluate.measure import median_run
from neuralsolvers.evaluate.methods import Method, pcg
from neuralsolvers.models import build_model, model_spec
from neuralsolvers.solvers import (
    AMG,
    FieldPreconditioner,
    IncompleteCholesky,
    Jacobi,
    SmoothedPreconditioner,
    SolverResult,
    SparseOperator,
    fcg,
    hybrid,
)

__all__ = ["DarcySystem", "OperatorSolverEvaluation"]


@dataclass
class DarcySystem:
    """One held-out Darcy system ``−∇·(a∇u) = 1`` at ``size²`` interior unknowns: its stencil, the same
    operator as a sparse matrix (``matrix``, SciPy) and on the device (``A``), ``b``, the coefficient as
    the network's condition, the tolerance and iteration cap of every solve."""

    size: int
    stencil: Any
    matrix: Any
    A: SparseOperator
    b: torch.Tensor
    condition: torch.Tensor
    rtol: float
    maxiter: int
    x0: torch.Tensor | None = None

    @classmethod
    def held_out(cls, size: int, seed: int, rtol: float, device: torch.device) -> DarcySystem:
        """The system of the coefficients of ``seed`` (piecewise 12/3, never seen in training)."""
        a = Darcy2D(resolution=size + 2, workers=1).coefficients(1, np.random.default_rng(seed))[0].astype(np.float64)
        stencil = darcy_operator(a, device=device)
        matrix = stencil.to_scipy().tocsr()
        b = torch.ones(matrix.shape[0], dtype=torch.float64, device=device)
        return cls(size, stencil, matrix, SparseOperator.from_scipy(matrix, device=device), b, torch.as_tensor(a, dtype=torch.float32),
                   rtol, 20 * size * size)  # fmt: skip


def _jacobi(system: DarcySystem) -> Jacobi:
    return Jacobi(system.stencil)


def _ic0(system: DarcySystem) -> IncompleteCholesky:
    return IncompleteCholesky(system.matrix, device=system.b.device)


def _amg(system: DarcySystem) -> AMG:
    return AMG(system.matrix, device=system.b.device)


def _field(network: nn.Module, system: DarcySystem, **options: Any) -> FieldPreconditioner:
    """The network as a preconditioner of the system's grid, conditioned on its coefficient."""
    return FieldPreconditioner(network, (system.size, system.size), condition=system.condition, pad=1, device=system.b.device, **options)


def _smoothed(system: DarcySystem, sweeps: int, network: nn.Module | None = None) -> SmoothedPreconditioner:
    """Damped-Jacobi sweeps before and after the network (none: the sweeps alone)."""
    return SmoothedPreconditioner(system.stencil, inner=None if network is None else _field(network, system), sweeps=sweeps)


def _flexible(system: DarcySystem, M: Any, cap: int) -> SolverResult:
    return fcg(system.A, system.b, rtol=system.rtol, M=M, keep=5, maxiter=cap)


def _hybrid(system: DarcySystem, M: Any, smoother: str, period: int, cap: int) -> SolverResult:
    return hybrid(system.stencil, system.b, M=M, rtol=system.rtol, period=period, smoother=smoother, line_search=True, maxiter=cap * period)


CLASSICAL: tuple[Method[DarcySystem], ...] = (  # each can also finish a failed learned solve (``fallback``)
    Method("jacobi", "Jacobi-PCG", _jacobi, pcg),
    Method("ic0", "IC(0)-PCG", _ic0, pcg),
    Method("amg", "AMG-PCG (SA)", _amg, pcg),
)


class OperatorSolverEvaluation(Evaluation):
    """A trained approximate inverse in FCG and in the hybrid iteration, against classical PCG.

    Args:
        checkpoint: a network ``(a, r) ↦ A(a)⁻¹ r`` (``neuralsolvers fit --config configs/mgno_darcy_preconditioner.yaml``).
        sizes: interior unknowns per side of the held-out systems.
        rtol: relative true residual every solve must reach (1e-8: the full accuracy, whatever the network's error).
        period: hybrid: a learned correction every ``period`` iterations.
        sweeps: damped-Jacobi sweeps before and after the network in the FCG cycle.
        cap: network calls allowed per solve (FCG iterations; hybrid corrections).
        seed: of the held-out coefficients.
        repeats: timed solves per method (median), after one warm-up solve per size.
        fallback: ``jacobi``, ``ic0`` or ``amg``: finish a failed learned solve with that PCG; None: report it failed.
        device: ``cpu``, ``cuda`` or ``auto`` (CUDA when there is one): where the systems, the network and every
            preconditioner live (IC(0) and AMG are set up on the CPU by SciPy/PyAMG, then applied on the device).
    """

    component = "Neural operators"

    def __init__(self, checkpoint: str, sizes: list[int] | None = None, rtol: float = 1e-8, period: int = 10, sweeps: int = 4, cap: int = 500,
                 seed: int = 123, repeats: int = 1, fallback: str | None = None, device: str = "auto"):  # fmt: skip
        self.sizes = [128, 256] if sizes is None else [int(size) for size in sizes]
        if min(self.sizes) < 4 or not 0 < rtol < 1 or period < 1 or sweeps < 0 or cap < 1 or repeats < 1:
            raise ConfigError("sizes ≥ 4, 0 < rtol < 1, period ≥ 1, sweeps ≥ 0, cap ≥ 1 and repeats ≥ 1 are required")
        if fallback is not None and fallback not in (pcg.name for pcg in CLASSICAL):
            raise ConfigError(f"fallback must be one of {sorted(pcg.name for pcg in CLASSICAL)} or null, got {fallback!r}")
        self.checkpoint, self.rtol, self.period, self.sweeps, self.cap = checkpoint, rtol, period, sweeps, cap
        self.seed, self.repeats, self.fallback = seed, repeats, fallback
        self.device = resolve_device(device)

    def methods(self, network: nn.Module, untrained: nn.Module) -> list[Method[DarcySystem]]:
        """The table's methods, in its order: the classical PCGs, the Jacobi sweeps alone, then the
        learned ones (finished by the fallback PCG where they fail, when one is configured)."""
        sweeps = f"{self.sweeps}+{self.sweeps} Jacobi sweeps"
        learned = partial(Method, learned=True, fallback=next((pcg for pcg in CLASSICAL if pcg.name == self.fallback), None))
        return [
            *CLASSICAL,
            Method("sweeps", f"{sweeps}-PCG (no network)", partial(_smoothed, sweeps=self.sweeps), pcg),
            learned("fcg", "FCG(5) + trained network alone", partial(_field, network), partial(_flexible, cap=self.cap // 5)),
            learned("fcg_smoothed", f"FCG(5) + {sweeps} around the trained network", partial(_smoothed, sweeps=self.sweeps, network=network),
                    partial(_flexible, cap=self.cap)),
            learned("fcg_untrained", f"FCG(5) + {sweeps} around an untrained network", partial(_smoothed, sweeps=self.sweeps, network=untrained),
                    partial(_flexible, cap=self.cap)),
            *(learned(f"hybrid_{smoother}", f"hybrid {smoother} + trained network every {self.period}", partial(_field, network, normalize=False),
                      partial(_hybrid, smoother=smoother, period=self.period, cap=self.cap)) for smoother in ("jacobi", "redblack")),
        ]  # fmt: skip

    def evaluate(self) -> Outcome:
        network, clock = trained_network(self.checkpoint, self.device)
        spec = model_spec(network)
        torch.manual_seed(0)
        untrained = build_model(spec["name"], spec["init_args"]).to(self.device).eval()
        if hasattr(network, "scaling"):
            untrained.scaling.load_state_dict(network.scaling.state_dict())
        methods = self.methods(network, untrained)
        rows, figures = [], {}
        for size in self.sizes:
            system = DarcySystem.held_out(size, self.seed, self.rtol, self.device)
            methods[0].run(system)  # warm-up
            runs = [median_run(partial(method.run, system), self.repeats, key=attrgetter("total_s")) for method in methods]
            fastest = min(run.total_s for method, run in zip(methods, runs, strict=True) if not method.learned and run.converged)
            for method, run in zip(methods, runs, strict=True):
                rows.append({
                    "size": f"{size}²", "method": method.label, "converged": run.converged, "iterations": run.iterations,
                    "setup_s": run.setup_s, "solve_s": run.solve_s, "true_residual": run.true_residual, "peak_MiB": run.peak_bytes / 2**20,
                    "fell_back": run.fallback if method.learned and self.fallback else None,
                    **training_cost(clock if method.learned else None, run.total_s, fastest),
                })  # fmt: skip
            figures[f"residuals_{size}"] = residual_figure({run.label: run for run in runs}, self.rtol, f"{size}×{size}")
        config = {"checkpoint": self.checkpoint, "sizes": self.sizes, "rtol": self.rtol, "period": self.period, "sweeps": self.sweeps,
                  "cap": self.cap, "seed": self.seed, "repeats": self.repeats, "fallback": self.fallback, "device": str(self.device),
                  "training_time": clock}  # fmt: skip
        largest = [row for row in rows if row["size"] == f"{self.sizes[-1]}²"]
        learned = {method.label for method in methods if method.learned}
        scope = f"at {self.sizes[-1]}²"
        comparison = compare(largest, lambda row: row["setup_s"] + row["solve_s"], lambda row: row["method"] in learned,
                             valid=lambda row: bool(row["converged"]), where=f"held-out Darcy systems {scope}, rtol {self.rtol:g}",
                             iterations=itemgetter("iterations"))  # fmt: skip
        title = f"Neural operators inside solvers on held-out Darcy systems (rtol {self.rtol:g})"
        return Outcome(title, rows, self.device, config, figures, verdict_text(comparison, scope), [comparison])
