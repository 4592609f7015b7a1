"""The preconditioner evaluation: every method on the same held-out systems, true residuals checked,
peak memory measured, bad configurations refused."""

import json

import numpy as np
import pytest
import torch

from neuralsolvers.data_gen import PoissonObstacles
from neuralsolvers.data_gen.poisson import load_systems
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.evaluate import PreconditionerEvaluation
from neuralsolvers.evaluate.solver_runs import CLASSICAL, PeakMemory, solve_system


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    directory = tmp_path_factory.mktemp("systems") / "test"
    generate_split(PoissonObstacles(grid=(24, 24), scene="spheres", solve=False), directory, 3, seed=5)
    return directory


def test_classical_methods_reach_the_tolerance_and_are_reported(systems, tmp_path):
    report = PreconditionerEvaluation(str(systems), methods=list(CLASSICAL), num_systems=2, rtol=1e-8).run(tmp_path, use_wandb=False)
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


def test_learned_methods_use_the_network_and_report_no_progress(systems):
    system = load_systems(systems, 1)[0]
    calls = []

    class Constant(torch.nn.Module):
        """Returns a constant field whatever the residual: a useless direction map."""

        def forward(self, fields):
            calls.append(fields.shape)
            return torch.ones_like(fields[:, :1])

    run = solve_system("dcdm", system.operator, system.b, system.mask, Constant(), rtol=1e-8, network_maxiter=5)
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
        PreconditionerEvaluation(str(systems), methods=["cg", "multigrid"])
    with pytest.raises(ValueError, match="need a checkpoint"):
        PreconditionerEvaluation(str(systems), methods=["dcdm"])
    with pytest.raises(ValueError, match="needs a trained network"):
        system = load_systems(systems, 1)[0]
        solve_system("fcg", system.operator, system.b, system.mask)


class NaNNetwork(torch.nn.Module):
    """A broken network: NaN whatever the residual."""

    def forward(self, fields):
        return torch.full_like(fields[:, :1], float("nan"))


def test_a_nan_network_is_reported_and_the_fallback_still_converges(systems, tmp_path):
    system = load_systems(systems, 1)[0]
    broken = solve_system("fcg", system.operator, system.b, system.mask, NaNNetwork(), rtol=1e-8)
    assert not broken.converged and not broken.fallback
    for method in ("dcdm", "fcg"):
        run = solve_system(method, system.operator, system.b, system.mask, NaNNetwork(), rtol=1e-8, fallback="ic0")
        assert run.converged and run.fallback and run.true_residual <= 1e-8
        assert np.isclose(run.residuals[-1], run.true_residual) and run.iterations > 0
    with pytest.raises(ValueError, match="fallback"):
        solve_system("fcg", system.operator, system.b, system.mask, NaNNetwork(), fallback="multigrid")


def test_the_evaluation_marks_rows_that_fell_back(systems, tmp_path, monkeypatch):
    import neuralsolvers.evaluate.preconditioner as module

    monkeypatch.setattr(module, "load", lambda *args, **kwargs: NaNNetwork())
    checkpoint = tmp_path / "broken.ckpt"  # what the training clock writes: two device-hours
    torch.save({"training_time": {"seconds": 3600.0, "device": "cpu", "num_devices": 2, "steps": 10}}, checkpoint)
    evaluation = PreconditionerEvaluation(str(systems), checkpoint=str(checkpoint), methods=["jacobi", "fcg"], num_systems=2, rtol=1e-8, fallback="jacobi")
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
    import neuralsolvers.evaluate.solver_runs as runs

    events = []
    ticks = iter(range(100))
    monkeypatch.setattr(runs.torch.cuda, "synchronize", lambda device=None: events.append("sync"))
    monkeypatch.setattr(runs.time, "perf_counter", lambda: events.append("clock") or float(next(ticks)))
    value, seconds = runs.timed(torch.device("cuda"), lambda: events.append("work") or 42)
    assert value == 42 and seconds == 1.0
    assert events == ["sync", "clock", "work", "sync", "clock"]
    events.clear()
    runs.timed(torch.device("cpu"), lambda: events.append("work"))
    assert events == ["clock", "work", "clock"]
