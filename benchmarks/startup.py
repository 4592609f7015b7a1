"""Start-up times: ``import torch``, ``import neuralsolvers.solvers`` after it, a first solver name,
``neuralsolvers fit --help`` and ``neuralsolvers evaluate --help``, each a fresh interpreter.

Median of ``--repeats`` runs after one warm-up run (file cache), wall clock; JSON into ``--out``.

    .venv/bin/python benchmarks/startup.py --repeats 5 --out results/startup
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from neuralsolvers.evaluate.report import write_benchmark

PYTHON = sys.executable
COMMAND = str(Path(PYTHON).with_name("neuralsolvers"))
CASES = {
    "import torch": [PYTHON, "-c", "import torch"],
    "import torch, neuralsolvers.solvers": [PYTHON, "-c", "import torch, neuralsolvers.solvers"],
    "import torch; from neuralsolvers.solvers import cg": [PYTHON, "-c", "import torch; from neuralsolvers.solvers import cg"],
    "import neuralsolvers.physics (all names)": [PYTHON, "-c", "import neuralsolvers.physics as p; [getattr(p, n) for n in p.__all__]"],
    "neuralsolvers fit --help": [COMMAND, "fit", "--help"],
    "neuralsolvers evaluate --help": [COMMAND, "evaluate", "--help"],
    "import pytorch_lightning": [PYTHON, "-c", "import pytorch_lightning"],
}


def seconds(command: list[str]) -> float:
    """Wall seconds of one run of ``command`` (its output discarded; a failure raises)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="results/startup")
    args = parser.parse_args()
    rows = []
    for name, command in CASES.items():
        seconds(command)  # warm-up: file cache, byte-code
        times = [seconds(command) for _ in range(args.repeats)]
        rows.append({"what": name, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)})
    torch_s = rows[0]["median_s"]
    for row in rows:
        row["after_torch_s"] = row["median_s"] - torch_s if row["what"].startswith("import torch") else None
    write_benchmark(args.out, "startup", rows, repeats=args.repeats)


if __name__ == "__main__":
    main()
