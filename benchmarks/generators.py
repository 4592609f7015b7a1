"""Generator throughput: wall time of ``generate`` + ``check`` per committed data config.

Each config's generator is built from its YAML and run in-process on one shard of the given size
(the self-check included, HDF5 writing and interpreter start-up excluded), after a warm-up on a
small shard. Also the 3D obstacle Poisson systems at 128³ with and without their AMG-PCG solves.

    .venv/bin/python benchmarks/generators.py --out results/benchmarks
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml
from jsonargparse import ArgumentParser

from neuralsolvers.data_gen import PoissonObstacles
from neuralsolvers.data_gen.base import Generator
from neuralsolvers.evaluate.report import write_benchmark

CONFIGS = Path(__file__).resolve().parents[1] / "configs/data"
# config → samples timed (one shard); references are one solution each
CASES = {
    "diffusion_reaction": 200,
    "pore_networks": 500,
    "pore_networks_large": 100,
    "value_iteration": 500,
    "laplace_toy": 100_000,
    "image_patches": 1000,
    "image_deblur": 1000,
    "helmholtz_reference": 1,
    "klein_gordon_reference": 1,
    "convection_reference": 1,
    "burgers_reference": 1,
    "cavity_reference": 1,
}


def from_config(name: str) -> Generator:
    """The generator of ``configs/data/<name>.yaml``, built the way ``neuralsolvers generate`` does."""
    parser = ArgumentParser()
    parser.add_subclass_arguments(Generator, "generator")
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    return parser.instantiate(parser.parse_object({"generator": config["generator"]})).generator


def seconds(generator: Generator, num_samples: int) -> float:
    start = time.perf_counter()
    generator.check(generator.generate(num_samples, np.random.default_rng(0)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--skip-3d", action="store_true", help="leave out the 128³ Poisson cases")
    args = parser.parse_args()
    cases = [(name, from_config(name), n) for name, n in CASES.items()]
    if not args.skip_3d:
        for solve in (False, True):
            cases.append((f"poisson bunny 128³ (solve={solve})", PoissonObstacles([128] * 3, "bunny", walls="open_top", solve=solve), 2))
    rows = []
    for name, generator, n in cases:
        seconds(generator, 1)  # warm-up: imports, caches, source images
        elapsed = seconds(generator, n)
        rows.append({"config": name, "samples": n, "seconds": float(f"{elapsed:.3g}"), "samples_per_s": float(f"{n / elapsed:.3g}")})
        print(f"{name:<36} {n:>7} samples {elapsed:8.2f} s", flush=True)
    write_benchmark(args.out, "generators", rows)


if __name__ == "__main__":
    main()
