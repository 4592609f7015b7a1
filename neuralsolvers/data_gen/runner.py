"""Run a generator into a sharded dataset: one split, some or all of its shards, resumable.

Shard ``i`` of a split always holds samples ``[i·shard_size, (i+1)·shard_size)`` drawn with the
random stream ``np.random.default_rng([seed, i])``, so the data are the same whether the shards are
made by one job or by ``num_shards`` separate jobs (``--shard j --num_shards n`` makes the shards
``i ≡ j (mod n)``). Complete shards with the same parameters are skipped, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.store import (
    SHARD_GLOB,
    TEMPORARY_MARK,
    progress,
    read_shard_attrs,
    shard_is_complete,
    shard_path,
    shard_ranges,
    write_shard,
)
from neuralsolvers.errors import ConfigError, DatasetError

__all__ = ["Split", "generate_split"]


@dataclass
class Split:
    """One split of a dataset: its name (sub-directory), number of samples and seed."""

    name: str
    num_samples: int
    seed: int


def _matches(path: Path, generator: Generator, seed: int) -> bool:
    attrs = read_shard_attrs(path)
    return (
        attrs.get("generator") == generator.name
        and json.loads(attrs.get("parameters", "null")) == json.loads(json.dumps(generator.get_params()))
        and int(attrs.get("seed", -1)) == seed
    )


def generate_split(
    generator: Generator,
    directory: str | Path,
    num_samples: int,
    seed: int,
    shard_size: int = 1000,
    shard: int = 0,
    num_shards: int = 1,
    overwrite: bool = False,
) -> list[Path]:
    """Generate this job's shards of one split into ``directory``; returns the shard paths it owns.

    Complete shards are kept (a re-run resumes); temporary files that a killed run of this job left
    are removed. Existing shards made with other parameters, another seed or another sharding are an
    error unless ``overwrite``; then they are removed.
    """
    if not 0 <= shard < num_shards:
        raise ConfigError(f"--shard must lie in [0, num_shards={num_shards}), got {shard}")
    directory = Path(directory)
    ranges = shard_ranges(num_samples, shard_size)
    count = len(ranges)
    expected = {shard_path(directory, i, count) for i in range(count)}
    for existing in sorted(directory.glob(SHARD_GLOB)):
        foreign = existing not in expected or (shard_is_complete(existing) and not _matches(existing, generator, seed))
        if foreign and not overwrite:
            raise DatasetError(
                f"{existing}: belongs to a dataset generated with other parameters, seed or sharding; "
                "pass --overwrite to replace it or choose another --out"
            )
        if foreign:
            existing.unlink()
    owned = [i for i in range(count) if i % num_shards == shard]
    names = {shard_path(directory, index, count).name for index in owned}
    for stale in directory.glob(f"*{TEMPORARY_MARK}*"):  # what a killed earlier run of this job left half-written
        if stale.name.split(TEMPORARY_MARK)[0] in names:
            stale.unlink(missing_ok=True)
    paths = []
    for index in progress(owned, total=len(owned), description=f"{generator.name} → {directory}"):
        path = shard_path(directory, index, count)
        paths.append(path)
        if shard_is_complete(path):
            continue
        start, stop = ranges[index]
        arrays = generator.generate(stop - start, np.random.default_rng([seed, index]))
        generator.check(arrays)
        write_shard(
            path,
            {key: value for key, value in arrays.items() if not key.startswith("_")},
            generator=generator.name,
            parameters=generator.get_params(),
            seed=seed,
            sample_range=(start, stop),
            shard_index=index,
            num_shards=count,
            shared=generator.shared(),
        )
    return paths
