"""The shared evaluation template: ``Evaluation.run`` is defined once and writes what ``evaluate``
returns; every evaluation uses it; ``neuralsolvers evaluate --help`` loads neither torch nor matplotlib."""

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neuralsolvers.evaluate as evaluate_package
from neuralsolvers.evaluate.base import Evaluation, Outcome
from neuralsolvers.evaluate.comparison import Comparison
from neuralsolvers.evaluate.summary import COMPONENTS

PACKAGE = Path(evaluate_package.__file__).parent
EVALUATIONS = sorted(name for name in evaluate_package.__all__ if name.endswith(("Evaluation", "Discovery")) and name != "Evaluation")
HEAVY = ("torch", "matplotlib", "neuralsolvers.evaluate.report")


def test_the_base_module_and_evaluate_help_load_neither_torch_nor_matplotlib():
    code = f"import neuralsolvers.evaluate.base, sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.strip().splitlines()[-1] == "[]"
    code = ("import sys; from neuralsolvers.cli import main; code = main(['evaluate', '--help']); "
            f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--summary" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 []"


class Toy(Evaluation):
    """A minimal evaluation: one table, one figure, one cost array, one comparison."""

    component = "DCDM"

    def __init__(self, learned_s: float = 0.2):
        self.learned_s = learned_s

    def evaluate(self) -> Outcome:
        import matplotlib.pyplot as plt

        rows = [{"method": "CG", "total_s": 0.4}, {"method": "net", "total_s": self.learned_s}]
        comparison = Comparison("toy systems", "net", self.learned_s, "CG", 0.4)
        figure = plt.figure()
        return Outcome("Toy", rows, "cpu", {"size": 3}, {"curve": figure}, "verdict: toy", [comparison],
                       arrays={"costs": {"table": np.arange(6).reshape(2, 3)}}, threads=1)  # fmt: skip


def test_run_writes_what_evaluate_returns(tmp_path):
    report = Toy().run(tmp_path / "out", use_wandb=False, command="neuralsolvers evaluate --config toy.yaml")
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"results.md", "results.json", "curve.png", "costs.npz"}
    record = json.loads((out / "results.json").read_text())
    assert record["title"] == "Toy" and record["config"] == {"size": 3} and record["verdict"] == "verdict: toy"
    assert record["component"] == "DCDM" and record["command"] == "neuralsolvers evaluate --config toy.yaml"
    assert record["headline"][0]["time_ratio"] == pytest.approx(0.5) and record["environment"]["cpu_threads"] == "1"
    assert np.array_equal(np.load(out / "costs.npz")["table"], np.arange(6).reshape(2, 3))
    assert report.markdown == (out / "results.md").read_text() and report.markdown.rstrip().endswith("verdict: toy")


def test_wandb_logging_is_the_templates(tmp_path, monkeypatch):
    import neuralsolvers.evaluate.report as report_module

    logged = []
    monkeypatch.setattr(report_module.Report, "log_to_wandb", lambda self, out: logged.append((self.title, Path(out))))
    Toy().run(tmp_path / "a", use_wandb=False)
    assert logged == []
    Toy().run(tmp_path / "b")
    assert logged == [("Toy", tmp_path / "b")]


def test_an_evaluation_must_implement_evaluate():
    class Incomplete(Evaluation):
        pass

    with pytest.raises(TypeError, match="evaluate"):
        Incomplete()


@pytest.mark.parametrize("name", EVALUATIONS)
def test_every_evaluation_uses_the_template(name):
    cls = getattr(evaluate_package, name)
    assert issubclass(cls, Evaluation) and cls.run is Evaluation.run, f"{name} defines its own run"
    assert "evaluate" in vars(cls) and cls.component in COMPONENTS, name
    assert inspect.signature(cls.evaluate).return_annotation in ("Outcome", Outcome)


def test_no_evaluation_keeps_a_copy_of_the_scaffolding():
    assert len(EVALUATIONS) == 12
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in ("base", "report", "summary", "__init__"):
            continue
        source = path.read_text()
        for scaffolding in ("Report(", ".write(out)", "log_to_wandb", "environment("):
            assert scaffolding not in source, f"{path.name} still has {scaffolding}"
        importlib.import_module(f"neuralsolvers.evaluate.{path.stem}")
