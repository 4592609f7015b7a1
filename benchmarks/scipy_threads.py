"""SciPy's `cg` with a learned preconditioner against ours: the thread budget of the SciPy operator.

The preconditioner is the neural multigrid (`NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1,
transfer=True, sweeps=2)`, untrained: it equals geometric multigrid, all in torch) on a
`DiffusionStencil` with Dirichlet walls and a disc obstacle, float64, random right-hand side on the
fluid cells. Each size solves to `rtol` from zero with:

- `ours`: `neuralsolvers.solvers.cg(A, b, M=M)`;
- `scipy before`: `scipy.sparse.linalg.cg` on the stencil's CSR with the preconditioner wrapped as
  before this change (a plain `LinearOperator` around `M.apply`: no thread budget);
- `scipy`: the same with `M.as_linear_operator()` (each call runs torch beside NumPy's BLAS pool);
- `scipy with`: inside `with M.as_linear_operator() as op:` (NumPy's BLAS on one thread for the solve).

The cases alternate within each repeat (so that other jobs on the machine weigh on all alike), with
`--pause` seconds before each (OpenBLAS's idle workers busy-wait about 0.1 s after a call: without the
pause a case would start against the spinning workers of the one before); the median of `--repeats` after a warm-up is reported, with the ratio to `ours` (target: at most 1.2).

    .venv/bin/python benchmarks/scipy_threads.py --sizes 256x256 512x768 --repeats 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as spla
import torch
from threadpoolctl import threadpool_info

from neuralsolvers.evaluate.report import environment, markdown_table
from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import DiffusionStencil, cg
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.threads import (
    blas_threads,
    single_threaded_blas,
    torch_thread_budget,
    torch_threads_beside_blas,
)

TARGET = 1.2


def obstacle_system(grid: tuple[int, int], seed: int = 0) -> tuple[DiffusionStencil, torch.Tensor]:
    """Dirichlet walls, a disc of obstacle cells (radius a sixth of the short side), float64."""
    y, x = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    mask = (y - grid[0] / 2) ** 2 + (x - grid[1] / 3) ** 2 > (min(grid) / 6) ** 2
    A = DiffusionStencil(grid, mask=mask, dirichlet_walls=True)
    b = torch.randn(A.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return A, b * mask.reshape(-1)


def unbudgeted_operator(M: Preconditioner) -> spla.LinearOperator:
    """The conversion as it was before the thread budget: `M.apply` in a plain `LinearOperator`."""

    def apply(v: np.ndarray) -> np.ndarray:
        r = torch.as_tensor(np.asarray(v), dtype=M.dtype, device=M.device)
        return M.apply(r.reshape(M.shape[0], -1)).reshape(v.shape).double().cpu().numpy()

    return spla.LinearOperator(M.shape, matvec=apply, matmat=apply, dtype=np.float64)


def scipy_solve(A_scipy, b: np.ndarray, op: spla.LinearOperator, rtol: float, scoped: bool = False) -> int:
    """SciPy's `cg`; returns its iterations (−1 if it did not converge)."""
    iterates: list[np.ndarray] = []
    if scoped:
        with op:
            _, info = spla.cg(A_scipy, b, M=op, rtol=rtol, callback=iterates.append)
    else:
        _, info = spla.cg(A_scipy, b, M=op, rtol=rtol, callback=iterates.append)
    return len(iterates) if info == 0 else -1


def measure(grid: tuple[int, int], rtol: float, repeats: int, pause: float) -> list[dict]:
    A, b = obstacle_system(grid)
    M = NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1, transfer=True, sweeps=2).preconditioner(A)
    A_scipy, b_numpy = A.to_scipy().tocsr(), b.numpy()
    before, after = unbudgeted_operator(M), M.as_linear_operator()
    cases: dict[str, Callable[[], int]] = {
        "ours": lambda: cg(A, b, M=M, rtol=rtol).iterations,
        "scipy before": lambda: scipy_solve(A_scipy, b_numpy, before, rtol),
        "scipy": lambda: scipy_solve(A_scipy, b_numpy, after, rtol),
        "scipy with": lambda: scipy_solve(A_scipy, b_numpy, after, rtol, scoped=True),
    }
    iterations = {name: run() for name, run in cases.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, run in cases.items():
            time.sleep(pause)  # BLAS and OpenMP workers of the case before fall asleep
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    ours = statistics.median(times["ours"])
    rows = []
    for name, seconds in times.items():
        median = statistics.median(seconds)
        rows.append({
            "grid": "x".join(map(str, grid)), "solver": name, "iterations": iterations[name],
            "median_s": round(median, 4), "min_s": round(min(seconds), 4), "ratio_to_ours": round(median / ours, 2),
            "met": "–" if name in ("ours", "scipy before") else ("met" if median / ours <= TARGET else "not met"),
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def overhead_us(scope: Callable[[], object], calls: int = 2000) -> float:
    """Mean cost of entering and leaving `scope()` once, in µs."""
    start = time.perf_counter()
    for _ in range(calls):
        with scope():  # type: ignore[attr-defined]
            pass
    return round((time.perf_counter() - start) / calls * 1e6, 1)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["256x256", "512x768"])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between two timed solves")
    parser.add_argument("--out", default="results/scipy_threads.json", help="where the JSON record goes")
    args = parser.parse_args()
    load_before = os.getloadavg()
    machine = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "blas_threads": blas_threads(), "torch_threads_in_a_call": torch_threads_beside_blas(),
        "threadpools": [{key: pool.get(key) for key in ("user_api", "internal_api", "prefix", "num_threads")} for pool in threadpool_info()],
        "budget_per_call_us": overhead_us(torch_thread_budget), "blas_limit_per_solve_us": overhead_us(single_threaded_blas),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }  # fmt: skip
    print(machine, "load", load_before, flush=True)
    rows = [row for size in args.sizes for row in measure(tuple(int(n) for n in size.split("x")), args.rtol, args.repeats, args.pause)]
    record = {
        "environment": environment("cpu"), "machine": machine, "load_average_before": load_before,
        "load_average_after": os.getloadavg(), "rtol": args.rtol, "repeats": args.repeats, "pause_s": args.pause, "target": TARGET, "rows": rows,
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, default=str))
    print(markdown_table(rows))
    print(record["environment"], "load after", record["load_average_after"])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
