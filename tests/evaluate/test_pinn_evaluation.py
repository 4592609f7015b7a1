"""The PINN evaluation: errors on the reference grid agree with a direct computation, the reference
solver and the training run are timed, a network that is not u(points) is refused."""

import json

import pytest
import torch

from neuralsolvers.data_gen import KleinGordonReference, LaplaceToy, LotkaVolterraObservations
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate import PINNEvaluation
from neuralsolvers.models import PINNNet, model_spec


def save(model, path, **extra):
    state = {f"model.{key}": value for key, value in model.state_dict().items()}
    torch.save({"neuralsolvers_model": model_spec(model), "state_dict": state, **extra}, path)
    return str(path)


def test_errors_times_and_training_cost(tmp_path):
    reference = tmp_path / "reference"
    generate_split(KleinGordonReference(resolution=17), reference, 1, seed=0)
    torch.manual_seed(0)
    network = PINNNet(in_features=2, out_features=1, hidden=8, layers=2)
    clock = {"seconds": 12.0, "device": "cpu", "num_devices": 1, "steps": 5}
    checkpoints = {"trained": save(network, tmp_path / "a.ckpt", training_time=clock), "no clock": save(network, tmp_path / "b.ckpt")}
    report = PINNEvaluation(checkpoints, str(reference), repeats=1).run(tmp_path / "out", use_wandb=False)
    rows = {row["network"]: row for row in report.rows}
    dataset = ShardedDataset(reference)
    points = torch.as_tensor(dataset.shared["points"], dtype=torch.float32)
    exact = torch.as_tensor(dataset.load(["u"])["u"][0].reshape(-1), dtype=torch.float32)
    with torch.no_grad():
        expected = torch.linalg.vector_norm(network(points)[:, 0] - exact) / torch.linalg.vector_norm(exact)
    assert rows["trained"]["rel_l2"] == pytest.approx(float(expected), rel=1e-5)
    assert rows["trained"]["reference_solver_s"] > 0 and rows["trained"]["network_s"] > 0 and rows["trained"]["network_peak_MiB"] >= 0
    assert rows["trained"]["training_over_reference"] == pytest.approx(12.0 / rows["trained"]["reference_solver_s"])
    assert rows["no clock"]["training_s"] is None
    assert json.loads((tmp_path / "out/results.json").read_text())["config"]["points"] == 17 * 17
    # the headline: the faster network's evaluation against the reference solve, its error and training cost beside
    (comparison,) = report.headline
    best = rows[comparison.learned]
    assert comparison.classical == "the reference solver" and comparison.classical_s == best["reference_solver_s"]
    assert comparison.learned_s == min(row["network_s"] for row in rows.values()) and comparison.learned_metric == best["rel_l2"]


def test_bad_configurations_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least one checkpoint"):
        PINNEvaluation({}, "data/x")
    network = save(PINNNet(in_features=2, out_features=1, hidden=8, layers=2), tmp_path / "a.ckpt")
    generate_split(LaplaceToy(), tmp_path / "toy", 4, seed=0)
    with pytest.raises(ConfigError, match="not a reference split"):
        PINNEvaluation({"a": network}, str(tmp_path / "toy")).run(tmp_path / "out", use_wandb=False)
    generate_split(LotkaVolterraObservations(), tmp_path / "lv", 1, seed=0)  # 1D times, not (x, t) points
    with pytest.raises(ConfigError, match="does not take the reference's points"):
        PINNEvaluation({"a": network}, str(tmp_path / "lv")).run(tmp_path / "out", use_wandb=False)


@pytest.mark.gpu
def test_networks_run_on_cuda_with_the_cpu_errors(tmp_path):
    reference = tmp_path / "reference"
    generate_split(KleinGordonReference(resolution=17), reference, 1, seed=0)
    checkpoint = {"net": save(PINNNet(in_features=2, out_features=1, hidden=8, layers=2), tmp_path / "a.ckpt")}
    on = {device: PINNEvaluation(checkpoint, str(reference), repeats=1, device=device).run(tmp_path / device, use_wandb=False).rows[0]
          for device in ("cpu", "cuda")}  # fmt: skip
    assert on["cuda"]["rel_l2"] == pytest.approx(on["cpu"]["rel_l2"], rel=1e-4)
