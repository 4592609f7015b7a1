"""Generation runs: the same data however it is sharded, resume, refusal of foreign shards."""

import numpy as np
import pytest

from neuralsolvers.data_gen import Antiderivative, ShardedDataset
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import read_shard_attrs
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


def test_generation_killed_mid_way_resumes_to_the_same_dataset(tmp_path):
    """A real ``neuralsolvers generate`` killed by SIGKILL between shards: only complete shards are
    visible, the re-run skips them (untouched), removes the killed write's temporary file and ends
    with the dataset of an uninterrupted run, bit for bit."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "neuralsolvers"), "generate", "--config",
               str(Path(__file__).parents[2] / "configs/data/antiderivative.yaml"), "--shard_size=50"]  # fmt: skip
    split = lambda out: [f"--out={out}", "--splits=[{name: train, num_samples: 3000, seed: 0}]"]  # noqa: E731
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([*command, *split(tmp_path / "killed")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    directory, deadline = tmp_path / "killed/train", time.time() + 120
    while len(list(directory.glob("*.h5"))) < 5 and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    (directory / "shard-00059-of-00060.h5.tmp-1").write_bytes(b"half a shard")  # as a kill mid-write leaves it
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = sorted(directory.glob("*.h5"))
    assert 5 <= len(done) < 60, "the run ended before the kill: lower the machine's speed assumptions"
    assert all(read_shard_attrs(path)["complete"] for path in done)  # nothing partial under a shard's name
    with pytest.raises(DatasetError, match="missing"):
        ShardedDataset(directory)
    stamps = {path: path.stat().st_mtime_ns for path in done}
    subprocess.run([*command, *split(tmp_path / "killed")], env=env, check=True, capture_output=True)
    subprocess.run([*command, *split(tmp_path / "whole")], env=env, check=True, capture_output=True)
    assert all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items())
    assert not list(directory.glob("*.tmp-*"))
    resumed, whole = ShardedDataset(directory).load(), ShardedDataset(tmp_path / "whole/train").load()
    assert resumed.keys() == whole.keys() and all(np.array_equal(resumed[key], whole[key]) for key in whole)
