"""The DCDM evaluation: every method on the same held-out systems, true residuals checked, peak
memory measured, bad configurations refused; the stencil methods and the measuring they share."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralsolvers.data_gen import PoissonObstacles
from neuralsolvers.data_gen.poisson import load_systems
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.evaluate import DCDMEvaluation
from neuralsolvers.evaluate.measure import PeakMemory
from neuralsolvers.evaluate.stencil_methods import CLASSICAL, StencilSystem, method
from neuralsolvers.solvers.learned import LearnedPreconditioner


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    directory = tmp_path_factory.mktemp("systems") / "test"
    generate_split(PoissonObstacles(grid=(24, 24), scene="spheres", solve=False), directory, 3, seed=5)
    return directory


def test_classical_methods_reach_the_tolerance_and_are_reported(systems, tmp_path):
    names = [classical.name for classical in CLASSICAL]
    report = DCDMEvaluation(str(systems), methods=names, num_systems=2, rtol=1e-8).run(tmp_path, use_wandb=False)
    rows = {row["method"]: row for row in report.rows}
    assert len(rows) == len(CLASSICAL)
    assert all(row["converged"] == "2/2" and row["max_true_residual"] <= 1e-8 for row in rows.values())
    # AMG needs far fewer iterations than plain CG on a Poisson problem; IC(0) in between
    assert rows["AMG-PCG (torch V-cycle)"]["iterations"] < rows["IC(0)-PCG"]["iterations"] < rows["CG"]["iterations"]
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["config"]["grid"] == [24, 24] and (tmp_path / "residuals.png").is_file()
    # classical methods only: the comparison names the fastest, and no learned method (no headline row)
    (comparison,) = record["headline"]
    fastest = min(rows.values(), key=lambda row: row["total_s"])
    assert comparison["learned"] is None and comparison["classical"] == fastest["method"] == comparison["fastest"]
    assert comparison["classical_iterations"] == fastest["iterations"] and record["verdict"].startswith("verdict: fastest")


def _system(systems, rtol: float = 1e-6) -> StencilSystem:
    system = load_systems(systems, 1)[0]
    return StencilSystem(system.operator, system.b, system.mask, rtol=rtol)


def test_learned_methods_use_the_network_and_report_no_progress(systems):
    calls = []

    class Constant(torch.nn.Module):
        """Returns a constant field whatever the residual: a useless direction map."""

        def forward(self, fields):
            calls.append(fields.shape)
            return torch.ones_like(fields[:, :1])

    run = method("dcdm", Constant(), network_maxiter=5).run(_system(systems, rtol=1e-8))
    # one useful step along the constant, then the same direction again: it vanishes, reported as no progress
    assert calls and not run.converged and run.iterations == 1 and run.true_residual > 1e-8
    assert len(run.residuals) == 2 and np.isclose(run.residuals[-1], run.true_residual)


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(torch.device("cpu")) as memory:
        block = torch.ones(64 * 2**20 // 8, dtype=torch.float64)  # 64 MiB
        block += 1
    assert 48 * 2**20 < memory.bytes < 256 * 2**20


def test_bad_configurations_are_refused(systems):
    with pytest.raises(ValueError, match="unknown methods"):
        DCDMEvaluation(str(systems), methods=["cg", "multigrid"])
    with pytest.raises(ValueError, match="need a checkpoint"):
        DCDMEvaluation(str(systems), methods=["dcdm"])
    with pytest.raises(ValueError, match="fallback must be one of"):
        DCDMEvaluation(str(systems), methods=["cg"], fallback="pyamg")
    with pytest.raises(ValueError, match="needs a trained network"):
        method("fcg")
    with pytest.raises(ValueError, match="unknown method 'multigrid'"):
        method("multigrid")


class NaNNetwork(torch.nn.Module):
    """A broken network: NaN whatever the residual."""

    def forward(self, fields):
        return torch.full_like(fields[:, :1], float("nan"))


def test_a_nan_network_is_reported_and_the_fallback_still_converges(systems, tmp_path):
    system = _system(systems, rtol=1e-8)
    broken = method("fcg", NaNNetwork()).run(system)
    assert not broken.converged and not broken.fallback
    for name in ("dcdm", "fcg"):
        run = method(name, NaNNetwork(), fallback="ic0").run(system)
        assert run.converged and run.fallback and run.true_residual <= 1e-8
        assert np.isclose(run.residuals[-1], run.true_residual) and run.iterations > 0
    with pytest.raises(ValueError, match="fallback"):
        method("fcg", NaNNetwork(), fallback="multigrid")


def test_the_evaluation_marks_rows_that_fell_back(systems, tmp_path, monkeypatch):
    import neuralsolvers.evaluate.dcdm as module

    clock = {"seconds": 3600.0, "device": "cpu", "num_devices": 2, "steps": 10}  # what the training clock writes: two device-hours
    monkeypatch.setattr(module, "trained_preconditioner", lambda path, device: (LearnedPreconditioner(NaNNetwork(), "field"), clock))
    evaluation = DCDMEvaluation(str(systems), checkpoint="broken.ckpt", methods=["jacobi", "fcg"], num_systems=2, rtol=1e-8, fallback="jacobi")
    rows = {row["method"]: row for row in evaluation.run(tmp_path, use_wandb=False).rows}
    assert rows["FCG + network"]["fell_back"] == "2/2" and rows["FCG + network"]["converged"] == "2/2"
    assert rows["Jacobi-PCG"]["fell_back"] == "–" and rows["Jacobi-PCG"]["training_device_h"] is None
    assert rows["FCG + network"]["training_device_h"] == 2.0
    saving = rows["Jacobi-PCG"]["total_s"] - rows["FCG + network"]["total_s"]
    assert rows["FCG + network"]["break_even_solves"] == ("never" if saving <= 0 else f"{3600 / saving:.3g}")
    (comparison,) = json.loads((tmp_path / "results.json").read_text())["headline"]
    assert (comparison["learned"], comparison["classical"]) == ("FCG + network", "Jacobi-PCG")
    assert comparison["time_ratio"] == pytest.approx(rows["FCG + network"]["total_s"] / rows["Jacobi-PCG"]["total_s"])


def test_timing_synchronizes_the_device_around_the_work(monkeypatch):
    """On CUDA the clock must start after the queue drained and stop after the work finished: a fake
    device records the order of synchronizations, clock reads and the work itself."""
    import neuralsolvers.evaluate.measure as measure

    events = []
    ticks = iter(range(100))
    monkeypatch.setattr(measure.torch.cuda, "synchronize", lambda device=None: events.append("sync"))
    monkeypatch.setattr(measure.time, "perf_counter", lambda: events.append("clock") or float(next(ticks)))
    value, seconds = measure.timed(torch.device("cuda"), lambda: events.append("work") or 42)
    assert value == 42 and seconds == 1.0
    assert events == ["sync", "clock", "work", "sync", "clock"]
    events.clear()
    measure.timed(torch.device("cpu"), lambda: events.append("work"))
    assert events == ["clock", "work", "clock"]


def test_repeated_passes_are_timed_by_torch_benchmark_with_the_current_threads(monkeypatch):
    """``pass_seconds``: ``torch.utils.benchmark.Timer`` with torch's thread count (not its default of
    one), two warm-up calls and then ``repeats`` timed ones; torch's setting is left as it was."""
    from neuralsolvers.evaluate.measure import pass_seconds

    calls, threads = [], torch.get_num_threads()
    seconds = pass_seconds(lambda: calls.append(torch.get_num_threads()), repeats=3)
    assert calls == [threads] * 5 and 0 < seconds < 0.1 and torch.get_num_threads() == threads
    with pytest.raises(ValueError, match="repeats"):
        pass_seconds(lambda: None, repeats=0)


