"""``neuralsolvers evaluate --summary``: the headline (one table per learned component) is built from
the structured comparisons of every results.json, put at the top of BENCHMARKS.md and rewritten in
place; files evaluate did not write are refused; the results.json schema is stable."""

import json
from pathlib import Path

import pytest

from neuralsolvers.cli import main
from neuralsolvers.evaluate import summary
from neuralsolvers.evaluate.comparison import Comparison, compare, verdict_text
from neuralsolvers.evaluate.report import Report, environment
from neuralsolvers.evaluate.summary import BEGIN, COMPONENTS, END, collect, headline_markdown

ROOT = Path(__file__).resolve().parents[2]
ROWS = [{"method": "CG", "s": 2.0, "it": 400, "ok": True}, {"method": "AMG", "s": 0.5, "it": 10, "ok": True},
        {"method": "net", "s": 0.25, "it": 8, "ok": True}, {"method": "broken net", "s": 0.01, "it": 1, "ok": False}]  # fmt: skip


def write_run(directory, title, rows, component=None, headline=(), command=None):
    Report(title, rows, environment("cpu"), {"seed": 0}, component=component, headline=list(headline), command=command).write(directory)


def test_results_json_schema_is_stable(tmp_path):
    write_run(tmp_path, "t", [{"method": "CG", "iterations": 3}], "DCDM", [Comparison("here", "net", 1.0, "CG", 2.0)], "neuralsolvers evaluate --config x.yaml")
    record = json.loads((tmp_path / "results.json").read_text())
    assert set(record) == {"title", "rows", "environment", "config", "verdict", "component", "headline", "command"}
    assert set(record["environment"]) == {"device", "cpu_threads", "cpu_cores", "load_average", "neuralsolvers", "torch", "python", "date"}
    assert record["command"] == "neuralsolvers evaluate --config x.yaml" and record["component"] == "DCDM"
    assert record["headline"][0]["time_ratio"] == 0.5 and record["headline"][0]["learned"] == "net"
    assert "command: `neuralsolvers evaluate --config x.yaml`" in (tmp_path / "results.md").read_text()


def test_compare_is_the_structured_verdict():
    comparison = compare(ROWS, lambda r: r["s"], lambda r: "net" in r["method"], valid=lambda r: r["ok"], where="at 64²", iterations=lambda r: r["it"])
    assert (comparison.learned, comparison.classical, comparison.fastest) == ("net", "AMG", "net")
    assert comparison.time_ratio == 0.5 and comparison.iteration_ratio == 0.8 and comparison.note is None
    assert verdict_text(comparison, where="").startswith("verdict: fastest net")
    classical_only = compare(ROWS[:2], lambda r: r["s"], lambda r: False)
    assert classical_only.learned is None and classical_only.time_ratio is None and classical_only.classical == "AMG"
    failed = compare(ROWS, lambda r: r["s"], lambda r: "net" in r["method"], valid=lambda r: r["method"] != "net" and r["ok"])
    assert failed.learned is None and failed.note == "no learned method met the tolerance"
    assert compare(ROWS, lambda r: r["s"], lambda r: True, valid=lambda r: False).fastest is None


def verdict_line(rows, seconds, learned, valid=lambda row: True, where=""):
    return verdict_text(compare(rows, seconds, learned, valid=valid, where=where))


def test_verdict_line_names_the_fastest_and_the_learned_ratio():
    line = verdict_line(ROWS, lambda r: r["s"], lambda r: "net" in r["method"], valid=lambda r: r["ok"], where="at 64²")
    assert line == "verdict at 64²: fastest net (250 ms); best learned net 250 ms = 0.5× the best classical AMG (500 ms)"
    slower = verdict_line(ROWS[:2] + [{"method": "net", "s": 3.0}], lambda r: r["s"], lambda r: r["method"] == "net")
    assert slower.endswith("best learned net 3 s = 6× the best classical AMG (500 ms)")
    assert verdict_line(ROWS[:2], lambda r: r["s"], lambda r: False) == "verdict: fastest AMG (500 ms)"
    unconverged = verdict_line(ROWS, lambda r: r["s"], lambda r: "net" in r["method"], valid=lambda r: r["method"] != "net" and r["ok"])
    assert unconverged.endswith("no learned method met the tolerance")
    assert verdict_line(ROWS, lambda r: r["s"], lambda r: True, valid=lambda r: False) == "verdict: no method met the tolerance"
    report = Report("t", ROWS, environment("cpu"), verdict=line)
    assert report.markdown.rstrip().endswith(line)


