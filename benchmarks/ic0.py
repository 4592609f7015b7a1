"""IC(0) factorization time: the compiled factor (numba) against the former Python row loop.

The compiled function is warmed up first (its compilation, or loading the cached machine code, is
paid once per process and reported apart). The two factors are compared entry by entry.

    .venv/bin/python benchmarks/ic0.py --sizes 2d:512 3d:128 --out results/benchmarks
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pyamg.gallery import poisson

from neuralsolvers.evaluate.report import environment, markdown_table
from neuralsolvers.solvers import ic0_factor


def row_loop_factor(A: sp.spmatrix) -> sp.csr_matrix:
    """The former implementation: a Python loop over rows with ``intersect1d`` per entry."""
    lower = sp.tril(sp.csr_matrix(A, dtype=np.float64), format="csr")
    lower.sort_indices()
    indptr, indices, values = lower.indptr, lower.indices, lower.data.copy()
    for i in range(lower.shape[0]):
        start, stop = indptr[i], indptr[i + 1]
        columns = indices[start:stop]
        for position in range(start, stop - 1):
            k = indices[position]
            k_start, k_stop = indptr[k], indptr[k + 1]
            common, mine, theirs = np.intersect1d(columns[: position - start], indices[k_start : k_stop - 1], assume_unique=True, return_indices=True)
            total = values[start + mine] @ values[k_start + theirs] if len(common) else 0.0
            values[position] = (values[position] - total) / values[k_stop - 1]
        values[stop - 1] = np.sqrt(values[stop - 1] - values[start : stop - 1] @ values[start : stop - 1])
    return sp.csr_matrix((values, indices, indptr), shape=lower.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["2d:512", "3d:128"])
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    start = time.perf_counter()
    ic0_factor(poisson((4, 4), format="csr"))
    warm_up = time.perf_counter() - start
    rows = []
    for size in args.sizes:
        kind, n = size.split(":")
        grid = (int(n),) * (2 if kind == "2d" else 3)
        A = poisson(grid, format="csr")
        start = time.perf_counter()
        compiled = ic0_factor(A)
        compiled_s = time.perf_counter() - start
        start = time.perf_counter()
        former = row_loop_factor(A)
        former_s = time.perf_counter() - start
        difference = float(np.abs(compiled.data - former.data).max())
        rows.append({"grid": "x".join(map(str, grid)), "unknowns": A.shape[0], "compiled_s": compiled_s, "row_loop_s": former_s,
                     "speedup": former_s / compiled_s, "max_difference": difference})  # fmt: skip
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"rows": rows, "compile_or_cache_load_s": warm_up, "environment": environment("cpu")}
    (out / "ic0.json").write_text(json.dumps(record, indent=2))
    print(f"first call (compilation or cache load): {warm_up:.2f} s\n\n{markdown_table(rows)}")


if __name__ == "__main__":
    main()
