"""Learned and classical preconditioners on unstructured finite-element systems (the classical ones: the bar a learned
preconditioner for general sparse SPD matrices must clear): iterations and time to ``rtol`` per system, set-up included.

Systems: a ``fe_diffusion`` or ``fe_elasticity`` dataset split (``neuralsolvers generate --config
configs/data/fe_diffusion_2d_heldout.yaml``), each ``A`` a condensed SPD P1/P2 matrix (an elasticity
split's rigid-body modes go to smoothed aggregation as ``B``). Methods: the finite-element
evaluation's methods by name (`neuralsolvers.evaluate.matrix_methods`; default Jacobi-PCG, IC(0)-PCG,
our torch AMG V-cycle, PyAMG's smoothed-aggregation and Ruge–Stüben AMG-PCG and SuperLU); with
``--checkpoint learned_amg=PATH`` (repeatable, also ``learned_ic=PATH``) the learned methods too (by
default ``l1amg`` and ``learned_amg`` for a learned AMG, ``learned_ic`` for a learned IC), each
checkpoint read once; one warm-up, then one timed run per system.

    .venv/bin/python benchmarks/fe_baselines.py --data data/fe_diffusion_2d_heldout/test --rtol 1e-6 1e-8
    .venv/bin/python benchmarks/fe_baselines.py --data data/fe_diffusion_3d_heldout/test --name fe_baselines_3d
    .venv/bin/python benchmarks/fe_baselines.py --checkpoint learned_amg=checkpoints/learned_amg_fe2d/best.ckpt --name fe_learned
"""

from __future__ import annotations

import argparse

import numpy as np

from neuralsolvers.evaluate.economics import trained_preconditioner
from neuralsolvers.evaluate.finite_elements import load_fe_systems
from neuralsolvers.evaluate.matrix_methods import (
    CHECKPOINT_OF,
    MATRIX_LEARNED,
    NAMES,
    matrix_system,
    method,
)
from neuralsolvers.evaluate.report import write_benchmark

CLASSICAL = ["jacobi", "ic0", "amg", "pyamg", "pyamg_rs", "direct"]
LEARNED = {"learned_amg": ["l1amg", "learned_amg"], "learned_ic": ["learned_ic"]}  # the default methods a checkpoint adds


def checkpoint(text: str) -> tuple[str, str]:
    """``learned_amg=PATH`` → ``("learned_amg", "PATH")``."""
    name, _, path = text.partition("=")
    if name not in MATRIX_LEARNED or not path:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(f'{m}=PATH' for m in MATRIX_LEARNED)}, got {text!r}")
    return name, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/fe_diffusion_2d_heldout/test", help="a fe_diffusion or fe_elasticity dataset split directory")
    parser.add_argument("--count", type=int, default=None, help="only the first systems")
    parser.add_argument("--methods", nargs="+", choices=NAMES, default=None, help=f"default {' '.join(CLASSICAL)} and those of the checkpoints")
    parser.add_argument("--checkpoint", type=checkpoint, action="append", default=[], metavar="METHOD=PATH",
                        help="a learned method's checkpoint: learned_amg=PATH or learned_ic=PATH (repeatable)")  # fmt: skip
    parser.add_argument("--precision", choices=["float32", "float64"], default="float32", help="of the AMG cycles (l1amg, learned_amg) inside CG")
    parser.add_argument("--rtol", type=float, nargs="+", default=[1e-6, 1e-8])
    parser.add_argument("--maxiter", type=int, default=5000)
    parser.add_argument("--out", default="results", help="the folder of <name>.json")
    parser.add_argument("--name", default="fe_baselines")
    args = parser.parse_args()
    checkpoints = dict(args.checkpoint)
    names = args.methods or CLASSICAL + [name for learned in checkpoints for name in LEARNED[learned]]
    missing = sorted({CHECKPOINT_OF[name] for name in names if name in CHECKPOINT_OF} - set(checkpoints))
    if missing:
        parser.error(f"methods {[name for name in names if CHECKPOINT_OF.get(name) in missing]} need --checkpoint {missing[0]}=PATH")
    read = {name: trained_preconditioner(path)[0] for name, path in checkpoints.items()}  # each checkpoint read once
    solvers = [method(name, read.get(CHECKPOINT_OF.get(name)), precision=args.precision) for name in names]
    rows = []
    for index, (matrix, rhs, modes) in enumerate(load_fe_systems(args.data, args.count)):
        for rtol in args.rtol:
            system = matrix_system(matrix, rhs, rtol=rtol, maxiter=args.maxiter, near_nullspace=modes)
            for solver in solvers:
                row = {"system": index, "unknowns": matrix.shape[0], "rtol": f"{rtol:g}"}
                try:
                    solver.run(system)  # warm-up
                    row.update(solver.run(system).row())
                except (ValueError, np.linalg.LinAlgError) as error:  # a breakdown (IC(0)'s pivot, NaN in PyAMG's coarse solve) is a row
                    row.update(method=solver.label, converged=False, error=f"{type(error).__name__}: {error}")
                rows.append(row)
                print(rows[-1], flush=True)
    write_benchmark(args.out, args.name, rows, data=args.data, maxiter=args.maxiter, checkpoints=checkpoints, precision=args.precision)


if __name__ == "__main__":
    main()
