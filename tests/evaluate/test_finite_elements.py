"""The finite-element evaluation on a tiny ``fe_diffusion`` store: the committed config runs (its
requirements skipped) with learned AMG and learned IC checkpoints, every method gets a row of finite
numbers per tolerance, the untrained learned AMG is its classical start (``l1amg``) and the untrained
learned IC is IC(0), every checkpoint is read once; a checkpoint of another kind is one clear error;
an elasticity store hands its rigid-body modes to smoothed aggregation."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from neuralsolvers import evaluate
from neuralsolvers.checkpoints import weights_checksum
from neuralsolvers.data_gen.fe_elasticity import FiniteElementElasticity
from neuralsolvers.data_gen.finite_elements import FiniteElementDiffusion
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import CheckpointError, ConfigError
from neuralsolvers.evaluate.finite_elements import load_fe_systems
from neuralsolvers.evaluate.matrix_methods import matrix_system, method
from neuralsolvers.models import LearnedAMG, LearnedIncompleteCholesky, NeuralMultigrid, model_spec
from neuralsolvers.solvers.learned import MATRIX_RECORD
from tests.evaluate.test_tables import CLOCK
from tests.evaluate.test_tables import checkpoint as grid_checkpoint

CONFIG = Path(__file__).parents[2] / "configs/eval/learned_amg_fe2d.yaml"
NUMBERS = ("iterations", "max_iterations", "setup_s", "solve_s", "total_s", "max_true_residual", "peak_MiB", "total_vs_fastest_classical")


def matrix_checkpoint(net: torch.nn.Module, path: Path) -> str:
    """What ``neuralsolvers fit`` stores for a learned preconditioner of matrices (untrained), with a training clock."""
    state = {f"model.{key}": value for key, value in net.state_dict().items()}
    torch.save({"state_dict": state, "neuralsolvers_model": model_spec(net), "neuralsolvers_preconditioner": dict(MATRIX_RECORD),
                "neuralsolvers_weights_sha256": weights_checksum(state), "training_time": CLOCK}, path)  # fmt: skip
    return str(path)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Three held-out-like P1 systems (L-shape and Delaunay meshes, binary κ), a few hundred unknowns."""
    directory = tmp_path_factory.mktemp("fe") / "fe_diffusion_tiny" / "test"
    generator = FiniteElementDiffusion(mesh=["lshape", "delaunay"], refine=4, coefficients=["binary"], boundary=["dirichlet", "mixed"])
    generate_split(generator, directory, num_samples=3, seed=2)
    return directory


@pytest.fixture(scope="module")
def amg_checkpoint(tmp_path_factory) -> str:
    torch.manual_seed(0)
    net = LearnedAMG(hidden=4, layers=1, coarsening="ruge_stuben", omega=1.3, sweeps=2, max_coarse=20)
    return matrix_checkpoint(net, tmp_path_factory.mktemp("ckpt") / "learned_amg.ckpt")


def test_the_committed_config_runs_with_each_method_and_reads_each_checkpoint_once(store, amg_checkpoint, tmp_path, monkeypatch):
    from neuralsolvers.cli import main

    monkeypatch.setenv("WANDB_MODE", "disabled")
    ic = matrix_checkpoint(LearnedIncompleteCholesky(hidden=4, layers=1), tmp_path / "learned_ic.ckpt")
    methods = ["jacobi", "ic0", "pyamg", "pyamg_rs", "l1amg", "direct", "learned_amg", "learned_ic"]
    tiny = [f"--task.init_args.systems=[{store}]", f"--task.init_args.checkpoints={{learned_amg: {amg_checkpoint}, learned_ic: {ic}}}",
            f"--task.init_args.methods=[{', '.join(methods)}]", "--task.init_args.num_systems=2", "--task.init_args.repeats=1",
            "--task.init_args.device=cpu", "--requires=[]", f"--out={tmp_path / 'out'}", "--wandb=false"]  # fmt: skip
    reads, load = Counter(), torch.load

    def counted(path: Any, *args: Any, **kwargs: Any) -> Any:
        reads[str(path)] += 1
        return load(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counted)
    assert main(["evaluate", "--config", str(CONFIG), *tiny]) == 0
    assert reads == {amg_checkpoint: 1, ic: 1}, f"checkpoint reads: {dict(reads)}"

    record = json.loads((tmp_path / "out/results.json").read_text())
    assert record["component"] == "Learned AMG (finite elements)" and record["config"]["rtol"] == [1e-6, 1e-8]
    assert {path.name for path in (tmp_path / "out").iterdir()} >= {"results.json", "results.md", "iterations_by_size.png", "residuals.png"}
    rows = {(row["rtol"], row["method"]): row for row in record["rows"]}
    labels = ["Jacobi-PCG", "IC(0)-PCG", "AMG-PCG (PyAMG SA, CPU)", "AMG-PCG (PyAMG RS, CPU)", "ℓ1-AMG-PCG (learned AMG's classical start)",
              "direct (SuperLU, CPU)", "learned AMG-PCG", "learned IC-PCG"]  # fmt: skip
    assert [row["method"] for row in record["rows"]] == labels * 2
    for row in record["rows"]:
        assert row["converged"] == "2/2" and row["dataset"] == "fe_diffusion_tiny/test", row
        assert all(math.isfinite(row[key]) for key in NUMBERS), row
        assert row["max_true_residual"] <= float(row["rtol"]) * (1 + 1e-9)
    for rtol in ("1e-06", "1e-08"):
        learned, start = rows[rtol, "learned AMG-PCG"], rows[rtol, "ℓ1-AMG-PCG (learned AMG's classical start)"]
        assert (learned["iterations"], learned["max_iterations"]) == (start["iterations"], start["max_iterations"])  # untrained = classical start
        assert abs(rows[rtol, "learned IC-PCG"]["iterations"] - rows[rtol, "IC(0)-PCG"]["iterations"]) <= 1  # untrained = IC(0)
        assert learned["iterations_vs_pyamg_rs"] > 0 and learned["iterations_vs_pyamg_sa"] > 0
        assert rows[rtol, "direct (SuperLU, CPU)"]["iterations_vs_pyamg_rs"] is None
        assert learned["training_device_h"] == pytest.approx(0.01) and rows[rtol, "Jacobi-PCG"]["training_device_h"] is None
    verdicts = record["verdict"].splitlines()
    assert len(verdicts) == 2 and all(line.startswith("verdict on fe_diffusion_tiny/test") and "fastest" in line for line in verdicts)
    assert len(record["headline"]) == 2 and record["headline"][0]["learned"] in {"learned AMG-PCG", "learned IC-PCG"}


