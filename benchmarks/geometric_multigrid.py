"""Geometric multigrid PCG against algebraic multigrid on held-out obstacle scenes, set-up included.

Scenes (``PoissonObstacles``): boxes with Dirichlet walls, spheres with Neumann walls, the bunny with
an open top, each also with a coefficient that jumps by 10 on a random half of the domain (blocks of
cells). Every method solves the same systems to ``rtol`` (1e-6) from zero: GMG-PCG (this package's
geometric multigrid), AMG-PCG with our torch V-cycle on PyAMG's hierarchy, PyAMG's own AMG-PCG. Set-up
(the multigrid pyramid / PyAMG's smoothed aggregation) and solve are timed apart (median of
``--repeats`` after a warm-up); the table also gives the iteration growth from the smallest size.

    .venv/bin/python benchmarks/geometric_multigrid.py --sizes 2d:64 2d:256 2d:1024 3d:32 3d:64 3d:128
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from neuralsolvers.data_gen.poisson import PoissonObstacles
from neuralsolvers.evaluate.report import environment, markdown_table
from neuralsolvers.evaluate.stencil_methods import GMG_DEFAULTS, StencilSystem
from neuralsolvers.evaluate.stencil_methods import method as stencil_method
from neuralsolvers.solvers import DiffusionStencil

SCENES = (("boxes", "dirichlet"), ("spheres", "neumann"), ("bunny", "open_top"))
METHODS = ("gmg", "amg", "pyamg")


def scenes(grid: tuple[int, ...], seed: int, jumps: bool) -> list[tuple[str, DiffusionStencil, torch.Tensor]]:
    """One system per scene family: its label, operator and right-hand side (random on fluid cells)."""
    systems = []
    for offset, (scene, walls) in enumerate(SCENES):
        generator = PoissonObstacles(grid=grid, scene=scene, walls=walls, solve=False)
        arrays = generator.generate(1, np.random.default_rng(seed + offset))
        mask = arrays["mask"][0].astype(bool)
        operator = generator.operator(mask)
        if jumps:  # a coefficient of 10 on random blocks of an eighth of the domain per axis
            rng = np.random.default_rng(seed + 100 + offset)
            blocks = rng.random([8] * len(grid)) < 0.5
            coefficient = np.kron(blocks, np.ones([int(np.ceil(s / 8)) for s in grid]))[tuple(slice(0, s) for s in grid)]
            operator = DiffusionStencil(grid, torch.from_numpy(np.where(coefficient, 10.0, 1.0)), torch.from_numpy(mask),
                                        operator.spacing, list(operator.walls))  # fmt: skip
        label = f"{scene}/{walls}" + ("/jumps 10" if jumps else "")
        systems.append((label, operator, torch.as_tensor(arrays["b"][0].reshape(-1), dtype=torch.float64)))
    return systems


def measure(method: str, operator: DiffusionStencil, b: torch.Tensor, rtol: float, repeats: int) -> dict:
    solver, system = stencil_method(method), StencilSystem(operator, b, operator.mask, rtol=rtol)
    solver.run(system)  # warm-up
    runs = sorted((solver.run(system) for _ in range(repeats)), key=lambda r: r.setup_s + r.solve_s)
    run = runs[len(runs) // 2]
    return {"iterations": run.iterations, "converged": run.converged, "setup_s": run.setup_s, "solve_s": run.solve_s,
            "total_s": run.setup_s + run.solve_s, "true_residual": run.true_residual}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["2d:64", "2d:256", "2d:1024", "3d:32", "3d:64", "3d:128"])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (PyAMG runs on the CPU whatever this says)")
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = []
    for size in args.sizes:
        kind, n = size.split(":")
        grid = (int(n),) * (2 if kind == "2d" else 3)
        repeats = args.repeats if np.prod(grid) <= 300_000 else 1
        for jumps in (False, True):
            for label, operator, b in scenes(grid, seed=1000, jumps=jumps):
                operator, b = operator.to(device=device), b.to(device)
                for method in args.methods:
                    rows.append({"grid": "x".join(map(str, grid)), "scene": label, "method": method, **measure(method, operator, b, args.rtol, repeats)})
                    print(rows[-1], flush=True)
    for row in rows:  # iteration growth from the smallest grid of the same dimension, scene and method
        dim = row["grid"].count("x") + 1
        first = next(r for r in rows if r["grid"].count("x") + 1 == dim and r["scene"] == row["scene"] and r["method"] == row["method"])
        row["growth"] = row["iterations"] / first["iterations"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"rows": rows, "rtol": args.rtol, "gmg": GMG_DEFAULTS, "environment": environment(device)}
    (out / f"geometric_multigrid_{device.type}.json").write_text(json.dumps(record, indent=2))
    summary = []
    for grid in dict.fromkeys(row["grid"] for row in rows):
        for method in args.methods:
            mine = [row for row in rows if row["grid"] == grid and row["method"] == method]
            summary.append({"grid": grid, "method": method, "max_iterations": max(r["iterations"] for r in mine),
                            "max_growth": max(r["growth"] for r in mine), "median_setup_s": statistics.median(r["setup_s"] for r in mine),
                            "median_total_s": statistics.median(r["total_s"] for r in mine),
                            "converged": f"{sum(r['converged'] for r in mine)}/{len(mine)}"})  # fmt: skip
    text = f"rtol {args.rtol}; GMG {GMG_DEFAULTS}; {environment(device)}\n\n{markdown_table(summary)}\n\n{markdown_table(rows)}\n"
    (out / f"geometric_multigrid_{device.type}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"{time.perf_counter() - start:.0f} s")
