"""The graph evaluation: networks against the exact solvers on sets of two sizes, metrics that can
fail, the error growth column, bad configurations refused."""

import json

import pytest
import torch

from neuralsolvers.data_gen import PoreNetwork, ValueIteration
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.evaluate import GraphEvaluation
from neuralsolvers.models import CGS, GNNBaseline, model_spec


def write_checkpoint(model: torch.nn.Module, path) -> str:
    """What ``neuralsolvers fit`` stores, for an untrained network."""
    state = {f"model.{key}": value for key, value in model.state_dict().items()}
    torch.save({"neuralsolvers_model": model_spec(model), "state_dict": state}, path)
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("graphs")
    generate_split(PoreNetwork(min_pores=20, max_pores=40), root / "small", 6, seed=0)
    generate_split(PoreNetwork(min_pores=80, max_pores=120), root / "large", 4, seed=1)
    generate_split(ValueIteration(min_states=10, max_states=20, min_actions=2, max_actions=3), root / "mdp", 6, seed=2)
    torch.manual_seed(0)
    checkpoints = {
        "pore_cgs": write_checkpoint(CGS(node_features=5, edge_features=3, hidden=8, heads=2, state_dim=4), root / "cgs.ckpt"),
        "pore_gin": write_checkpoint(GNNBaseline(node_features=5, edge_features=3, kind="gin", hidden=8, layers=2), root / "gin.ckpt"),
        "mdp_cgs": write_checkpoint(CGS(node_features=3, edge_features=3, hidden=8, heads=2, state_dim=4), root / "mdp.ckpt"),
    }
    return root, checkpoints


def test_pore_networks_against_the_direct_solve(data, tmp_path):
    root, checkpoints = data
    evaluation = GraphEvaluation(
        {"CGS": checkpoints["pore_cgs"], "GIN": checkpoints["pore_gin"]},
        {"small": str(root / "small"), "large": str(root / "large")}, batch_size=4, repeats=1, device="cpu",
    )
    rows = {(row["set"], row["method"]): row for row in evaluation.run(tmp_path, use_wandb=False).rows}
    assert len(rows) == 6
    for size in ("small", "large"):
        assert rows[size, "exact"]["MSE"] < 1e-20  # the batched direct solve reproduces the dataset
        assert rows[size, "CGS"]["solver_iterations"] > 0 and rows[size, "GIN"]["solver_iterations"] == 0
        assert all(rows[size, m]["MSE"] > 1e-6 and rows[size, m]["ms_per_graph"] > 0 and rows[size, m]["peak_MiB"] >= 0 for m in ("CGS", "GIN"))
    assert rows["large", "CGS"]["mean_nodes"] > 2 * rows["small", "CGS"]["mean_nodes"]
    assert rows["large", "GIN"]["MSE_vs_first_set"] == pytest.approx(rows["large", "GIN"]["MSE"] / rows["small", "GIN"]["MSE"])
    assert rows["small", "exact"]["MSE_vs_first_set"] is None
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["config"]["problem"] == "pore_network" and (tmp_path / "errors.png").is_file()
    assert "| small | exact |" in (tmp_path / "results.md").read_text()
    assert "break_even_graphs" in (tmp_path / "results.md").read_text() and rows["small", "CGS"]["training_device_h"] is None
    # the headline: on the largest set, the faster network against the direct solve, per graph; its MSE beside
    (comparison,) = record["headline"]
    network = min(("CGS", "GIN"), key=lambda m: rows["large", m]["ms_per_graph"])
    assert (comparison["learned"], comparison["classical"], comparison["learned_metric"]) == (network, "exact", rows["large", network]["MSE"])
    assert comparison["time_ratio"] == pytest.approx(rows["large", network]["ms_per_graph"] / rows["large", "exact"]["ms_per_graph"])
    assert comparison["iteration_ratio"] is None  # the exact pore solve is direct: no iterations to compare
    assert comparison["classical_metric"] == rows["large", "exact"]["MSE"]


def test_value_iteration_policy_and_sweeps(data, tmp_path):
    root, checkpoints = data
    report = GraphEvaluation({"CGS": checkpoints["mdp_cgs"]}, {"mdp": str(root / "mdp")}, repeats=1, device="cpu").run(tmp_path, use_wandb=False)
    exact, cgs = report.rows
    assert exact["policy_%"] == 100.0 and exact["MAPE_%"] < 1e-6
    # γ = 0.9 from zero: ‖T(V) − V‖ shrinks by ≤ 0.9 per sweep to 1e-10, ~200–300 sweeps
    assert 100 < exact["solver_iterations"] < 400
    assert cgs["policy_%"] < 100.0 and cgs["MAPE_%"] > 1.0
    (comparison,) = report.headline
    assert comparison.iteration_ratio == pytest.approx(cgs["solver_iterations"] / exact["solver_iterations"])


def test_bad_configurations_are_refused(data, tmp_path):
    root, checkpoints = data
    with pytest.raises(ValueError, match="one of"):
        GraphEvaluation({"CGS": checkpoints["pore_cgs"]}, {"a": str(root / "small"), "b": str(root / "mdp")}).run(tmp_path, use_wandb=False)
    with pytest.raises(ValueError, match="reference solver"):
        GraphEvaluation({"exact": checkpoints["pore_cgs"]}, {"a": str(root / "small")})
