"""Neural operators inside solvers: every method reaches 1e-8 on a small held-out Darcy system (the
learned ones through the fallback when the untrained network cannot), with training cost columns."""

from pathlib import Path

import pytest
import torch
import yaml

from neuralsolvers.cli import main
from neuralsolvers.models import MgNO, model_spec

CONFIG = Path(__file__).parents[2] / "configs/eval/mgno_darcy_hybrid.yaml"


def _run_small(tmp_path, monkeypatch, device: str, *extra: str, config: Path = CONFIG) -> dict:
    """The committed config (or ``config``) on one 14² system with a tiny untrained MgNO; the results record."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    network = MgNO(in_channels=2, width=4, num_layers=1, smoothing=[1, 1, 1])
    checkpoint = tmp_path / "checkpoints/mgno_darcy_preconditioner/best.ckpt"
    checkpoint.parent.mkdir(parents=True)
    state = {f"model.{key}": value for key, value in network.state_dict().items()}
    torch.save({"neuralsolvers_model": model_spec(network), "state_dict": state,
                "training_time": {"seconds": 36.0, "device": "cpu", "num_devices": 1, "steps": 3}}, checkpoint)  # fmt: skip
    (tmp_path / "data/darcy_random_forcing_65/train").mkdir(parents=True)  # the config's data prerequisite
    quick = ["--task.init_args.sizes=[14]", "--task.init_args.cap=20", "--task.init_args.period=5", "--task.init_args.sweeps=1"]
    assert main(["evaluate", "--config", str(config), "--wandb=false", f"--task.init_args.device={device}", *quick, *extra]) == 0
    return yaml.safe_load((tmp_path / "results/mgno_darcy_hybrid/results.json").read_text())


def test_committed_config_runs_small_and_every_solve_reaches_the_tolerance(tmp_path, monkeypatch):
    record = _run_small(tmp_path, monkeypatch, "cpu")
    rows = record["rows"]
    assert record["config"]["device"] == "cpu"
    assert len(rows) == 9 and all(row["converged"] and row["true_residual"] <= 1e-8 for row in rows)
    learned = [row for row in rows if "network" in row["method"] and "no network" not in row["method"]]
    assert len(learned) == 5 and all(row["training_device_h"] == 0.01 and row["break_even_solves"] for row in learned)
    assert all(row["fell_back"] is None and row["training_device_h"] is None for row in rows if row not in learned)
    assert (tmp_path / "results/mgno_darcy_hybrid/residuals_14.png").is_file()
    # the headline: the fastest learned method against the fastest classical PCG, with their iterations
    (comparison,) = record["headline"]
    total = {row["method"]: row["setup_s"] + row["solve_s"] for row in rows}
    assert comparison["learned"] == min((row["method"] for row in learned), key=total.get)
    assert comparison["classical"] == min((row["method"] for row in rows if row not in learned), key=total.get)
    assert comparison["iteration_ratio"] == pytest.approx(
        next(r["iterations"] for r in rows if r["method"] == comparison["learned"]) / next(r["iterations"] for r in rows if r["method"] == comparison["classical"]))
    assert record["command"].startswith(f"neuralsolvers evaluate --config {CONFIG} --wandb=false")


def test_a_config_naming_the_old_class_still_runs(tmp_path, monkeypatch):
    """``NeuralOperatorSolverEvaluation``, the name before ``OperatorSolverEvaluation``, still loads, with a warning."""
    old = tmp_path / "old.yaml"
    old.write_text(CONFIG.read_text().replace("evaluate.OperatorSolverEvaluation", "evaluate.NeuralOperatorSolverEvaluation"))
    with pytest.warns(DeprecationWarning, match="NeuralOperatorSolverEvaluation is now OperatorSolverEvaluation"):
        record = _run_small(tmp_path / "run", monkeypatch, "cpu", config=old)
    assert len(record["rows"]) == 9 and record["component"] == "Neural operators"


def test_every_fallback_finishes_the_failed_learned_solves(tmp_path, monkeypatch):
    for fallback in ("jacobi", "amg"):  # ic0: the committed config's, above
        rows = _run_small(tmp_path / fallback, monkeypatch, "cpu", f"--task.init_args.fallback={fallback}")["rows"]
        assert all(row["converged"] and row["true_residual"] <= 1e-8 for row in rows), fallback


@pytest.mark.gpu
def test_every_solve_reaches_the_tolerance_on_cuda(tmp_path, monkeypatch):
    record = _run_small(tmp_path, monkeypatch, "cuda")
    assert record["config"]["device"] == "cuda"
    assert all(row["converged"] and row["true_residual"] <= 1e-8 for row in record["rows"])


def test_a_device_that_is_not_there_is_one_clear_error(tmp_path, monkeypatch, capsys):
    from neuralsolvers.errors import ConfigError
    from neuralsolvers.evaluate.base import resolve_device

    with pytest.raises(ConfigError, match="auto, cpu, cuda, cuda:<index> or mps"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/darcy_random_forcing_65/train").mkdir(parents=True)  # the config's prerequisites, present
    (tmp_path / "checkpoints/mgno_darcy_preconditioner").mkdir(parents=True)
    (tmp_path / "checkpoints/mgno_darcy_preconditioner/best.ckpt").touch()
    assert main(["evaluate", "--config", str(CONFIG), "--wandb=false", "--task.init_args.device=cuda"]) == 1
    err = capsys.readouterr().err
    assert "no CUDA device" in err and "Traceback" not in err
