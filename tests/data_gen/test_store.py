"""The sharded HDF5 store: round trip, metadata checks, refusal of bad files, atomic writes."""

import os

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

PARAMS = {"length_scale": 0.2, "grid": [4, 2], "name": "x"}


def write_dataset(directory, n=10, shard_size=4, skip=(), params=PARAMS, seed=0, generator="toy"):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = rng.standard_normal((n, 4, 2))
    ranges = shard_ranges(n, shard_size)
    for index, (start, stop) in enumerate(ranges):
        if index in skip:
            continue
        write_shard(
            shard_path(directory, index, len(ranges)),
            {"x": x[start:stop], "y": y[start:stop]},
            generator=generator, parameters=params, seed=seed, sample_range=(start, stop),
            shard_index=index, num_shards=len(ranges), shared={"grid": np.linspace(0, 1, 4)},
        )
    return x, y


def test_shard_ranges_and_names(tmp_path):
    assert shard_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shard_ranges(3, 5) == [(0, 3)]
    assert shard_path(tmp_path, 2, 11).name == "shard-00002-of-00011.h5"
    with pytest.raises(ValueError):
        shard_ranges(0, 4)


def test_round_trip_reads_shards_as_one_dataset(tmp_path):
    x, y = write_dataset(tmp_path)
    dataset = ShardedDataset(tmp_path, expect={"length_scale": 0.2, "grid": (4, 2)}, generator="toy")
    arrays = dataset.load()
    np.testing.assert_array_equal(arrays["x"], x)
    np.testing.assert_array_equal(arrays["y"], y)
    assert len(dataset) == 10
    assert dataset.metadata["num_shards"] == 3
    assert dataset.metadata["shapes"] == {"x": [4], "y": [4, 2]}
    assert dataset.metadata["parameters"] == PARAMS
    np.testing.assert_array_equal(dataset.shared["grid"], np.linspace(0, 1, 4))


def test_truncated_file_is_refused_with_its_name(tmp_path):
    write_dataset(tmp_path)
    victim = shard_path(tmp_path, 1, 3)
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=str(victim)):
        ShardedDataset(tmp_path)
    assert not shard_is_complete(victim)


def test_garbage_file_is_refused_with_its_name(tmp_path):
    write_dataset(tmp_path)
    victim = shard_path(tmp_path, 0, 3)
    victim.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(DatasetError, match="corrupt or truncated") as error:
        ShardedDataset(tmp_path)
    assert str(victim) in str(error.value)


def test_missing_shard_is_named(tmp_path):
    write_dataset(tmp_path, skip=(1,))
    with pytest.raises(DatasetError, match=r"shards \[1\] of 3 are missing"):
        ShardedDataset(tmp_path)


def test_missing_directory_says_how_to_make_it(tmp_path):
    with pytest.raises(DatasetError, match="neuralsolvers generate"):
        ShardedDataset(tmp_path / "nothing")


def test_mismatched_parameters_are_named(tmp_path):
    write_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"length_scale=0.2 but the config expects length_scale=0.1"):
        ShardedDataset(tmp_path, expect={"length_scale": 0.1})
    with pytest.raises(DatasetError, match="no parameter 'alpha'"):
        ShardedDataset(tmp_path, expect={"alpha": 1})
    with pytest.raises(DatasetError, match="generator 'toy'"):
        ShardedDataset(tmp_path, generator="darcy")


def test_shards_of_different_datasets_are_not_mixed(tmp_path):
    write_dataset(tmp_path)
    write_dataset(tmp_path / "other", params={**PARAMS, "length_scale": 0.5})
    os.replace(shard_path(tmp_path / "other", 2, 3), shard_path(tmp_path, 2, 3))
    with pytest.raises(DatasetError, match="parameters differs"):
        ShardedDataset(tmp_path)


def test_nan_is_refused_on_load(tmp_path):
    write_dataset(tmp_path)
    with h5py.File(shard_path(tmp_path, 1, 3), "r+") as file:
        file["samples/x"][0, 0] = np.nan
    with pytest.raises(DatasetError, match="NaN"):
        ShardedDataset(tmp_path).load(["x"])


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
        write_shard(tmp_path / "new.h5", {"x": x[:4], "y": x[:4]}, generator="toy", parameters=PARAMS, seed=0,
                    sample_range=(0, 4), shard_index=0, num_shards=1)
    assert target.read_bytes() == before
    assert not (tmp_path / "new.h5").exists()
    assert not list(tmp_path.glob("*.tmp-*"))


def test_wrong_sample_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match="samples"):
        write_shard(tmp_path / "s.h5", {"x": np.zeros((3, 2))}, generator="toy", parameters={}, seed=0,
                    sample_range=(0, 4), shard_index=0, num_shards=1)


def test_incomplete_flag_is_refused(tmp_path):
    write_dataset(tmp_path)
    with h5py.File(shard_path(tmp_path, 0, 3), "r+") as file:
        file.attrs["complete"] = False
    assert not shard_is_complete(shard_path(tmp_path, 0, 3))
    with pytest.raises(DatasetError, match="incomplete"):
        ShardedDataset(tmp_path)


def test_progress_can_be_disabled(monkeypatch):
    monkeypatch.setenv("NEURALSOLVERS_NO_PROGRESS", "1")
    assert list(store.progress(range(3), total=3, description="x")) == [0, 1, 2]
