"""Sharded HDF5 datasets: atomic writes, metadata in every shard, validated reads.

A dataset split is a directory of ``shard-IIIII-of-NNNNN.h5`` files. Each holds per-sample arrays in
group ``samples`` and arrays common to all samples in group ``shared``; root attributes record the
generator, its parameters (JSON), the seed, the sample range, the package version, per-sample shapes
and dtypes, and ``complete`` (written last). Files are written under a temporary name in the same
directory and renamed when complete, so an interrupted write never leaves a partial shard.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np

from neuralsolvers.errors import DatasetError

__all__ = [
    "SHARD_GLOB",
    "SHARD_PATTERN",
    "ShardedDataset",
    "progress",
    "read_shard_attrs",
    "shard_is_complete",
    "shard_path",
    "shard_ranges",
    "write_shard",
]

SHARD_PATTERN = "shard-{index:05d}-of-{count:05d}.h5"
SHARD_GLOB = "shard-*-of-*.h5"
T = TypeVar("T")


def shard_path(directory: str | Path, index: int, count: int) -> Path:
    """Path of shard ``index`` of ``count`` in ``directory``."""
    return Path(directory) / SHARD_PATTERN.format(index=index, count=count)


def shard_ranges(num_samples: int, shard_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` blocks of ``shard_size`` covering ``range(num_samples)``."""
    if num_samples < 1 or shard_size < 1:
        raise ValueError(f"num_samples and shard_size must be positive, got {num_samples} and {shard_size}")
    return [(start, min(start + shard_size, num_samples)) for start in range(0, num_samples, shard_size)]


def _package_version() -> str:
    from neuralsolvers import __version__

    return __version__


