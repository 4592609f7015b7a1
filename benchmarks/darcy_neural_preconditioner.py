"""Neural operators inside iterative solvers, on held-out Darcy systems.

A trained approximate inverse ``(a, r) ↦ A(a)⁻¹ r`` (``configs/mgno_darcy_preconditioner.yaml``)
acts (1) as the preconditioner of flexible CG (``fcg``, truncation 5), alone and inside
``SmoothedPreconditioner`` (damped-Jacobi sweeps before and after it, a two-grid cycle with the
network as the coarse solve), and (2) as the correction of
the HINTS-style hybrid iteration (damped Jacobi or red-black Gauss–Seidel sweeps, a learned
correction every ``--period`` iterations). Baselines on the same systems: Jacobi-, IC(0)- and
AMG-PCG, the Jacobi sweeps alone, and the same cycle around an untrained network. Every solve must reach the
true relative residual 1e-8; the table gives iterations and wall time (CPU, set-up apart).

Systems: −∇·(a∇u) = 1 with held-out piecewise 12/3 coefficients (seed 123, never seen in
training) at 128² and 256² interior unknowns. Writes ``<out>/darcy_neural_preconditioner.json``
and a W&B run with the table (offline unless logged in).

    .venv/bin/python benchmarks/darcy_neural_preconditioner.py \\
        --checkpoint checkpoints/mgno_darcy_preconditioner/best.ckpt --sizes 128 256
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

import neuralsolvers
from neuralsolvers.data_gen import Darcy2D
from neuralsolvers.data_gen.darcy import darcy_operator
from neuralsolvers.evaluate.report import Report, environment, write_benchmark
from neuralsolvers.models import build_model, model_spec
from neuralsolvers.solvers import (
    AMG,
    FieldPreconditioner,
    IncompleteCholesky,
    Jacobi,
    SmoothedPreconditioner,
    cg,
    fcg,
    hybrid,
)

RTOL = 1e-8


def solve_row(method: str, size: int, setup: float, run: Callable[[], object]) -> dict:
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    return {
        "size": f"{size}²",
        "method": method,
        "iterations": int(result.iterations),
        "setup_s": round(setup, 3),
        "solve_s": round(seconds, 3),
        "true_residual": float(result.true_residual),
        "converged": bool(result.converged),
    }


def timed_setup(build: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    value = build()
    return value, time.perf_counter() - start


def rows_for(
    size: int, network: torch.nn.Module, untrained: torch.nn.Module, period: int, sweeps: int, seed: int, cap: int
) -> Iterator[dict]:
    """Rows as they are measured; solvers that call the network stop after ``cap`` iterations."""
    a = Darcy2D(resolution=size + 2, workers=1).coefficients(1, np.random.default_rng(seed))[0].astype(np.float64)
    stencil = darcy_operator(a)
    A = stencil.to_scipy().tocsr()
    b = torch.ones(A.shape[0], dtype=torch.float64)
    maxiter = 20 * size * size
    for name, build in (("Jacobi", lambda: Jacobi(stencil)), ("IC(0)", lambda: IncompleteCholesky(A)), ("AMG (SA)", lambda: AMG(A))):
        M, setup = timed_setup(build)
        yield solve_row(f"{name}-PCG", size, setup, lambda M=M: cg(A, b, rtol=RTOL, M=M, maxiter=maxiter))
    smoothing, setup = timed_setup(lambda: SmoothedPreconditioner(stencil, sweeps=sweeps))
    yield solve_row(f"{sweeps}+{sweeps} Jacobi sweeps-PCG (no network)", size, setup, lambda: cg(A, b, rtol=RTOL, M=smoothing, maxiter=maxiter))
    condition = torch.as_tensor(a, dtype=torch.float32)
    networks = {"trained MgNO": FieldPreconditioner(network, (size, size), condition=condition, pad=1)}
    networks["untrained MgNO"] = FieldPreconditioner(untrained, (size, size), condition=condition, pad=1)
    yield solve_row("FCG(5) + trained MgNO alone", size, 0.0, lambda: fcg(A, b, rtol=RTOL, M=networks["trained MgNO"], truncation=5, maxiter=cap // 5))
    for label, inner in networks.items():
        M = SmoothedPreconditioner(stencil, inner=inner, sweeps=sweeps)
        yield solve_row(f"FCG(5) + {sweeps}+{sweeps} Jacobi sweeps around {label}", size, 0.0, lambda M=M: fcg(A, b, rtol=RTOL, M=M, truncation=5, maxiter=cap))
    correction = FieldPreconditioner(network, (size, size), condition=condition, pad=1, normalize=False)
    for smoother in ("jacobi", "redblack"):
        yield solve_row(
            f"hybrid {smoother} + trained MgNO every {period}", size, 0.0,
            lambda s=smoother: hybrid(stencil, b, correction.apply, rtol=RTOL, period=period, smoother=s, line_search=True, maxiter=cap * period),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/mgno_darcy_preconditioner/best.ckpt"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--period", type=int, default=10, help="hybrid: a learned correction every this many iterations")
    parser.add_argument("--sweeps", type=int, default=4, help="Jacobi sweeps before and after the network in FCG")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--cap", type=int, default=500, help="network calls allowed per solve (FCG iterations; hybrid corrections)")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    network = neuralsolvers.load(args.checkpoint)
    spec = model_spec(network)
    torch.manual_seed(0)
    untrained = build_model(spec["name"], spec["init_args"]).eval()
    untrained.scaling.load_state_dict(network.scaling.state_dict())
    rows = []
    for size in args.sizes:
        for row in rows_for(size, network, untrained, args.period, args.sweeps, args.seed, args.cap):
            rows.append(row)
            print(row, flush=True)
    write_benchmark(args.out, "darcy_neural_preconditioner", rows, checkpoint=str(args.checkpoint))
    config = {key: str(value) for key, value in vars(args).items()}
    Report("Neural operators inside solvers (Darcy)", rows, environment("cpu"), config).log_to_wandb(args.out)


if __name__ == "__main__":
    main()
