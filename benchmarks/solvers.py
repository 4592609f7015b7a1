"""Solver benchmark: time per CG iteration and time to rtol 1e-8 on Dirichlet Poisson problems.

Methods: SciPy ``cg`` and PyAMG AMG-PCG (its own default smoothed aggregation, CPU) as references;
our ``cg`` on the assembled CSR matrix and on the matrix-free stencil, Jacobi-PCG, IC(0)-PCG and
AMG-PCG (torch V-cycle), on the CPU and, where CUDA is available, on the GPU. Timings are wall
clock with device synchronization, after a warm-up, median of ``--repeats``; set-up is reported
apart. On CUDA it also reports the achieved memory bandwidth of a matrix-free CG iteration as a
fraction of the measured device copy bandwidth. The interface table times ``cg(scipy A, numpy b)``
(SciPy in, NumPy out: the conversion paid once per solve) per iteration against ``cg`` on torch
inputs (the same CSR matrix already converted) and against SciPy's own ``cg``, in the same run.

    .venv/bin/python benchmarks/solvers.py --sizes 2d:256 2d:512 3d:64 --out results/benchmarks
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyamg
import scipy.sparse.linalg as spla
import torch
from pyamg.gallery import poisson

from neuralsolvers.evaluate.report import environment, markdown_table
from neuralsolvers.solvers import AMG, DiffusionStencil, IncompleteCholesky, Jacobi, as_operator, cg

RTOL = 1e-8


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn`` over ``repeats`` runs (after one warm-up run) and its last result."""
    fn()
    times, result = [], None
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def scipy_rows(A, b: np.ndarray, repeats: int) -> list[dict]:
    count = [0]

    def solve():
        count[0] = 0
        return spla.cg(A, b, rtol=RTOL, maxiter=20 * A.shape[0], callback=lambda _: count.__setitem__(0, count[0] + 1))

    seconds, (_, info) = timed(solve, torch.device("cpu"), repeats)
    rows = [row("SciPy cg", "cpu", 0.0, seconds, count[0], info == 0)]
    start = time.perf_counter()
    ml = pyamg.smoothed_aggregation_solver(A)
    setup = time.perf_counter() - start
    residuals: list[float] = []

    def amg_solve():
        residuals.clear()
        return ml.solve(b, tol=RTOL, accel="cg", residuals=residuals, maxiter=500)

    seconds, x = timed(amg_solve, torch.device("cpu"), repeats)
    converged = np.linalg.norm(b - A @ x) <= RTOL * np.linalg.norm(b) * 1.01
    rows.append(row("PyAMG SA-AMG + CG", "cpu", setup, seconds, len(residuals) - 1, converged))
    return rows


def row(method: str, device: str, setup: float, solve: float, iterations: int, converged: bool) -> dict:
    return {
        "method": method,
        "device": device,
        "setup_s": setup,
        "solve_s": solve,
        "iterations": int(iterations),
        "ms_per_iteration": 1e3 * solve / max(int(iterations), 1),
        "converged": bool(converged),
    }


def ours_rows(A, grid: tuple[int, ...], b: np.ndarray, device: torch.device, repeats: int, skip_ic: bool) -> list[dict]:
    rhs = torch.as_tensor(b, dtype=torch.float64, device=device)
    operators = {"CSR": as_operator(A, device=device), "stencil": DiffusionStencil(grid, device=device)}
    rows = []
    for name, operator in operators.items():
        seconds, result = timed(lambda op=operator: cg(op, rhs, rtol=RTOL, maxiter=20 * A.shape[0]), device, repeats)
        rows.append(row(f"ours cg ({name})", device.type, 0.0, seconds, result.iterations, result.converged))
    builders: dict[str, Callable[[], object]] = {
        "Jacobi": lambda: Jacobi(operators["stencil"]),
        "AMG (SA, Jacobi smoothing)": lambda: AMG(A, device=device),
    }
    if not skip_ic:
        builders["IC(0)"] = lambda: IncompleteCholesky(A, device=device)
    for name, build in builders.items():
        synchronize(device)
        start = time.perf_counter()
        M = build()
        synchronize(device)
        setup = time.perf_counter() - start
        seconds, result = timed(lambda M=M: cg(operators["stencil"], rhs, rtol=RTOL, M=M, maxiter=20 * A.shape[0]), device, repeats)
        rows.append(row(f"ours {name}-PCG", device.type, setup, seconds, result.iterations, result.converged))
    return rows


