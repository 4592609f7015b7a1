"""The sharded HDF5 store: round trip, metadata checks, refusal of bad files, atomic writes."""

import json
import os
import re
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version

import h5py
import numpy as np
import pytest

from neuralsolvers.data_gen import store
from neuralsolvers.data_gen.store import (
    ShardedDataset,
    shard_is_complete,
    shard_path,
    shard_ranges,
    write_shard,
)
from neuralsolvers.errors import DatasetError


def _installed_version() -> str:
    """What the store must record: the installed package's version ("unknown" from a bare source tree)."""
    try:
        return version("neuralsolvers")
    except PackageNotFoundError:
        return "unknown"


PARAMS = {"length_scale": 0.2, "grid": [4, 2], "name": "x", "periodic": True}
GRID = np.linspace(0, 1, 4)


def write_dataset(directory, n=10, shard_size=4, skip=(), params=PARAMS, seed=0, generator="toy", order=None):
    """Write ``x (n, 4) float32`` and ``y (n, 4, 2) float64`` in shards; return the full arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = rng.standard_normal((n, 4, 2))
    ranges = shard_ranges(n, shard_size)
    for index in order or range(len(ranges)):
        if index in skip:
            continue
        start, stop = ranges[index]
        write_shard(
            shard_path(directory, index, len(ranges)),
            {"x": x[start:stop], "y": y[start:stop]},
            generator=generator, parameters=params, seed=seed, sample_range=(start, stop),
            shard_index=index, num_shards=len(ranges), shared={"grid": GRID},
        )
    return x, y


def one_shard(path, n=4, **overrides):
    kwargs = dict(generator="toy", parameters=PARAMS, seed=0, sample_range=(0, n), shard_index=0, num_shards=1)
    return write_shard(path, {"x": np.arange(2.0 * n).reshape(n, 2)}, **{**kwargs, **overrides})


def test_shard_ranges_and_names(tmp_path):
    assert shard_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shard_ranges(8, 4) == [(0, 4), (4, 8)]
    assert shard_ranges(3, 5) == [(0, 3)]
    assert shard_ranges(1, 1) == [(0, 1)]
    for n, size in [(1, 3), (17, 5), (100, 7)]:
        ranges = shard_ranges(n, size)
        assert [i for start, stop in ranges for i in range(start, stop)] == list(range(n))
        assert all(stop - start == size for start, stop in ranges[:-1])
    for bad in [(0, 4), (-1, 4), (10, 0), (10, -2)]:
        with pytest.raises(ValueError):
            shard_ranges(*bad)
    assert shard_path(tmp_path, 2, 11) == tmp_path / "shard-00002-of-00011.h5"
    assert shard_path(str(tmp_path), 0, 1).name == "shard-00000-of-00001.h5"


def test_round_trip_reads_shards_as_one_dataset(tmp_path):
    x, y = write_dataset(tmp_path, order=[2, 0, 1])
    dataset = ShardedDataset(tmp_path, expect={"length_scale": 0.2, "grid": (4, 2)}, generator="toy")
    arrays = dataset.load()
    assert set(arrays) == {"x", "y"}
    assert arrays["x"].dtype == np.float32 and arrays["y"].dtype == np.float64
    np.testing.assert_array_equal(arrays["x"], x)
    np.testing.assert_array_equal(arrays["y"], y)
    assert list(dataset.load(["y"])) == ["y"]
    assert len(dataset) == 10
    np.testing.assert_array_equal(dataset.shared["grid"], GRID)
    assert dataset.metadata == {
        "generator": "toy",
        "parameters": PARAMS,
        "seed": 0,
        "num_samples": 10,
        "num_shards": 3,
        "package_version": _installed_version(),
        "shapes": {"x": [4], "y": [4, 2]},
        "dtypes": {"x": "float32", "y": "float64"},
    }
    assert "toy" in repr(dataset) and "samples=10" in repr(dataset)
    with pytest.raises(DatasetError, match="no arrays"):
        dataset.load(["z"])


def test_shard_attributes(tmp_path, monkeypatch):
    written = []
    original = h5py.AttributeManager.__setitem__

    def record(self, name, value):
        written.append(name)
        original(self, name, value)

    monkeypatch.setattr(h5py.AttributeManager, "__setitem__", record)
    path = one_shard(tmp_path / "deep" / "dir" / "s.h5", parameters={"b": 1, "a": [1.5, "u"]},
                     seed=7, sample_range=(8, 12), shard_index=2, num_shards=3)
    assert written[-1] == "complete"
    with h5py.File(path, "r") as file:
        attrs = dict(file.attrs)
        assert file["samples/x"].shape == (4, 2) and list(file["shared"]) == []
    assert attrs["parameters"] == '{"a": [1.5, "u"], "b": 1}'
    assert (attrs["seed"], attrs["sample_start"], attrs["sample_stop"]) == (7, 8, 12)
    assert (attrs["shard_index"], attrs["num_shards"], bool(attrs["complete"])) == (2, 3, True)
    assert json.loads(attrs["shapes"]) == {"x": [2]} and json.loads(attrs["dtypes"]) == {"x": "float64"}
    created = datetime.fromisoformat(attrs["created"])
    assert created.utcoffset() == timedelta(0)
    assert attrs["package_version"] == _installed_version()


def test_truncated_file_is_refused_with_its_name(tmp_path):
    write_dataset(tmp_path)
    victim = shard_path(tmp_path, 1, 3)
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="corrupt or truncated") as error:
        ShardedDataset(tmp_path)
    assert str(victim) in str(error.value)
    assert not shard_is_complete(victim)


def test_garbage_file_is_refused_with_its_name(tmp_path):
    write_dataset(tmp_path)
    victim = shard_path(tmp_path, 0, 3)
    victim.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(DatasetError, match="corrupt or truncated") as error:
        ShardedDataset(tmp_path)
    assert str(victim) in str(error.value)


def test_wrong_array_length_is_refused(tmp_path):
    write_dataset(tmp_path)
    victim = shard_path(tmp_path, 2, 3)
    with h5py.File(victim, "r+") as file:
        del file["samples/y"]
        file["samples"].create_dataset("y", data=np.zeros((1, 4, 2)))
    assert not shard_is_complete(victim)
    with pytest.raises(DatasetError, match="corrupt or truncated") as error:
        ShardedDataset(tmp_path)
    assert str(victim) in str(error.value)


def test_missing_shard_is_named(tmp_path):
    write_dataset(tmp_path, skip=(1,))
    with pytest.raises(DatasetError, match=r"shards \[1\] of 3 are missing"):
        ShardedDataset(tmp_path)


def test_missing_or_empty_directory_says_how_to_make_it(tmp_path):
    for directory in (tmp_path / "nothing", tmp_path):
        with pytest.raises(DatasetError, match="neuralsolvers generate") as error:
            ShardedDataset(directory)
        assert str(directory) in str(error.value)


def test_mismatched_parameters_are_named(tmp_path):
    write_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"length_scale=0.2 but the config expects length_scale=0.1") as error:
        ShardedDataset(tmp_path, expect={"length_scale": 0.1})
    assert str(shard_path(tmp_path, 0, 3)) in str(error.value)
    with pytest.raises(DatasetError, match="no parameter 'alpha'"):
        ShardedDataset(tmp_path, expect={"alpha": 1})
    for wrong in [{"grid": [4, 3]}, {"grid": [4]}, {"name": "y"}, {"periodic": 1}, {"length_scale": 0.2 * (1 + 1e-9)}]:
        with pytest.raises(DatasetError, match="but the config expects"):
            ShardedDataset(tmp_path, expect=wrong)
    ShardedDataset(tmp_path, expect={"length_scale": 0.2 * (1 + 1e-14), "grid": (4.0, 2), "periodic": True})


def test_mismatched_generator_is_named(tmp_path):
    write_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"generator 'toy', the config expects 'darcy'") as error:
        ShardedDataset(tmp_path, generator="darcy")
    assert str(shard_path(tmp_path, 0, 3)) in str(error.value)


def test_shards_of_different_datasets_are_not_mixed(tmp_path):
    write_dataset(tmp_path)
    write_dataset(tmp_path / "other", params={**PARAMS, "length_scale": 0.5})
    os.replace(shard_path(tmp_path / "other", 2, 3), shard_path(tmp_path, 2, 3))
    with pytest.raises(DatasetError, match=re.escape(f"{shard_path(tmp_path, 2, 3)}: parameters differs")):
        ShardedDataset(tmp_path)


def test_shards_of_another_sharding_are_not_mixed(tmp_path):
    write_dataset(tmp_path)
    write_dataset(tmp_path / "other", shard_size=5)
    os.replace(shard_path(tmp_path / "other", 1, 2), shard_path(tmp_path, 1, 2))
    with pytest.raises(DatasetError, match="num_shards differs"):
        ShardedDataset(tmp_path)


def test_gaps_and_overlaps_are_refused(tmp_path):
    for index, (start, stop) in enumerate([(0, 4), (5, 8)]):
        one_shard(shard_path(tmp_path / "gap", index, 2), n=stop - start, sample_range=(start, stop),
                  shard_index=index, num_shards=2)
    with pytest.raises(DatasetError, match="not contiguous"):
        ShardedDataset(tmp_path / "gap")
    for index, (start, stop) in enumerate([(0, 4), (2, 6)]):
        one_shard(shard_path(tmp_path / "overlap", index, 2), n=stop - start, sample_range=(start, stop),
                  shard_index=index, num_shards=2)
    with pytest.raises(DatasetError, match="not contiguous"):
        ShardedDataset(tmp_path / "overlap")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_is_refused_on_load(tmp_path, value):
    write_dataset(tmp_path)
    victim = shard_path(tmp_path, 1, 3)
    with h5py.File(victim, "r+") as file:
        file["samples/y"][0, 0, 1] = value
    dataset = ShardedDataset(tmp_path)
    dataset.load(["x"])
    with pytest.raises(DatasetError, match="'y' holds NaN or Inf") as error:
        dataset.load()
    assert str(victim) in str(error.value)


def test_nan_in_shared_arrays_is_refused(tmp_path):
    write_dataset(tmp_path)
    with h5py.File(shard_path(tmp_path, 0, 3), "r+") as file:
        file["shared/grid"][1] = np.nan
    with pytest.raises(DatasetError, match="'grid' holds NaN"):
        ShardedDataset(tmp_path)


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    x, _ = write_dataset(tmp_path)
    target = shard_path(tmp_path, 0, 3)
    before = target.read_bytes()
    calls = {"n": 0}
    original = h5py.Group.create_dataset

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] % 2 == 0:  # the second array of each write
            raise KeyboardInterrupt("killed mid-write")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(KeyboardInterrupt):
        write_shard(target, {"x": x[:4], "y": x[:4]}, generator="toy", parameters=PARAMS, seed=0,
                    sample_range=(0, 4), shard_index=0, num_shards=3)
    with pytest.raises(KeyboardInterrupt):
        one_shard(tmp_path / "new.h5", sample_range=(0, 4), shared={"grid": GRID})
    assert calls["n"] == 4
    assert target.read_bytes() == before and shard_is_complete(target)
    assert not (tmp_path / "new.h5").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [shard_path(tmp_path, i, 3).name for i in range(3)]
    monkeypatch.undo()
    ShardedDataset(tmp_path).load()


def test_bad_arguments_write_nothing(tmp_path):
    with pytest.raises(ValueError, match="samples"):
        write_shard(tmp_path / "s.h5", {"x": np.zeros((3, 2))}, generator="toy", parameters={}, seed=0,
                    sample_range=(0, 4), shard_index=0, num_shards=1)
    with pytest.raises(ValueError, match="JSON"):
        one_shard(tmp_path / "s.h5", parameters={"f": object()})
    with pytest.raises(ValueError, match="JSON"):
        one_shard(tmp_path / "s.h5", parameters={"f": float("nan")})
    with pytest.raises(ValueError):
        one_shard(tmp_path / "s.h5", shard_index=1, num_shards=1)
    assert list(tmp_path.iterdir()) == []
    one_shard(tmp_path / "s.h5", parameters={"f": np.float32(0.5), "n": np.int64(3), "v": np.arange(2)})
    with h5py.File(tmp_path / "s.h5", "r") as file:
        assert json.loads(file.attrs["parameters"]) == {"f": 0.5, "n": 3, "v": [0, 1]}


def test_shard_is_complete(tmp_path):
    path = one_shard(tmp_path / "a" / "s.h5")
    assert shard_is_complete(path) and shard_is_complete(str(path))
    assert not shard_is_complete(tmp_path / "absent.h5")
    assert not shard_is_complete(tmp_path / "a")
    (tmp_path / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert not shard_is_complete(tmp_path / "garbage.h5")
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    assert not shard_is_complete(tmp_path / "empty.h5")
    with h5py.File(path, "r+") as file:
        del file.attrs["sample_stop"]
    assert not shard_is_complete(path)
    with pytest.raises(DatasetError, match="missing"):
        store.read_shard_attrs(path)


def test_incomplete_flag_is_refused(tmp_path):
    write_dataset(tmp_path)
    with h5py.File(shard_path(tmp_path, 0, 3), "r+") as file:
        file.attrs["complete"] = False
    assert not shard_is_complete(shard_path(tmp_path, 0, 3))
    with pytest.raises(DatasetError, match="incomplete"):
        ShardedDataset(tmp_path)


def test_progress(monkeypatch, capsys):
    monkeypatch.setenv("NEURALSOLVERS_NO_PROGRESS", "1")
    items = [0, 1, 2]
    assert store.progress(items, total=3, description="x") is items
    monkeypatch.delenv("NEURALSOLVERS_NO_PROGRESS")
    assert list(store.progress(iter(items), total=3, description="x")) == items
