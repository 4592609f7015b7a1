"""Classical baselines on binary high-contrast coefficient fields (the porous-media case of multigrid
that must hold at any contrast): iterations and time to ``rtol``, set-up included, per contrast and size.

Half the cells (smooth random blobs) have coefficient ``contrast``, the rest 1; Dirichlet walls; no
obstacles; ``b`` standard normal. Methods: the evaluations' stencil methods by name (default GMG-PCG,
Black Box Multigrid's PCG (``bbmg``: Galerkin coarse operators, operator-dependent interpolation),
PyAMG's Ruge–Stüben and smoothed-aggregation AMG-PCG, IC(0)-PCG, Jacobi-PCG and SuperLU). ``--dim 3``:
the same on ``n³`` grids (a sum of six 3D plane waves; sizes mean ``n³``, so keep them small: SuperLU
and IC(0) at 64³ take long).

    .venv/bin/python benchmarks/high_contrast.py --sizes 128 256 --contrasts 1 1e2 1e4 1e6
    .venv/bin/python benchmarks/high_contrast.py --dim 3 --sizes 32 64 --methods gmg bbmg pyamg_rs
    .venv/bin/python benchmarks/high_contrast.py --checkpoint checkpoints/neural_mg_galerkin2d/best.ckpt  # adds nmg
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from neuralsolvers.evaluate.economics import trained_network
from neuralsolvers.evaluate.report import write_benchmark
from neuralsolvers.evaluate.stencil_methods import StencilSystem, method
from neuralsolvers.solvers import DiffusionStencil


def binary_field(n: int, contrast: float, seed: int, dim: int = 2) -> torch.Tensor:
    """``(n,) * dim``: ``contrast`` where a sum of six random plane waves is positive, else 1 (about half
    the cells). ``dim=2`` draws the same fields as before ``dim`` existed."""
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*[np.linspace(0, 1, n)] * dim, indexing="ij")
    waves = sum(np.sin(2 * np.pi * sum(k * x for k, x in zip(wave, axes, strict=True)) + rng.uniform(0, 2 * np.pi))
                for wave in rng.integers(1, 4, (6, dim)))  # fmt: skip
    return torch.from_numpy(np.where(waves > 0, contrast, 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, choices=(2, 3), default=2, help="2: n² grids; 3: n³ grids")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="n per axis (default 128 256 in 2D, 32 64 in 3D)")
    parser.add_argument("--contrasts", type=float, nargs="+", default=[1.0, 1e2, 1e4, 1e6])
    parser.add_argument("--methods", nargs="+", default=["gmg", "bbmg", "pyamg_rs", "pyamg", "ic0", "jacobi", "direct"])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--maxiter", type=int, default=1000)
    parser.add_argument("--device", default="cpu", help="where the torch methods run (cpu, cuda); PyAMG and SuperLU run on the CPU")
    parser.add_argument("--checkpoint", default=None, help="a neural multigrid checkpoint: adds its cycle (nmg) to the methods")
    parser.add_argument("--out", default="results", help="the folder of <name>.json")
    parser.add_argument("--name", default="high_contrast")
    args = parser.parse_args()
    sizes = args.sizes or ([128, 256] if args.dim == 2 else [32, 64])
    device = torch.device(args.device)
    network = None if args.checkpoint is None else trained_network(args.checkpoint, device)[0]
    names = list(args.methods) + (["nmg"] if network is not None and "nmg" not in args.methods else [])
    rows = []
    for n in sizes:
        for contrast in args.contrasts:
            A = DiffusionStencil((n,) * args.dim, binary_field(n, contrast, seed=n, dim=args.dim), spacing=1 / n, device=device)
            b = torch.from_numpy(np.random.default_rng(0).standard_normal(n**args.dim)).to(device)
            system = StencilSystem(A, b, A.mask, rtol=args.rtol, maxiter=args.maxiter)
            for name in names:
                solver = method(name, network if name == "nmg" else None)
                solver.run(system)  # warm-up
                run = solver.run(system)
                rows.append({"grid": "×".join([str(n)] * args.dim), "contrast": f"{contrast:g}", **run.row()})
                print(rows[-1], flush=True)
    write_benchmark(args.out, args.name, rows, device=str(device), dim=args.dim, rtol=args.rtol, maxiter=args.maxiter)


if __name__ == "__main__":
    main()