def test_a_checkpoint_of_another_kind_is_one_clear_error(store, amg_checkpoint, tmp_path):
    nmg = grid_checkpoint(NeuralMultigrid(dim=2, hidden=4, depth=1, stencil=1), tmp_path / "nmg.ckpt")
    task = evaluate.FiniteElementEvaluation([str(store)], {"learned_amg": nmg}, methods=["learned_amg"], num_systems=1, device="cpu")
    with pytest.raises(CheckpointError, match="method learned_amg needs a learned_amg checkpoint") as error:
        task.evaluate()
    assert "'neural_multigrid'" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(CheckpointError, match="method learned_ic needs a learned_ic checkpoint"):  # a learned AMG is not a learned IC
        evaluate.FiniteElementEvaluation([str(store)], {"learned_ic": amg_checkpoint}, methods=["learned_ic"], device="cpu").evaluate()
    with pytest.raises(ConfigError, match=r"methods \['l1amg'\] need checkpoints: \['learned_amg'\]"):
        evaluate.FiniteElementEvaluation([str(store)], methods=["jacobi", "l1amg"])
    with pytest.raises(ConfigError, match="unknown methods \\['gmg'\\]"):
        evaluate.FiniteElementEvaluation([str(store)], methods=["gmg"])


def test_an_elasticity_store_gives_smoothed_aggregation_its_rigid_body_modes(tmp_path):
    generator = FiniteElementElasticity(mesh=["lshape"], refine=3, coefficients=["constant"], boundary=["side"], forcing=["gravity"])
    generate_split(generator, tmp_path / "elasticity", num_samples=1, seed=0)
    ((A, b, modes),) = load_fe_systems(tmp_path / "elasticity", 1)
    assert modes.shape == (A.shape[0], 3)
    system = matrix_system(A, b, rtol=1e-8, maxiter=500, near_nullspace=modes)
    assert method("pyamg").build(system).levels[0].B.shape[1] == 3  # without modes: the constants, one column
    assert method("pyamg").build(matrix_system(A, b)).levels[0].B.shape[1] == 1
    assert method("amg").build(system).pyamg.levels[0].B.shape[1] == 3
    assert method("pyamg").run(system).converged and method("pyamg_rs").run(system).converged


def test_a_method_that_breaks_down_is_a_row_not_a_crash(store, monkeypatch):
    import neuralsolvers.evaluate.finite_elements as fe_evaluation
    from neuralsolvers.evaluate.methods import Method

    def breaks_down(system):
        raise ValueError("IC(0) breaks down at row 3 (pivot -1 ≤ 0)")

    real = fe_evaluation.method

    def patched(name, network=None, precision="float32"):
        chosen = real(name, network, precision=precision)
        return Method(chosen.name, chosen.label, breaks_down, chosen.solve) if name == "ic0" else chosen

    monkeypatch.setattr(fe_evaluation, "method", patched)
    outcome = evaluate.FiniteElementEvaluation([str(store)], methods=["jacobi", "ic0", "pyamg"], num_systems=2, rtol=[1e-6], repeats=1,
                                               device="cpu").evaluate()  # fmt: skip
    rows = {row["method"]: row for row in outcome.rows}
    broken = rows["IC(0)-PCG"]
    assert broken["converged"] == "0/2" and "system 0: ValueError: IC(0) breaks down" in broken["breakdown"]
    assert broken["iterations_vs_pyamg_sa"] is None and rows["Jacobi-PCG"]["breakdown"] == "–"
    assert "IC(0)" not in outcome.verdict.split("fastest")[1].split(";")[0]  # a broken method is never the fastest


def test_skip_leaves_a_method_out_of_splits_above_its_size(store):
    sizes = [A.shape[0] for A, _, _ in load_fe_systems(store, 2)]
    outcome = evaluate.FiniteElementEvaluation([str(store)], methods=["jacobi", "direct"], num_systems=2, rtol=[1e-6], device="cpu",
                                               skip={"direct": max(sizes) - 1}).evaluate()  # fmt: skip
    assert [row["method"] for row in outcome.rows] == ["Jacobi-PCG"] and outcome.config["skip"] == {"direct": max(sizes) - 1}
    kept = evaluate.FiniteElementEvaluation([str(store)], methods=["jacobi", "direct"], num_systems=2, rtol=[1e-6], device="cpu",
                                            skip={"direct": max(sizes)}).evaluate()  # fmt: skip
    assert len(kept.rows) == 2
    with pytest.raises(ConfigError, match="skip takes"):
        evaluate.FiniteElementEvaluation([str(store)], methods=["jacobi"], skip={"direct": 10})
