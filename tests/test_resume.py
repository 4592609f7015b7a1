"""Resuming after a kill: SIGTERM saves the exact state and exits 143; after SIGKILL the last
validation's state remains; either way ``--ckpt_path last`` finishes the run, to the test error of an
uninterrupted run within 15% (the resumed epoch sees its batches in another order: Lightning does
not restore a plain DataLoader's position within an epoch)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import neuralsolvers
from neuralsolvers.checkpoints import read_checkpoint
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.train.losses import relative_l2

CONFIGS = Path(__file__).parents[1] / "configs"
COMMAND = [str(Path(sys.executable).parent / "neuralsolvers")]  # the installed command, as users run it
STEPS = 1500


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    splits = "[{name: train, num_samples: 2000, seed: 0}, {name: test, num_samples: 200, seed: 1}]"
    subprocess.run([*COMMAND, "generate", "--config", str(CONFIGS / "data/antiderivative.yaml"), "--splits", splits], cwd=root, check=True, capture_output=True)
    return root


def fit(directory: str, *extra: str) -> list[str]:
    return [*COMMAND, "fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), f"--trainer.max_steps={STEPS}", "--trainer.logger=false",
            "--trainer.enable_progress_bar=false", "--data.init_args.batch_size=10", "--trainer.val_check_interval=100",
            f"--checkpoint.dirpath={directory}", *extra]  # fmt: skip


def held_out_error(root: Path, directory: str) -> float:
    data = ShardedDataset(root / "data/antiderivative_l0.2/test")
    arrays, points = data.load(["u", "s"]), torch.as_tensor(data.shared["points"], dtype=torch.float32)
    with torch.no_grad():
        prediction = neuralsolvers.load(root / directory / "last.ckpt")(torch.as_tensor(arrays["u"], dtype=torch.float32), points)
    return float(relative_l2(prediction, torch.as_tensor(arrays["s"], dtype=torch.float32)).mean())


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_fit_resumes_to_the_uninterrupted_result(workdir, kill):
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    if not (workdir / "full/last.ckpt").exists():
        subprocess.run(fit("full"), cwd=workdir, env=env, check=True, capture_output=True)
    cut = f"cut_{kill.name}"
    process = subprocess.Popen(fit(cut), cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (workdir / cut / "last.ckpt").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # mid-epoch, past the first validation
    process.send_signal(kill)
    _, err = process.communicate(timeout=300)
    saved = read_checkpoint(workdir / cut / "last.ckpt")["global_step"]
    assert 0 < saved < STEPS, "the run ended before the signal: lower the machine's speed assumptions"
    if kill == signal.SIGTERM:
        assert process.returncode == 143 and "resume with --ckpt_path last" in err
        assert saved % 100 != 0  # the exact step of the signal, not the last validation's
    else:
        assert process.returncode == -signal.SIGKILL and saved % 100 == 0
    subprocess.run([*fit(cut), "--ckpt_path=last"], cwd=workdir, env=env, check=True, capture_output=True)
    assert read_checkpoint(workdir / cut / "last.ckpt")["global_step"] == STEPS
    full, resumed = held_out_error(workdir, "full"), held_out_error(workdir, cut)
    assert abs(resumed - full) <= 0.15 * full, (full, resumed)