def test_a_config_naming_the_old_class_still_parses_and_runs(systems, tmp_path, capsys):
    """``PreconditionerEvaluation``, the name before ``DCDMEvaluation``, still loads (with a warning)
    for one release: the committed config with the old class path prints and runs."""
    import yaml

    from neuralsolvers.cli import main

    committed = Path(__file__).parents[2] / "configs/eval/dcdm_poisson2d.yaml"
    old = tmp_path / "old.yaml"
    old.write_text(committed.read_text().replace("evaluate.DCDMEvaluation", "evaluate.PreconditionerEvaluation"))
    assert main(["evaluate", "--config", str(old), "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["task"]["init_args"]["methods"] == ["cg", "jacobi", "ic0", "amg", "pyamg", "pyamg_rs", "direct", "gmg", "bbmg", "dcdm", "fcg"]
    tiny = [f"--task.init_args.systems={systems}", "--task.init_args.checkpoint=null", "--task.init_args.methods=[cg, jacobi]",
            "--task.init_args.num_systems=2", "--task.init_args.repeats=1", "--requires=[]", f"--out={tmp_path / 'out'}", "--wandb=false"]  # fmt: skip
    with pytest.warns(DeprecationWarning, match="PreconditionerEvaluation is now DCDMEvaluation"):
        assert main(["evaluate", "--config", str(old), *tiny]) == 0
    record = json.loads((tmp_path / "out/results.json").read_text())
    assert [row["method"] for row in record["rows"]] == ["CG", "Jacobi-PCG"] and record["component"] == "DCDM"