def test_headline_is_built_from_the_structured_comparisons(tmp_path):
    results = tmp_path / "results"
    fast = Comparison("held-out scenes at 256²", "NMG", 0.1, "GMG", 0.2, learned_iterations=9, classical_iterations=12)
    write_run(results / "nmg", "NMG run", [{"method": "NMG"}], "Neural multigrid", [fast], "neuralsolvers evaluate --config configs/eval/neural_mg_demo.yaml")
    other = Comparison("3D scenes at 64³", "NMG", 0.3, "GMG", 0.2)
    write_run(results / "a_other", "3D run", [{"method": "NMG"}], "Neural multigrid", [other], "neuralsolvers evaluate --config configs/eval/neural_mg_poisson3d.yaml")
    classical = Comparison("moving obstacles at 64²", None, None, "GMG", 1.0)  # no learned method: not a headline row
    write_run(results / "moving", "moving", [{"method": "GMG"}], "Neural multigrid", [classical])
    toy = Comparison("Laplace toy", "LPN", 2.5e-6, "soft threshold", 0.02, metric="max error", learned_metric=0.03, classical_metric=0.0)
    write_run(results / "toy", "toy", [{"network": "LPN"}], "LPN proximal", [toy])
    record = json.loads((results / "nmg/results.json").read_text())
    record["verdict"] = "verdict: text that no headline reads"
    (results / "nmg/results.json").write_text(json.dumps(record))
    headline = headline_markdown(collect(results), "neuralsolvers evaluate --summary")
    nmg = headline.split("### Neural multigrid")[1].split("###")[0]
    assert "| held-out scenes at 256² | NMG (100 ms, 9 it.) | GMG (200 ms, 12 it.) | **0.5×** | 0.75× |" in nmg
    assert "`neuralsolvers evaluate --config configs/eval/neural_mg_demo.yaml`" in nmg and "cpu: " in nmg
    assert nmg.index("held-out scenes at 256²") < nmg.index("3D scenes at 64³")  # the component's committed evaluation first
    assert "moving obstacles" not in headline and "text that no headline reads" not in headline
    lpn = headline.split(f"### {summary.HEADINGS['LPN proximal']}")[1]
    assert "| LPN (2.5 µs) | soft threshold (20 ms) | **0.000125×** |" in lpn and "max error: 0.03 vs 0" in lpn
    assert "Generated by `neuralsolvers evaluate --summary` from 3 evaluations" in headline
    assert "load average" in headline and "same load" in headline
    # components in their fixed order; the ones without results say what would measure them
    at = [headline.index(f"### {summary.HEADINGS.get(name, name)}\n") for name in COMPONENTS]
    assert at == sorted(at) and headline.count("\n### ") == len(COMPONENTS)
    assert f"Not measured in these results: `neuralsolvers evaluate --config {COMPONENTS['DCDM']}`" in headline


def test_every_component_names_a_committed_evaluation():
    assert all((ROOT / config).is_file() for config in COMPONENTS.values())


def test_summary_puts_the_headline_at_the_top_and_rewrites_only_its_block(tmp_path, capsys):
    results = tmp_path / "results"
    write_run(results / "b_run", "Second", [{"method": "ω = 1", "iterations": 12}], "Learned relaxation ω", [Comparison("n = 25", "policy", 3.0, "ω = 1", 4.0)])
    write_run(results / "a_run", "First", [{"method": "CG", "iterations": 40}])
    benchmarks = tmp_path / "BENCHMARKS.md"
    benchmarks.write_text("# Benchmarks\n\nhand-written text stays\n")
    assert main(["evaluate", "--summary", f"--results={results}", f"--benchmarks={benchmarks}"]) == 0
    out = capsys.readouterr().out
    assert out.index("## Headline") < out.index("### First") < out.index("### Second") and "| CG | 40 |" in out
    text = benchmarks.read_text()
    assert text.startswith(f"# Benchmarks\n\n{BEGIN}\n## Headline") and text.index(END) < text.index("hand-written text stays")
    assert "**0.75×**" in text and "| CG | 40 |" not in text  # the file gets the headline, not every table
    assert f"`neuralsolvers evaluate --summary --results={results} --benchmarks={benchmarks}`" in text
    write_run(results / "b_run", "Second", [{"method": "ω = 1", "iterations": 12}], "Learned relaxation ω", [Comparison("n = 25", "policy", 2.0, "ω = 1", 4.0)])
    assert main(["evaluate", "--summary", f"--results={results}", f"--benchmarks={benchmarks}"]) == 0
    text = benchmarks.read_text()
    assert text.count(BEGIN) == text.count(END) == 1 and text.endswith("hand-written text stays\n")
    assert "**0.5×**" in text and "**0.75×**" not in text


def test_summary_refuses_foreign_files(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "results.json").write_text('{"rows": []}')
    assert main(["evaluate", "--summary", f"--results={tmp_path}"]) == 1
    assert "not written by neuralsolvers evaluate" in capsys.readouterr().err
    assert main(["evaluate", "--summary", f"--results={tmp_path / 'missing'}"]) == 1


@pytest.mark.parametrize("loads, shared", [(("3.90", "2.50"), True), (("0.80", "1.20"), False)])
def test_the_caption_says_whether_other_jobs_shared_the_cpu(tmp_path, loads, shared):
    for index, load in enumerate(loads):
        env = environment("cpu", threads=1, load=float(load))
        Report("r", [{"method": "x"}], env, component="DCDM", headline=[Comparison("s", "net", 1.0, "CG", 2.0)]).write(tmp_path / str(index))
    headline = headline_markdown(collect(tmp_path))
    assert f"load average of {min(loads)} to {max(loads)}" in headline
    assert f", 1 thread, load {max(loads)} |" in headline and "| net (1 s) | CG (2 s) | **0.5×** |" in headline
    assert ("other jobs ran beside the evaluations" in headline) is shared