def interface_row(A, b: np.ndarray, device: torch.device, repeats: int) -> dict:
    """``cg(A, b)`` with SciPy/NumPy inputs against ``cg`` on torch inputs (the same CSR matrix
    converted beforehand, ``b`` already on the device) and SciPy's ``cg``: per-iteration medians of
    interleaved runs in rotating order, so that load on the machine and cache effects affect all
    three alike."""
    options = {} if device.type == "cpu" else {"device": device}
    operator, rhs = as_operator(A, device=device), torch.as_tensor(b, device=device)
    count = [0]

    def scipy_cg():
        count[0] = 0
        spla.cg(A, b, rtol=RTOL, maxiter=20 * A.shape[0], callback=lambda _: count.__setitem__(0, count[0] + 1))
        return count[0]

    runs = {
        "numpy_in": lambda: cg(A, b, rtol=RTOL, maxiter=20 * A.shape[0], **options).iterations,
        "torch_in": lambda: cg(operator, rhs, rtol=RTOL, maxiter=20 * A.shape[0]).iterations,
        "scipy_cg": scipy_cg,
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    iterations: dict[str, int] = {}
    names = list(runs)
    for trial in range(3 * repeats + 1):  # the first round warms up
        # rotate the order: the run after SciPy's single-threaded cg starts ~15% slower (measured),
        # so each of the three takes every position equally often
        for name in names[trial % 3 :] + names[: trial % 3]:
            run = runs[name]
            synchronize(device)
            start = time.perf_counter()
            iterations[name] = int(run())
            synchronize(device)
            if trial:
                times[name].append(1e3 * (time.perf_counter() - start) / max(iterations[name], 1))
    ms = {name: statistics.median(values) for name, values in times.items()}
    return {"device": device.type, "iterations": iterations["numpy_in"], "scipy_iterations": iterations["scipy_cg"],
            "numpy_in_ms_per_iteration": ms["numpy_in"], "torch_in_ms_per_iteration": ms["torch_in"],
            "vs_torch_inputs": ms["numpy_in"] / ms["torch_in"], "scipy_cg_ms_per_iteration": ms["scipy_cg"],
            "vs_scipy_cg": ms["numpy_in"] / ms["scipy_cg"]}  # fmt: skip


def bandwidth_row(grid: tuple[int, ...], device: torch.device, repeats: int) -> dict:
    """Achieved bandwidth of one matrix-free CG iteration against the measured copy bandwidth (CUDA)."""
    n = int(np.prod(grid))
    source = torch.empty(4 * n, dtype=torch.float64, device=device)
    target = torch.empty_like(source)
    copy_s, _ = timed(lambda: target.copy_(source), device, max(repeats, 10))
    copy_bandwidth = 2 * source.numel() * 8 / copy_s
    stencil = DiffusionStencil(grid, device=device)
    rhs = torch.randn(n, dtype=torch.float64, device=device)
    iterations = 50
    seconds, _ = timed(lambda: cg(stencil, rhs, rtol=0.0, maxiter=iterations), device, repeats)
    # bytes per iteration: matvec reads x, the diagonal and d couplings, writes y; two dot products
    # read 4 vectors; three vector updates read 2 and write 1 each
    dim = len(grid)
    bytes_per_iteration = 8 * n * ((2 + 1 + dim) + 4 + 9)
    achieved = bytes_per_iteration * iterations / seconds
    return {"grid": "x".join(map(str, grid)), "copy_GBps": copy_bandwidth / 1e9, "cg_iteration_GBps": achieved / 1e9, "fraction": achieved / copy_bandwidth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["2d:256", "2d:512", "2d:1024", "3d:64", "3d:128"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ic-max", type=int, default=300_000, help="skip IC(0) above this many unknowns (its factorization is a Python loop)")
    parser.add_argument("--out", default="results/benchmarks")
    parser.add_argument("--interface-only", action="store_true", help="only the SciPy-in/NumPy-out table (2D sizes)")
    args = parser.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows, bandwidth, interface = [], [], []
    for size in args.sizes:
        kind, n = size.split(":")
        grid = (int(n),) * (2 if kind == "2d" else 3)
        A = poisson(grid, format="csr")
        b = np.random.default_rng(0).standard_normal(A.shape[0])
        repeats = args.repeats if A.shape[0] <= 300_000 else 1
        label = "x".join(map(str, grid))
        print(f"{label}: {A.shape[0]} unknowns", flush=True)
        for entry in [] if args.interface_only else scipy_rows(A, b, repeats):
            rows.append({"grid": label, **entry})
            print("  ", rows[-1], flush=True)
        for device in devices:
            for entry in [] if args.interface_only else ours_rows(A, grid, b, device, repeats, skip_ic=A.shape[0] > args.ic_max):
                rows.append({"grid": label, **entry})
                print("  ", rows[-1], flush=True)
            if kind == "2d":
                interface.append({"grid": label, **interface_row(A, b, device, max(repeats, 3))})
                print("  ", interface[-1], flush=True)
            if device.type == "cuda" and not args.interface_only:
                bandwidth.append(bandwidth_row(grid, device, repeats))
    env = environment(devices[-1])
    env["cpu"] = platform.processor() or platform.machine()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "solvers.json").write_text(json.dumps({"rows": rows, "bandwidth": bandwidth, "interface": interface, "environment": env, "rtol": RTOL}, indent=2))
    text = f"rtol {RTOL}; {', '.join(f'{k} {v}' for k, v in env.items())}\n\n{markdown_table(rows)}\n"
    if interface:
        text += "\nSciPy in, NumPy out (`cg(A_scipy, b_numpy)`) per iteration:\n\n" + markdown_table(interface) + "\n"
    if bandwidth:
        text += "\n" + markdown_table(bandwidth) + "\n"
    (out / "solvers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