def write_shard(
    path: str | Path,
    arrays: dict[str, np.ndarray],
    *,
    generator: str,
    parameters: dict[str, Any],
    seed: int,
    sample_range: tuple[int, int],
    shard_index: int,
    num_shards: int,
    shared: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write one shard atomically; per-sample arrays have leading dimension ``stop − start``."""
    path = Path(path)
    start, stop = sample_range
    for name, array in arrays.items():
        if np.shape(array)[:1] != (stop - start,):
            raise ValueError(f"array {name!r} has {np.shape(array)[:1]} samples, the shard range needs {stop - start}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(temporary, "w") as file:
            samples = file.create_group("samples")
            for name, array in arrays.items():
                samples.create_dataset(name, data=np.asarray(array))
            common = file.create_group("shared")
            for name, array in (shared or {}).items():
                common.create_dataset(name, data=np.asarray(array))
            attrs = file.attrs
            attrs["generator"] = generator
            attrs["parameters"] = json.dumps(parameters, sort_keys=True)
            attrs["seed"] = int(seed)
            attrs["sample_start"], attrs["sample_stop"] = int(start), int(stop)
            attrs["shard_index"], attrs["num_shards"] = int(shard_index), int(num_shards)
            attrs["package_version"] = _package_version()
            attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            attrs["shapes"] = json.dumps({k: list(np.shape(v)[1:]) for k, v in arrays.items()})
            attrs["dtypes"] = json.dumps({k: str(np.asarray(v).dtype) for k, v in arrays.items()})
            attrs["complete"] = True
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def read_shard_attrs(path: str | Path) -> dict[str, Any]:
    """Root attributes of a complete shard; ``DatasetError`` naming the file if it is not one."""
    try:
        with h5py.File(path, "r") as file:
            attrs = dict(file.attrs)
            lengths = {name: len(data) for name, data in file["samples"].items()}
    except (OSError, KeyError, ValueError) as error:
        raise DatasetError(f"{path}: corrupt or truncated shard ({error})") from None
    if not attrs.get("complete"):
        raise DatasetError(f"{path}: incomplete shard (written by an interrupted run?)")
    expected = int(attrs["sample_stop"]) - int(attrs["sample_start"])
    bad = {name: n for name, n in lengths.items() if n != expected}
    if bad:
        raise DatasetError(f"{path}: corrupt shard, arrays {bad} should hold {expected} samples")
    return attrs


def shard_is_complete(path: str | Path) -> bool:
    """True iff ``path`` is a readable, complete shard (never raises)."""
    try:
        read_shard_attrs(path)
    except DatasetError:
        return False
    return Path(path).is_file()


def _same(expected: Any, found: Any) -> bool:
    if isinstance(expected, int | float) and isinstance(found, int | float) and not isinstance(expected, bool):
        return math.isclose(expected, found, rel_tol=1e-12, abs_tol=0.0)
    return json.loads(json.dumps(expected)) == found


class ShardedDataset:
    """All shards of one dataset directory, read back as one dataset in sample order.

    Args:
        directory: the split's directory (``data/<name>/<split>``).
        expect: generator parameters the data must have been made with (each key checked).
        generator: the generator name the data must come from.

    Raises:
        DatasetError: missing directory, missing/corrupt/truncated/inconsistent shards, or data made
            with other parameters; the message names the file.
    """

    def __init__(self, directory: str | Path, expect: dict[str, Any] | None = None, generator: str | None = None):
        self.directory = Path(directory)
        self.paths = sorted(self.directory.glob(SHARD_GLOB)) if self.directory.is_dir() else []
        if not self.paths:
            raise DatasetError(f"no dataset at {self.directory}: run `neuralsolvers generate --config ...` first")
        attrs = [read_shard_attrs(path) for path in self.paths]
        first = attrs[0]
        count = int(first["num_shards"])
        indices = {int(a["shard_index"]) for a in attrs}
        missing = sorted(set(range(count)) - indices)
        if missing:
            raise DatasetError(f"{self.directory}: shards {missing} of {count} are missing (generation not finished?)")
        for path, a in zip(self.paths, attrs, strict=True):
            for key in ("generator", "parameters", "seed", "shapes", "num_shards"):
                if a[key] != first[key]:
                    raise DatasetError(f"{path}: {key} differs from {self.paths[0].name} in the same dataset")
        ranges = sorted((int(a["sample_start"]), int(a["sample_stop"])) for a in attrs)
        if ranges[0][0] != 0 or any(prev[1] != nxt[0] for prev, nxt in zip(ranges[:-1], ranges[1:], strict=True)):
            raise DatasetError(f"{self.directory}: shard sample ranges {ranges} are not contiguous")
        order = np.argsort([int(a["sample_start"]) for a in attrs])
        self.paths = [self.paths[i] for i in order]
        parameters = json.loads(first["parameters"])
        if generator is not None and first["generator"] != generator:
            raise DatasetError(f"{self.paths[0]}: made by generator {first['generator']!r}, the config expects {generator!r}")
        for key, value in (expect or {}).items():
            if key not in parameters:
                raise DatasetError(f"{self.paths[0]}: dataset has no parameter {key!r} (config expects {key}={value!r})")
            if not _same(value, parameters[key]):
                raise DatasetError(
                    f"{self.paths[0]}: dataset was generated with {key}={parameters[key]!r} "
                    f"but the config expects {key}={value!r}"
                )
        self.metadata: dict[str, Any] = {
            "generator": str(first["generator"]),
            "parameters": parameters,
            "seed": int(first["seed"]),
            "num_samples": ranges[-1][1],
            "num_shards": count,
            "package_version": str(first["package_version"]),
            "shapes": json.loads(first["shapes"]),
            "dtypes": json.loads(first["dtypes"]),
        }
        with h5py.File(self.paths[0], "r") as file:
            self.shared: dict[str, np.ndarray] = {name: data[()] for name, data in file["shared"].items()}

    def __len__(self) -> int:
        return self.metadata["num_samples"]

    def load(self, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Arrays ``name → (N, ...)`` concatenated over shards; NaN/Inf is an error naming the file."""
        names = list(self.metadata["shapes"]) if names is None else list(names)
        unknown = [name for name in names if name not in self.metadata["shapes"]]
        if unknown:
            raise DatasetError(f"{self.directory}: no arrays {unknown}; it holds {list(self.metadata['shapes'])}")
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for path in self.paths:
            try:
                with h5py.File(path, "r") as file:
                    for name in names:
                        array = file["samples"][name][()]
                        if array.dtype.kind in "fc" and not np.isfinite(array).all():
                            raise DatasetError(f"{path}: array {name!r} holds NaN or Inf values")
                        parts[name].append(array)
            except (OSError, KeyError) as error:
                raise DatasetError(f"{path}: corrupt or truncated shard ({error})") from None
        return {name: np.concatenate(chunks) for name, chunks in parts.items()}

    def __repr__(self) -> str:
        meta = self.metadata
        return f"ShardedDataset({str(self.directory)!r}, generator={meta['generator']!r}, samples={len(self)}, shards={meta['num_shards']})"


def progress(iterable: Iterable[T], total: int, description: str) -> Iterator[T]:
    """A rich progress bar over ``iterable``; plain iteration when ``NEURALSOLVERS_NO_PROGRESS=1``."""
    if os.environ.get("NEURALSOLVERS_NO_PROGRESS") == "1":
        yield from iterable
        return
    from rich.progress import track

    yield from track(iterable, total=total, description=description, transient=False)
