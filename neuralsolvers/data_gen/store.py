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
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np

from neuralsolvers.errors import DatasetError

__all__ = ["SHARD_GLOB", "SHARD_PATTERN", "TEMPORARY_MARK", "ShardedDataset", "progress", "read_shard_attrs",
           "shard_is_complete", "shard_path", "shard_ranges", "write_shard"]  # fmt: skip

SHARD_PATTERN = "shard-{index:05d}-of-{count:05d}.h5"
SHARD_GLOB = "shard-*-of-*.h5"
TEMPORARY_MARK = ".tmp-"  # a shard being written: <shard name>.tmp-<pid>, renamed when complete
_REQUIRED = ("generator", "parameters", "seed", "sample_start", "sample_stop", "shard_index",
             "num_shards", "package_version", "shapes", "dtypes")  # fmt: skip
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
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neuralsolvers")
    except PackageNotFoundError:
        return "unknown"


def _json(value: Any) -> str:
    """Canonical JSON (sorted keys, no NaN); numpy scalars/arrays become plain numbers/lists."""

    def plain(obj: Any) -> Any:
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON-serializable")

    return json.dumps(value, sort_keys=True, allow_nan=False, default=plain)


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
    """Write one shard atomically: ``arrays[name]`` is ``(stop − start, ...)``, ``shared[name]`` any shape.

    Raises ``ValueError`` for inconsistent arguments; the final path is only ever a complete shard.
    """
    path, (start, stop) = Path(path), (int(sample_range[0]), int(sample_range[1]))
    if not 0 <= start <= stop or not 0 <= shard_index < num_shards:
        raise ValueError(f"bad sample range {sample_range} or shard {shard_index} of {num_shards}")
    arrays = {name: np.asarray(array) for name, array in arrays.items()}
    shared = {name: np.asarray(array) for name, array in (shared or {}).items()}
    for name in [*arrays, *shared]:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"array names must be non-empty strings without '/', got {name!r}")
    for name, array in arrays.items():
        if array.shape[:1] != (stop - start,):
            raise ValueError(f"array {name!r} has {array.shape[:1]} samples, the shard range needs {stop - start}")
    try:
        parameters_json = _json(parameters)
    except (TypeError, ValueError) as error:
        raise ValueError(f"generator parameters must be JSON-serializable: {error}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}{TEMPORARY_MARK}{os.getpid()}")
    try:
        with h5py.File(temporary, "w") as file:
            samples, common = file.create_group("samples"), file.create_group("shared")
            for name, array in arrays.items():
                samples.create_dataset(name, data=array)
            for name, array in shared.items():
                common.create_dataset(name, data=array)
            attrs = file.attrs
            attrs["generator"], attrs["parameters"], attrs["seed"] = generator, parameters_json, int(seed)
            attrs["sample_start"], attrs["sample_stop"] = start, stop
            attrs["shard_index"], attrs["num_shards"] = int(shard_index), int(num_shards)
            attrs["package_version"] = _package_version()
            attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            attrs["shapes"] = _json({k: list(v.shape[1:]) for k, v in arrays.items()})
            attrs["dtypes"] = _json({k: str(v.dtype) for k, v in arrays.items()})
            attrs["complete"] = True  # last: a file without it was never finished
        with open(temporary, "rb") as handle:  # durable before it becomes visible
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def read_shard_attrs(path: str | Path) -> dict[str, Any]:
    """Root attributes of a complete, self-consistent shard; ``DatasetError`` naming the file if not."""
    try:
        with h5py.File(path, "r") as file:
            attrs = dict(file.attrs)
            if not attrs.get("complete"):
                problem = "incomplete: no complete=True mark, written by an interrupted run?"
            elif missing := [key for key in _REQUIRED if key not in attrs]:
                problem = f"attributes {missing} missing"
            else:
                count = int(attrs["sample_stop"]) - int(attrs["sample_start"])
                expected = {k: (count, *v) for k, v in json.loads(attrs["shapes"]).items()}
                for key in ("parameters", "dtypes"):
                    json.loads(attrs[key])  # must parse
                found = {name: data.shape for name, data in file["samples"].items()}
                problem = None if found == expected else f"arrays {found}, metadata says {expected}"
                if "shared" not in file:
                    problem = "group 'shared' missing"
    except Exception as error:  # h5py raises OSError, KeyError, ValueError, RuntimeError, ...
        raise DatasetError(f"{path}: corrupt or truncated shard ({error})") from None
    if problem:
        raise DatasetError(f"{path}: corrupt or truncated shard ({problem})")
    return attrs


def shard_is_complete(path: str | Path) -> bool:
    """True iff ``path`` is a readable, complete shard (never raises)."""
    try:
        read_shard_attrs(path)
    except Exception:
        return False
    return True


def _same(expected: Any, found: Any) -> bool:
    """JSON values equal, numbers (not bools) compared with relative tolerance 1e-12."""
    if isinstance(expected, bool) or isinstance(found, bool):
        return type(expected) is type(found) and expected == found
    if isinstance(expected, int | float) and isinstance(found, int | float):
        return math.isclose(expected, found, rel_tol=1e-12, abs_tol=0.0)
    if isinstance(expected, list) and isinstance(found, list):
        return len(expected) == len(found) and all(map(_same, expected, found))
    if isinstance(expected, dict) and isinstance(found, dict):
        return expected.keys() == found.keys() and all(_same(v, found[k]) for k, v in expected.items())
    return expected == found


