"""W&B is offline by default, writes its run locally, and a second run in the same place works."""

import contextlib
import csv
import io
import math
import os
import time
from pathlib import Path

import pytest

from neuralsolvers.cli import main
from neuralsolvers.train.tracking import MetricsCSV
from neuralsolvers.wandb_defaults import WANDB_FILES

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
    # a second run in the same directory, asked to replace the checkpoints, must not fail on the existing files
    assert main([*args, "--overwrite"]) == 0
    assert len(sorted((offline_run_dir / "runs/wandb").glob("offline-run-*"))) == 2


def test_disabled_mode_works(offline_run_dir, monkeypatch, capfd):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    args = ["fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), "--trainer.max_steps=2", "--trainer.enable_progress_bar=false"]
    assert main(args) == 0
    assert "wandb: WARNING" not in capfd.readouterr().err  # no deprecation warning about a setting we never chose
    assert not [path for path in offline_run_dir.glob("runs/wandb-data/**/*") if path.is_file()]  # no artifact staged
    assert not (offline_run_dir / "runs/wandb").exists() or not list((offline_run_dir / "runs/wandb").glob("offline-run-*"))
    assert len(list(offline_run_dir.glob("runs/disabled-run-*/metrics.csv"))) == 1  # the run's files under runs/, not /tmp


TINY_DEEPONET = ["--model.init_args.model.init_args.branch_widths=[8]", "--model.init_args.model.init_args.trunk_widths=[8]",
                 "--model.init_args.model.init_args.num_basis=8", "--data.init_args.batch_size=10", "--trainer.max_steps=8",
                 "--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_offline_fit(tmp_path_factory):
    """One tiny offline fit (the best checkpoint logged as an artifact, as by default) in ``work/``, with
    the home directory and its XDG cache, data and config folders in ``home/``: (work, home, stdout)."""
    root = tmp_path_factory.mktemp("offline_fit")
    work, home = root / "work", root / "home"
    work.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        for name, folder in {"HOME": home, "XDG_CACHE_HOME": home / ".cache", "XDG_DATA_HOME": home / ".local/share",
                             "XDG_CONFIG_HOME": home / ".config"}.items():  # fmt: skip
            patch.setenv(name, str(folder))
        for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_DIR", *WANDB_FILES):
            patch.setenv(name, "")  # recorded, so restored after the fit whether it was set or not
            patch.delenv(name)
        data = ["--splits", "[{name: train, num_samples: 40, seed: 0}, {name: test, num_samples: 20, seed: 1}]", "--shard_size", "20"]
        assert main(["generate", "--config", str(CONFIGS / "data/antiderivative.yaml"), *data]) == 0
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            assert main(["fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), *TINY_DEEPONET]) == 0
        assert os.environ["WANDB_MODE"] == "offline"
    return work, home, output.getvalue()


def test_offline_fit_writes_every_metric_to_metrics_csv(tiny_offline_fit):
    work, _, output = tiny_offline_fit
    (path,) = work.glob("runs/wandb/offline-run-*/files/metrics.csv")
    assert f"metrics: {path.relative_to(work)}" in output.splitlines()
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows and list(rows[0]) == ["step", "epoch", "name", "value"]
    names = {row["name"] for row in rows}
    assert {"train/loss_step", "train/loss_epoch", "val/loss", "val/rel_l2", "lr-Adam"} <= names, names
    assert all(math.isfinite(float(row["value"])) for row in rows)
    steps = [int(row["step"]) for row in rows if row["name"] == "train/loss_step"]
    assert steps == list(range(8))  # every step (log_every_n_steps=1), in order
    assert {int(row["epoch"]) for row in rows} == {0, 1}


def test_no_checkpoint_copy_left_in_the_home_directory(tiny_offline_fit):
    """W&B copies a checkpoint logged as an artifact into its staging folder (by default
    ``~/.local/share/wandb/artifacts/staging``, a file named ``tmp*``, never removed offline): it now
    stays under ``runs/``."""
    work, home, _ = tiny_offline_fit
    checkpoint = (work / "checkpoints/deeponet_antiderivative/best.ckpt").read_bytes()

    def copies(folder: Path) -> list[Path]:
        return [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size == len(checkpoint) and p.read_bytes() == checkpoint]

    assert not list(home.rglob("*.ckpt")) and not copies(home)
    assert copies(work / "runs/wandb-data"), "the artifact's staging copy is not under runs/"


def test_metrics_csv_appends_to_an_existing_file(tmp_path):
    """A resumed run writing into the same directory adds rows below the earlier ones, one header."""
    for step in (3, 4):
        callback = MetricsCSV()
        callback.path = tmp_path / "metrics.csv"
        callback._append({"train/loss": float(step), "epoch": 1.0, "note": "not a number"}, step, epoch=0)
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["step,epoch,name,value", "3,1,train/loss,3.0", "4,1,train/loss,4.0"]


def test_a_csv_logger_alone_keeps_its_own_metrics_csv(offline_run_dir):
    """With ``--trainer.logger=CSVLogger`` the run's directory is the CSV logger's, whose own
    ``metrics.csv`` (one column per metric) holds the metrics: nothing else writes into it."""
    args = ["fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), "--trainer.max_epochs=2", "--trainer.enable_progress_bar=false",
            "--trainer.logger=CSVLogger", "--trainer.logger.save_dir=csv"]  # fmt: skip
    assert main(args) == 0
    (metrics,) = (offline_run_dir / "csv").rglob("metrics.csv")
    header = metrics.read_text().splitlines()[0].split(",")
    assert "val/rel_l2" in header and "name" not in header
