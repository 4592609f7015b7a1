"""W&B is offline by default, writes its run locally, and a second run in the same place works."""

import time
from pathlib import Path

import pytest

from neuralsolvers.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture
def offline_run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    data = ["--splits", "[{name: train, num_samples: 40, seed: 0}, {name: test, num_samples: 20, seed: 1}]"]
    assert main(["generate", "--config", str(CONFIGS / "data/antiderivative.yaml"), *data]) == 0
    return tmp_path


def test_offline_run_records_config_metrics_figure_and_checkpoint(offline_run_dir):
    args = [
        "fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), "--trainer.max_epochs=2",
        "--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false", "--data.init_args.batch_size=8",
    ]
    assert main(args) == 0
    runs = sorted((offline_run_dir / "runs/wandb").glob("offline-run-*"))
    assert len(runs) == 1
    run = runs[0]
    assert list(run.glob("run-*.wandb")), "no W&B event log"
    assert (run / "files/config.yaml").is_file()
    assert (run / "files/predictions_val.png").is_file()
    needles = (b"train/loss", b"val/rel_l2", b"lr-Adam", b"model-")
    deadline = time.monotonic() + 30  # the W&B service process writes the log asynchronously
    while not all(n in (log := next(run.glob("run-*.wandb")).read_bytes()) for n in needles):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for needle in needles:
        assert needle in log, needle
    # a second run in the same directory must not fail on the existing config or checkpoint files
    assert main(args) == 0
    assert len(sorted((offline_run_dir / "runs/wandb").glob("offline-run-*"))) == 2


def test_disabled_mode_works(offline_run_dir, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    args = ["fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), "--trainer.max_steps=2", "--trainer.enable_progress_bar=false"]
    assert main(args) == 0
    assert not (offline_run_dir / "runs/wandb").exists() or not list((offline_run_dir / "runs/wandb").glob("offline-run-*"))
