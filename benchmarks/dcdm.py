"""DCDM against classical preconditioned CG on large held-out obstacle scenes, 2D and 3D.

For each size one scene is drawn that no network saw in training (``--seed``; 2D random boxes with
Dirichlet walls, 3D the bunny-like body with open-top walls, as the training data) with a random
right-hand side, and every method solves it to the relative true residual ``--rtol`` (1e-6):
CG, Jacobi-, IC(0)- and AMG-PCG (our torch V-cycle on the device, and PyAMG's own solver on the
CPU), DCDM and flexible CG with the network. Columns: iterations, set-up and solve seconds (device
synchronized; total = both), final true residual, peak memory beyond what was held (CUDA allocator,
or sampled RSS on the CPU). The networks are run at sizes larger than the one they were trained at
(they are fully convolutional); say which in ``--trained-at``.

    .venv/bin/python benchmarks/dcdm.py --checkpoint-2d checkpoints/dcdm_poisson2d/best.ckpt \\
        --sizes-2d 256 512 1024 --checkpoint-3d checkpoints/dcdm_poisson3d/best.ckpt --sizes-3d 64 128

Writes ``<out>/dcdm.json``, prints the table, and logs it to W&B (offline unless logged in).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import neuralsolvers
from neuralsolvers.data_gen import PoissonObstacles
from neuralsolvers.data_gen.poisson import PoissonSystem
from neuralsolvers.evaluate.report import Report, environment, write_benchmark
from neuralsolvers.evaluate.stencil_methods import LEARNED, StencilSystem, method
from neuralsolvers.evaluate.stencil_methods import NAMES as METHODS


def scene(size: int, dim: int, seed: int, device: torch.device) -> PoissonSystem:
    """One held-out scene: 2D boxes (Dirichlet walls) or 3D bunny (open top), random ``b``."""
    generator = PoissonObstacles(grid=[size] * dim, scene="boxes" if dim == 2 else "bunny", walls="dirichlet" if dim == 2 else "open_top", solve=False)
    arrays = generator.generate(1, np.random.default_rng(seed))
    return PoissonSystem(generator, arrays["mask"][0], arrays["b"][0], device)


def rows_for(system: PoissonSystem, network: torch.nn.Module | None, methods: list[str], args: argparse.Namespace, trained_at: str) -> list[dict]:
    size = "×".join(str(s) for s in system.mask.shape)
    rows = []
    for name in methods:
        if name in LEARNED and network is None:
            continue
        solver = method(name, network, network_maxiter=args.network_maxiter, keep=args.keep)
        run = solver.run(StencilSystem(system.operator, system.b, system.mask, rtol=args.rtol, maxiter=args.maxiter))
        row = {
            "size": size,
            "method": run.label,
            "iterations": run.iterations,
            "setup_s": round(run.setup_s, 4),
            "solve_s": round(run.solve_s, 4),
            "total_s": round(run.setup_s + run.solve_s, 4),
            "true_residual": run.true_residual,
            "converged": run.converged,
            "peak_MiB": round(run.peak_bytes / 2**20, 1),
            "network_trained_at": trained_at if name in LEARNED else "",
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint-2d", type=Path, default=None)
    parser.add_argument("--checkpoint-3d", type=Path, default=None)
    parser.add_argument("--sizes-2d", type=int, nargs="*", default=[256, 512, 1024])
    parser.add_argument("--sizes-3d", type=int, nargs="*", default=[64, 128])
    parser.add_argument("--trained-at", nargs=2, default=["64²", "64³"], metavar=("2D", "3D"), help="training sizes of the two networks, for the table")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--maxiter", type=int, default=20_000)
    parser.add_argument("--network-maxiter", type=int, default=300, help="iteration cap of DCDM and FCG (network calls)")
    parser.add_argument("--keep", type=int, default=2, help="directions kept by FCG")
    parser.add_argument("--seed", type=int, default=123, help="scene seed (held out: training used 0, 1)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = []
    for dim, checkpoint, sizes, trained_at in ((2, args.checkpoint_2d, args.sizes_2d, args.trained_at[0]), (3, args.checkpoint_3d, args.sizes_3d, args.trained_at[1])):
        network = None if checkpoint is None else neuralsolvers.load(checkpoint, map_location=device).eval()
        for size in sizes:
            rows += rows_for(scene(size, dim, args.seed, device), network, args.methods, args, trained_at)
    write_benchmark(args.out, "dcdm", rows, device=device, checkpoints=[str(args.checkpoint_2d), str(args.checkpoint_3d)])
    config = {key: str(value) for key, value in vars(args).items()}
    Report("DCDM against classical PCG (held-out obstacle scenes)", rows, environment(device), config).log_to_wandb(args.out)


if __name__ == "__main__":
    main()
