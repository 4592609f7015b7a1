"""Neural operators inside iterative solvers, on held-out Darcy systems.

A trained approximate inverse ``(a, r) ↦ A(a)⁻¹ r`` (``configs/mgno_darcy_preconditioner.yaml``) acts
(1) as the preconditioner of flexible CG (``fcg``, 5 kept directions), alone and inside
:class:`~neuralsolvers.solvers.SmoothedPreconditioner` (damped-Jacobi sweeps before and after it: a
two-grid cycle with the network as coarse solve), and (2) as the correction of the HINTS-style
:func:`~neuralsolvers.solvers.learned.hybrid_solver` iteration (damped Jacobi or red-black Gauss–Seidel sweeps, a
learned correction every ``period`` iterations). Baselines on the same systems: Jacobi-, IC(0)- and
AMG-PCG, the Jacobi sweeps alone, and the same cycle around an untrained copy of the network.

Systems: ``−∇·(a∇u) = 1`` with held-out piecewise 12/3 coefficients (``seed``, never seen in training)
at ``size²`` interior unknowns. Every solve must reach the relative true residual ``rtol``; per method
the table gives iterations, set-up and solve seconds (median of ``repeats`` after a warm-up, the
device synchronized), peak memory beyond what was held, the final true residual, and for the learned
rows the training cost of the checkpoint and the solves after which it pays for itself against the
fastest classical PCG. With ``fallback`` a failed learned solve is finished by that classical PCG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from neuralsolvers.checkpoints import break_even_cell, device_hours, load, training_time
from neuralsolvers.data_gen import Darcy2D
from neuralsolvers.data_gen.darcy import darcy_operator
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.preconditioner import residual_figure
from neuralsolvers.evaluate.report import compare, verdict_text
from neuralsolvers.evaluate.solver_runs import PeakMemory, SolveRun, median_run, timed
from neuralsolvers.models import build_model, model_spec
from neuralsolvers.solvers import (
    AMG,
    FieldPreconditioner,
    IncompleteCholesky,
    Jacobi,
    SmoothedPreconditioner,
    SolverResult,
    SparseOperator,
    cg,
    fcg,
    hybrid,
    with_fallback,
)

__all__ = ["NeuralOperatorSolverEvaluation"]

FALLBACKS = {"jacobi": Jacobi, "ic0": IncompleteCholesky, "amg": AMG}


class NeuralOperatorSolverEvaluation(Evaluation):
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
        if fallback is not None and fallback not in FALLBACKS:
            raise ConfigError(f"fallback must be one of {sorted(FALLBACKS)} or null, got {fallback!r}")
        self.checkpoint, self.rtol, self.period, self.sweeps, self.cap = checkpoint, rtol, period, sweeps, cap
        self.seed, self.repeats, self.fallback = seed, repeats, fallback
        self.device = resolve_device(device)

    def methods(self, size: int, network: torch.nn.Module, untrained: torch.nn.Module) -> dict[str, tuple[bool, Callable[[], Any], Callable[[Any], SolverResult]]]:
        """Per method: learned or not, the set-up, and the solve given what the set-up built."""
        device = self.device
        a = Darcy2D(resolution=size + 2, workers=1).coefficients(1, np.random.default_rng(self.seed))[0].astype(np.float64)
        stencil = darcy_operator(a, device=device)
        matrix = stencil.to_scipy().tocsr()
        A = SparseOperator.from_scipy(matrix, device=device)
        b = torch.ones(matrix.shape[0], dtype=torch.float64, device=device)
        rtol, maxiter = self.rtol, 20 * size * size

        def finish(result: SolverResult) -> SolverResult:
            """A failed learned solve, finished by the fallback PCG when one is configured."""
            if self.fallback is None or result.converged:
                return result
            return with_fallback(result, A, b, FALLBACKS[self.fallback](A), rtol=rtol, maxiter=maxiter, name=self.fallback)

        condition = torch.as_tensor(a, dtype=torch.float32)
        field = lambda net, **kw: FieldPreconditioner(net, (size, size), condition=condition, pad=1, device=device, **kw)  # noqa: E731
        pcg = lambda M: cg(A, b, rtol=rtol, M=M, maxiter=maxiter)  # noqa: E731
        flexible = lambda M, cap: finish(fcg(A, b, rtol=rtol, M=M, keep=5, maxiter=cap))  # noqa: E731
        label = f"{self.sweeps}+{self.sweeps} Jacobi sweeps"
        methods = {
            "Jacobi-PCG": (False, lambda: Jacobi(stencil), pcg),
            "IC(0)-PCG": (False, lambda: IncompleteCholesky(matrix, device=device), pcg),
            "AMG-PCG (SA)": (False, lambda: AMG(matrix, device=device), pcg),
            f"{label}-PCG (no network)": (False, lambda: SmoothedPreconditioner(stencil, sweeps=self.sweeps), pcg),
            "FCG(5) + trained network alone": (True, lambda: field(network), lambda M: flexible(M, self.cap // 5)),
            f"FCG(5) + {label} around the trained network": (True, lambda: SmoothedPreconditioner(stencil, inner=field(network), sweeps=self.sweeps), lambda M: flexible(M, self.cap)),
            f"FCG(5) + {label} around an untrained network": (True, lambda: SmoothedPreconditioner(stencil, inner=field(untrained), sweeps=self.sweeps), lambda M: flexible(M, self.cap)),
        }
        for smoother in ("jacobi", "redblack"):
            methods[f"hybrid {smoother} + trained network every {self.period}"] = (
                True, lambda: field(network, normalize=False),
                lambda M, s=smoother: finish(hybrid(stencil, b, M=M, rtol=rtol, period=self.period, smoother=s, line_search=True, maxiter=self.cap * self.period)),
            )  # fmt: skip
        return methods

    def _once(self, setup: Callable[[], Any], solve: Callable[[Any], SolverResult]) -> SolveRun:
        """One timed set-up and solve (the device synchronized), with the peak memory beyond what was held."""
        device = self.device
        with PeakMemory(device) as memory:
            M, setup_s = timed(device, setup)
            result, solve_s = timed(device, lambda: solve(M))
        return SolveRun("cg", int(result.iterations), bool(result.converged), setup_s, solve_s, result.residuals.numpy(),
                        float(result.true_residual), memory.bytes, bool(result.fallback))  # fmt: skip

    def evaluate(self) -> Outcome:
        network = load(self.checkpoint, map_location=self.device)
        spec = model_spec(network)
        torch.manual_seed(0)
        untrained = build_model(spec["name"], spec["init_args"]).to(self.device).eval()
        if hasattr(network, "scaling"):
            untrained.scaling.load_state_dict(network.scaling.state_dict())
        clock = training_time(self.checkpoint)
        rows, figures, learned_names = [], {}, set()
        for size in self.sizes:
            methods = self.methods(size, network, untrained)
            _, setup, solve = next(iter(methods.values()))
            self._once(setup, solve)  # warm-up
            runs = {}
            for name, (learned, setup, solve) in methods.items():
                run = median_run(lambda setup=setup, solve=solve: self._once(setup, solve), self.repeats, key=lambda r: r.setup_s + r.solve_s)
                runs[name] = (learned, run)
            fastest = min(run.setup_s + run.solve_s for learned, run in runs.values() if not learned and run.converged)
            for name, (learned, run) in runs.items():
                total = run.setup_s + run.solve_s
                if learned:
                    learned_names.add(name)
                rows.append({
                    "size": f"{size}²", "method": name, "converged": run.converged, "iterations": run.iterations,
                    "setup_s": run.setup_s, "solve_s": run.solve_s, "true_residual": run.true_residual, "peak_MiB": run.peak_bytes / 2**20,
                    "fell_back": run.fallback if learned and self.fallback else None,
                    "training_device_h": device_hours(clock) if learned else None,
                    "break_even_solves": break_even_cell(clock, total, fastest) if learned else None,
                })  # fmt: skip
            figures[f"residuals_{size}"] = residual_figure({name: run for name, (_, run) in runs.items()}, self.rtol, f"{size}×{size}")
        config = {"checkpoint": self.checkpoint, "sizes": self.sizes, "rtol": self.rtol, "period": self.period, "sweeps": self.sweeps,
                  "cap": self.cap, "seed": self.seed, "repeats": self.repeats, "fallback": self.fallback, "device": str(self.device),
                  "training_time": clock}  # fmt: skip
        largest = [row for row in rows if row["size"] == f"{self.sizes[-1]}²"]
        scope = f"at {self.sizes[-1]}²"
        comparison = compare(largest, lambda row: row["setup_s"] + row["solve_s"], lambda row: row["method"] in learned_names,
                             valid=lambda row: bool(row["converged"]), where=f"held-out Darcy systems {scope}, rtol {self.rtol:g}",
                             iterations=lambda row: row["iterations"])  # fmt: skip
        title = f"Neural operators inside solvers on held-out Darcy systems (rtol {self.rtol:g})"
        return Outcome(title, rows, self.device, config, figures, verdict_text(comparison, scope), [comparison])
