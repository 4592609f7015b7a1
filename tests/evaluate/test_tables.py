"""Every evaluation's table keeps its shape: on tiny data with untrained networks, the columns, the
rows (their method labels and order), the title, the verdict lines, the headline's scopes, the config
keys and the files written are those of ``tables.json`` (captured before evaluate/ was restructured;
timings and errors are not compared), and every checkpoint is read once (network and training clock
from one read). ``python tests/evaluate/test_tables.py`` rewrites the file."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from neuralsolvers import evaluate
from neuralsolvers.data_gen import (
    Antiderivative,
    DiffusionScenes,
    ImagePatches,
    KleinGordonReference,
    LaplaceToy,
    LotkaVolterraObservations,
    MovingObstacles,
    PoissonObstacles,
    PoreNetwork,
    ValueIteration,
)
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.models import (
    CGS,
    LPN,
    DCDMNet,
    DeepONet,
    GNNBaseline,
    HiddenTermNet,
    MgNO,
    NeuralMultigrid,
    PINNNet,
    model_spec,
)

SNAPSHOT = Path(__file__).with_name("tables.json")
LABELS = ("set", "grid", "size", "dataset", "method", "prior", "network", "component")  # the columns that name a row
CLOCK = {"seconds": 36.0, "device": "cpu", "num_devices": 1, "steps": 3}


def checkpoint(model: torch.nn.Module, path: Path, **extra: Any) -> str:
    """What ``neuralsolvers fit`` stores for ``model`` (untrained), with a training clock."""
    state = {f"model.{key}": value for key, value in model.state_dict().items()}
    torch.save({"neuralsolvers_model": model_spec(model), "state_dict": state, "training_time": CLOCK, **extra}, path)
    return str(path)


def dcdm(root: Path) -> evaluate.Evaluation:
    generate_split(PoissonObstacles(grid=(16, 16), scene="spheres", solve=False), root / "systems", 2, seed=5)
    network = checkpoint(DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)), root / "dcdm.ckpt")
    methods = ["cg", "jacobi", "ic0", "amg", "gmg", "pyamg", "dcdm", "fcg"]  # the snapshot's (the default adds pyamg_rs and direct)
    return evaluate.DCDMEvaluation(str(root / "systems"), network, num_systems=2, methods=methods, network_maxiter=5, fallback="jacobi",
                                   device="cpu")  # fmt: skip


def neural_multigrid(root: Path) -> evaluate.Evaluation:
    for size in (16, 24):
        generate_split(DiffusionScenes(grid=(size, size)), root / f"scenes_{size}", 2, seed=size)
    nmg = checkpoint(NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1), root / "nmg.ckpt")
    one = checkpoint(DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)), root / "dcdm.ckpt")
    multi = checkpoint(DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1), levels=2), root / "dcdm_multi.ckpt")
    return evaluate.NeuralMultigridEvaluation(
        [str(root / "scenes_16"), str(root / "scenes_24")], nmg, [one, multi], num_scenes=2, network_maxiter=5,
        methods=["cg", "jacobi", "ic0", "amg", "pyamg", "gmg", "nmg", "dcdm", "fcg"], skip={"cg": 300}, field_max_cells=300, device="cpu",
    )  # fmt: skip


def moving_obstacle(root: Path) -> evaluate.Evaluation:
    generate_split(MovingObstacles(grid=(16, 16), frames=3), root / "moving", 1, seed=0)
    nmg = checkpoint(NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1), root / "nmg.ckpt")
    methods = ["cg", "jacobi", "ic0", "amg", "gmg", "pyamg", "nmg"]
    return evaluate.MovingObstacleEvaluation([str(root / "moving")], methods, nmg, device="cpu")


def operator_solvers(root: Path) -> evaluate.Evaluation:
    torch.manual_seed(0)
    network = checkpoint(MgNO(in_channels=2, width=4, num_layers=1, smoothing=[1, 1, 1]), root / "mgno.ckpt")
    return evaluate.OperatorSolverEvaluation(network, sizes=[10], cap=20, period=5, sweeps=1, fallback="ic0", device="cpu")


def operator(root: Path) -> evaluate.Evaluation:
    for name, scale in (("in_distribution", 0.2), ("longer_scale", 0.1)):
        generate_split(Antiderivative(length_scale=scale, num_sensors=20, num_points=10), root / name, 8, seed=1)
    network = checkpoint(DeepONet(num_sensors=20, branch_widths=[8], trunk_widths=[8], num_basis=4), root / "deeponet.ckpt")
    return evaluate.OperatorEvaluation(network, {name: str(root / name) for name in ("in_distribution", "longer_scale")}, reference_samples=1, device="cpu")


def graph(root: Path) -> evaluate.Evaluation:
    generate_split(PoreNetwork(min_pores=10, max_pores=20), root / "small", 3, seed=0)
    generate_split(PoreNetwork(min_pores=30, max_pores=40), root / "large", 2, seed=1)
    torch.manual_seed(0)
    networks = {"CGS": checkpoint(CGS(node_features=5, edge_features=3, hidden=8, heads=2, state_dim=4), root / "cgs.ckpt"),
                "GIN": checkpoint(GNNBaseline(node_features=5, edge_features=3, kind="gin", hidden=8, layers=2), root / "gin.ckpt")}  # fmt: skip
    return evaluate.GraphEvaluation(networks, {"small": str(root / "small"), "large": str(root / "large")}, repeats=1, device="cpu")


def value_iteration(root: Path) -> evaluate.Evaluation:
    generate_split(ValueIteration(min_states=8, max_states=12, min_actions=2, max_actions=3), root / "mdp", 3, seed=2)
    torch.manual_seed(0)
    network = checkpoint(CGS(node_features=3, edge_features=3, hidden=8, heads=2, state_dim=4), root / "cgs.ckpt")
    return evaluate.GraphEvaluation({"CGS": network}, {"mdp": str(root / "mdp")}, repeats=1, device="cpu")


def proximal_toy(root: Path) -> evaluate.Evaluation:
    generate_split(LaplaceToy(), root / "toy", 20, seed=0)
    torch.manual_seed(0)
    network = checkpoint(LPN(kind="dense", in_features=1, hidden=8, layers=1), root / "lpn.ckpt", hyper_parameters={"loss": "prox_matching"})
    return evaluate.ProximalToyEvaluation({"LPN": network}, str(root / "toy"), num_points=101)


def inverse_problems(root: Path) -> evaluate.Evaluation:
    generate_split(ImagePatches(patch_size=16, sources=["synthetic"], operator="blur", blur_sigma=1.0, kernel_size=7,
                                noise_sigma=0.02), root / "blur", 4, seed=0)  # fmt: skip
    torch.manual_seed(0)
    network = checkpoint(LPN(kind="conv", in_features=1, hidden=4, image_size=16, beta=100.0), root / "lpn.ckpt")
    return evaluate.InverseProblemEvaluation(str(root / "blur"), {"LPN": network}, tv=[0.01], haar=[0.005, 0.02], maxiter=5,
                                             num_images=2, tune_images=2)  # fmt: skip


def pinn(root: Path) -> evaluate.Evaluation:
    generate_split(KleinGordonReference(resolution=9), root / "reference", 1, seed=0)
    torch.manual_seed(0)
    network = PINNNet(in_features=2, out_features=1, hidden=8, layers=2)
    networks = {"trained": checkpoint(network, root / "a.ckpt"), "other": checkpoint(network, root / "b.ckpt")}
    return evaluate.PINNEvaluation(networks, str(root / "reference"), repeats=1)


def hidden_terms(root: Path) -> evaluate.Evaluation:
    generate_split(LotkaVolterraObservations(num_points=51), root / "lv", 1, seed=0)
    torch.manual_seed(0)
    network = checkpoint(HiddenTermNet(hidden=8, layers=2, center=[1.5], scale=[0.87]).double(), root / "upinn.ckpt")
    return evaluate.HiddenTermDiscovery(network, str(root / "lv"), num_points=50)


def relaxation(root: Path) -> evaluate.Evaluation:
    return evaluate.RelaxationEvaluation(sizes=[5], num_steps=12, trials=2, num_omegas=4, omega_high=1.75)


EVALUATIONS: dict[str, Callable[[Path], evaluate.Evaluation]] = {
    function.__name__: function
    for function in (dcdm, neural_multigrid, moving_obstacle, operator_solvers, operator, graph, value_iteration, proximal_toy,
                     inverse_problems, pinn, hidden_terms, relaxation)  # fmt: skip
}


def structure(evaluation: evaluate.Evaluation, root: Path) -> dict[str, Any]:
    """What must not change: the evaluation's class and component, the title, per row its columns and
    labels, the verdict lines up to their colon, the headline's scopes and metrics, the config's keys,
    the files written."""
    report = evaluation.run(root / "results", use_wandb=False)
    return {
        "class": type(evaluation).__name__,
        "component": report.component,
        "title": report.title,
        "columns": [list(row) for row in report.rows],
        "labels": [[row[key] for key in LABELS if key in row] for row in report.rows],
        "verdict": [line.split(":")[0] for line in (report.verdict or "").splitlines()],
        "headline": [[comparison.where, comparison.metric] for comparison in report.headline],
        "config": sorted(map(str, report.config)),
        "files": sorted(path.name for path in (root / "results").iterdir()),
    }


@pytest.mark.parametrize("name", EVALUATIONS)
def test_the_table_keeps_its_structure_and_each_checkpoint_is_read_once(name, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    expected = json.loads(SNAPSHOT.read_text())[name]
    torch.manual_seed(0)
    evaluation = EVALUATIONS[name](tmp_path)
    reads, load = Counter(), torch.load

    def counted(path: Any, *args: Any, **kwargs: Any) -> Any:
        reads[str(path)] += 1
        return load(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counted)
    found = json.loads(json.dumps(structure(evaluation, tmp_path), default=str))
    assert found == expected
    assert (reads or name == "relaxation") and all(count == 1 for count in reads.values()), f"checkpoint reads: {dict(reads)}"


if __name__ == "__main__":  # rewrite the snapshot: python tests/evaluate/test_tables.py [directory]
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(sys.argv[1] if len(sys.argv) > 1 else scratch)
        snapshot = {}
        for name, build in EVALUATIONS.items():
            (root / name).mkdir(parents=True, exist_ok=True)
            torch.manual_seed(0)
            snapshot[name] = structure(build(root / name), root / name)
        SNAPSHOT.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False, default=str) + "\n")
