"""Resuming after a kill: SIGTERM saves the exact state and exits 143; after SIGKILL the last
validation's state remains; either way ``--ckpt_path last`` finishes the run with the weights of an
uninterrupted run, bit for bit (the training loader keeps its position within the epoch)."""

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
from neuralsolvers.physics.losses import relative_l2

pytestmark = pytest.mark.long  # subprocess training runs: `pytest -m long` (make test, CI)
CONFIGS = Path(__file__).parents[1] / "configs"
COMMAND = [str(Path(sys.executable).parent / "neuralsolvers")]  # the installed command, as users run it
STEPS = 1000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    splits = "[{name: train, num_samples: 2000, seed: 0}, {name: test, num_samples: 200, seed: 1}]"
    subprocess.run([*COMMAND, "generate", "--config", str(CONFIGS / "data/antiderivative.yaml"), "--splits", splits], cwd=root, check=True, capture_output=True)
    return root


def fit(directory: str, *extra: str, wandb: bool = False) -> list[str]:
    return [*COMMAND, "fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), f"--trainer.max_steps={STEPS}",
            *([] if wandb else ["--trainer.logger=false"]), "--trainer.enable_progress_bar=false", "--data.init_args.batch_size=10",
            "--trainer.val_check_interval=100", f"--checkpoint.dirpath={directory}", *extra]  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 300) -> None:
    """Until ``path`` exists (or the process ended, or ``seconds`` passed)."""
    deadline = time.time() + seconds
    while not path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)


def validation_steps(train_samples: int = 1800, batch_size: int = 10, interval: int = 100) -> set[int]:
    """The global steps after which `fit` validates (and writes ``last.ckpt``): every ``interval``
    batches within an epoch and at each epoch's end (2000 samples, the last 10 % held out: 180 steps)."""
    per_epoch = -(-train_samples // batch_size)
    epochs = range(STEPS // per_epoch + 1)
    return {e * per_epoch + j for e in epochs for j in [*range(interval, per_epoch, interval), per_epoch] if e * per_epoch + j <= STEPS}


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
    wait_for(workdir / cut / "last.ckpt", process)
    time.sleep(0.3)  # mid-epoch, past the first validation
    process.send_signal(kill)
    _, err = process.communicate(timeout=300)
    saved = read_checkpoint(workdir / cut / "last.ckpt")["global_step"]
    assert 0 < saved < STEPS, "the run ended before the signal: lower the machine's speed assumptions"
    validations = validation_steps()
    if kill == signal.SIGTERM:
        assert process.returncode == 143 and "resume with --ckpt_path last" in err
        assert saved not in validations  # the exact step of the signal, not the last validation's
    else:
        assert process.returncode == -signal.SIGKILL and saved in validations
    subprocess.run([*fit(cut), "--ckpt_path=last"], cwd=workdir, env=env, check=True, capture_output=True)
    assert read_checkpoint(workdir / cut / "last.ckpt")["global_step"] == STEPS
    full = read_checkpoint(workdir / "full/last.ckpt")["state_dict"]
    resumed = read_checkpoint(workdir / cut / "last.ckpt")["state_dict"]
    assert all(torch.equal(full[key], resumed[key]) for key in full)  # the same batches in the same order


def test_slurm_requeue_saves_requeues_and_resumes_the_same_run(workdir, tmp_path):
    """Inside a SLURM job (its variables set, a stand-in ``scontrol`` on the PATH): SIGUSR1 writes
    ``hpc_ckpt_1.ckpt`` in the root directory and requeues the job; the job's SIGTERM stops it (143);
    the requeued job, the same command, resumes from that checkpoint by itself, in the same W&B run."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "scontrol").write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'requeued'}\n")
    (tools / "scontrol").chmod(0o755)
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "PATH": f"{tools}:{os.environ['PATH']}",
           "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "fit", "SLURM_JOB_ID": "4242", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0"}  # fmt: skip
    command = fit("slurm/checkpoints", "--trainer.default_root_dir=slurm", wandb=True)
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(workdir / "slurm/checkpoints/last.ckpt", process)
    time.sleep(0.3)
    process.send_signal(signal.SIGUSR1)  # SLURM's warning before the time limit (sbatch --signal=USR1@90)
    wait_for(tmp_path / "requeued", process, 60)
    process.send_signal(signal.SIGTERM)  # what SLURM sends the requeued job
    _, err = process.communicate(timeout=300)
    assert process.returncode == 143, err[-2000:]
    assert (tmp_path / "requeued").read_text().split() == ["requeue", "4242"]
    saved = read_checkpoint(workdir / "slurm/hpc_ckpt_1.ckpt")
    assert 0 < saved["global_step"] < STEPS
    requeued = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert requeued.returncode == 0, requeued.stderr[-2000:]
    assert "hpc_ckpt_1.ckpt" in requeued.stdout + requeued.stderr  # Lightning's "Restoring states from ..."
    assert read_checkpoint(workdir / "slurm/checkpoints/last.ckpt")["global_step"] == STEPS
    runs = sorted((workdir / "runs/wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(run.name.endswith(f"-{saved['wandb_run_id']}") for run in runs)
