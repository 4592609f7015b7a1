"""The classical baselines on unstructured finite-element systems (the bar a learned preconditioner for
general sparse SPD matrices must clear): iterations and time to ``rtol`` per system, set-up included.

Systems: a ``fe_diffusion`` dataset split (``neuralsolvers generate --config
configs/data/fe_diffusion_2d_heldout.yaml``), each ``A`` a condensed SPD P1/P2 matrix. Methods: the
evaluations' classical methods by name (default Jacobi-PCG, IC(0)-PCG, our torch AMG V-cycle, PyAMG's
smoothed-aggregation and Ruge–Stüben AMG-PCG and SuperLU); one warm-up, then one timed run per system.

    .venv/bin/python benchmarks/fe_baselines.py --data data/fe_diffusion_2d_heldout/test --rtol 1e-6 1e-8
    .venv/bin/python benchmarks/fe_baselines.py --data data/fe_diffusion_3d_heldout/test --name fe_baselines_3d
"""

from __future__ import annotations

import argparse

import torch

from neuralsolvers.data_gen.finite_elements import load_systems
from neuralsolvers.evaluate.report import write_benchmark
from neuralsolvers.evaluate.stencil_methods import StencilSystem, method
from neuralsolvers.solvers import SparseOperator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/fe_diffusion_2d_heldout/test", help="a fe_diffusion dataset split directory")
    parser.add_argument("--count", type=int, default=None, help="only the first systems")
    parser.add_argument("--methods", nargs="+", default=["jacobi", "ic0", "amg", "pyamg", "pyamg_rs", "direct"])
    parser.add_argument("--rtol", type=float, nargs="+", default=[1e-6, 1e-8])
    parser.add_argument("--maxiter", type=int, default=5000)
    parser.add_argument("--out", default="results", help="the folder of <name>.json")
    parser.add_argument("--name", default="fe_baselines")
    args = parser.parse_args()
    rows = []
    for index, (matrix, rhs) in enumerate(load_systems(args.data, args.count)):
        A = SparseOperator.from_scipy(matrix)
        b = torch.from_numpy(rhs)
        for rtol in args.rtol:
            system = StencilSystem(A, b, torch.ones(A.shape[0], dtype=torch.bool), rtol=rtol, maxiter=args.maxiter)
            for name in args.methods:
                solver = method(name)
                solver.run(system)  # warm-up
                run = solver.run(system)
                rows.append({"system": index, "unknowns": A.shape[0], "rtol": f"{rtol:g}", **run.row()})
                print(rows[-1], flush=True)
    write_benchmark(args.out, args.name, rows, data=args.data, maxiter=args.maxiter)


if __name__ == "__main__":
    main()