class ShardedDataset:
    """All shards of one dataset directory, read back as one dataset in sample order.

    Args:
        directory: the split's directory (``data/<name>/<split>``).
        expect: generator parameters the data must have been made with (each key checked).
        generator: the generator name the data must come from.

    Raises:
        DatasetError: missing directory, missing/corrupt/truncated/inconsistent shards, or data made
            with another generator or parameters; the message names the directory or file.
    """

    def __init__(self, directory: str | Path, expect: dict[str, Any] | None = None, generator: str | None = None):
        self.directory = Path(directory)
        paths = sorted(self.directory.glob(SHARD_GLOB)) if self.directory.is_dir() else []
        if not paths:
            raise DatasetError(f"no dataset at {self.directory}: run `neuralsolvers generate --config ...` first")
        attrs = {path: read_shard_attrs(path) for path in paths}
        first, head = attrs[paths[0]], paths[0]
        count = int(first["num_shards"])
        for path, a in attrs.items():
            for key in ("generator", "parameters", "seed", "shapes", "dtypes", "num_shards"):
                if a[key] != first[key]:
                    raise DatasetError(f"{path}: {key} differs from {head.name} in the same dataset")
            index = int(a["shard_index"])
            if not 0 <= index < count or path.name != SHARD_PATTERN.format(index=index, count=count):
                raise DatasetError(f"{path}: holds shard {a['shard_index']} of {count}, not what its name says")
        missing = sorted(set(range(count)) - {int(a["shard_index"]) for a in attrs.values()})
        if missing:
            raise DatasetError(f"{self.directory}: shards {missing} of {count} are missing (generation not finished?)")
        self.paths = sorted(paths, key=lambda p: int(attrs[p]["sample_start"]))
        ranges = [(int(attrs[p]["sample_start"]), int(attrs[p]["sample_stop"])) for p in self.paths]
        if ranges[0][0] != 0 or any(a[1] != b[0] for a, b in zip(ranges[:-1], ranges[1:], strict=True)):
            raise DatasetError(f"{self.directory}: shard sample ranges {ranges} are not contiguous")
        if generator is not None and first["generator"] != generator:
            raise DatasetError(f"{head}: made by generator {first['generator']!r}, the config expects {generator!r}")
        parameters = json.loads(first["parameters"])
        for key, value in (expect or {}).items():
            if key not in parameters:
                raise DatasetError(f"{head}: dataset has no parameter {key!r} (the config expects {key}={value!r})")
            try:
                wanted = json.loads(_json(value))
            except (TypeError, ValueError):
                wanted = value
            if not _same(wanted, parameters[key]):
                raise DatasetError(
                    f"{head}: dataset was generated with {key}={parameters[key]!r} but the config expects {key}={value!r}"
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
        shared = [self._read(path, "shared", None) for path in self.paths]
        for path, arrays in zip(self.paths, shared, strict=True):
            if arrays.keys() != shared[0].keys() or not all(np.array_equal(v, shared[0][k]) for k, v in arrays.items()):
                raise DatasetError(f"{path}: shared arrays differ from {self.paths[0].name} in the same dataset")
        self.shared: dict[str, np.ndarray] = shared[0]

    @staticmethod
    def _read(path: Path, group: str, names: Sequence[str] | None) -> dict[str, np.ndarray]:
        """Arrays of one group of one shard; NaN/Inf or unreadable data is an error naming the file."""
        try:
            with h5py.File(path, "r") as file:
                data = file[group]
                arrays = {name: data[name][()] for name in (list(data) if names is None else names)}
        except Exception as error:
            raise DatasetError(f"{path}: corrupt or truncated shard ({error})") from None
        for name, array in arrays.items():
            values = np.asarray(array)
            if values.dtype.kind in "fc" and not np.isfinite(values).all():
                raise DatasetError(f"{path}: {group} array {name!r} holds NaN or Inf values")
        return arrays

    def __len__(self) -> int:
        return self.metadata["num_samples"]

    def load(self, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Arrays ``name → (N, *shapes[name])`` concatenated over shards in sample order (default all)."""
        names = list(self.metadata["shapes"]) if names is None else list(names)
        unknown = [name for name in names if name not in self.metadata["shapes"]]
        if unknown:
            raise DatasetError(f"{self.directory}: no arrays {unknown}; it holds {list(self.metadata['shapes'])}")
        parts = [self._read(path, "samples", names) for path in self.paths]
        return {name: np.concatenate([part[name] for part in parts]) for name in names}

    def __repr__(self) -> str:
        meta = self.metadata
        return (
            f"ShardedDataset({str(self.directory)!r}, generator={meta['generator']!r}, "
            f"samples={len(self)}, shards={meta['num_shards']})"
        )


def progress(iterable: Iterable[T], total: int, description: str) -> Iterable[T]:
    """A rich progress bar over ``iterable``; the iterable itself when ``NEURALSOLVERS_NO_PROGRESS=1``."""
    if os.environ.get("NEURALSOLVERS_NO_PROGRESS") == "1":
        return iterable
    from rich.progress import track

    return track(iterable, total=total, description=description, transient=False)
