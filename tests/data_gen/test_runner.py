"""Generation runs: the same data however it is sharded, resume, refusal of foreign shards."""

import numpy as np
import pytest

from neuralsolvers.data_gen import Antiderivative, ShardedDataset
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import ConfigError, DatasetError


@pytest.fixture
def generator():
    return Antiderivative(num_sensors=8, num_points=6, fine_points=401)


def test_sharded_jobs_make_the_same_data_as_one_job(tmp_path, generator):
    generate_split(generator, tmp_path / "one", 25, seed=3, shard_size=10)
    for job in range(3):
        generate_split(generator, tmp_path / "many", 25, seed=3, shard_size=10, shard=job, num_shards=3)
    one = ShardedDataset(tmp_path / "one").load()
    many = ShardedDataset(tmp_path / "many").load()
    np.testing.assert_array_equal(one["u"], many["u"])
    assert one["u"].shape == (25, 8)


def test_partial_jobs_leave_an_incomplete_dataset(tmp_path, generator):
    generate_split(generator, tmp_path, 25, seed=3, shard_size=10, shard=0, num_shards=2)
    with pytest.raises(DatasetError, match="missing"):
        ShardedDataset(tmp_path)


def test_rerun_skips_complete_shards(tmp_path, generator):
    paths = generate_split(generator, tmp_path, 20, seed=0, shard_size=10)
    stamps = [p.stat().st_mtime_ns for p in paths]
    paths[1].unlink()
    generate_split(generator, tmp_path, 20, seed=0, shard_size=10)
    assert paths[0].stat().st_mtime_ns == stamps[0]
    assert paths[1].is_file()


def test_foreign_shards_need_overwrite(tmp_path, generator):
    generate_split(generator, tmp_path, 20, seed=0, shard_size=10)
    other = Antiderivative(length_scale=0.1, num_sensors=8, num_points=6, fine_points=401)
    with pytest.raises(DatasetError, match="--overwrite"):
        generate_split(other, tmp_path, 20, seed=0, shard_size=10)
    generate_split(other, tmp_path, 20, seed=0, shard_size=5, overwrite=True)
    dataset = ShardedDataset(tmp_path, expect={"length_scale": 0.1})
    assert dataset.metadata["num_shards"] == 4


def test_bad_shard_index(tmp_path, generator):
    with pytest.raises(ConfigError, match="--shard"):
        generate_split(generator, tmp_path, 20, seed=0, shard=2, num_shards=2)
