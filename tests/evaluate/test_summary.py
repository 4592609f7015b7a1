"""``neuralsolvers evaluate --summary``: collects every results.json, rewrites only its own block of
BENCHMARKS.md, refuses files that evaluate did not write; the results.json schema is stable."""

import json

from neuralsolvers.cli import main
from neuralsolvers.evaluate.report import Report, environment, verdict_line
from neuralsolvers.evaluate.summary import BEGIN, END


def write_run(directory, title, rows):
    Report(title, rows, environment("cpu"), {"seed": 0}).write(directory)


def test_results_json_schema_is_stable(tmp_path):
    write_run(tmp_path, "t", [{"method": "CG", "iterations": 3}])
    record = json.loads((tmp_path / "results.json").read_text())
    assert set(record) == {"title", "rows", "environment", "config", "verdict"}
    assert set(record["environment"]) == {"device", "cpu_threads", "neuralsolvers", "torch", "python", "date"}


def test_summary_collects_runs_and_updates_only_its_block(tmp_path, capsys):
    results = tmp_path / "results"
    write_run(results / "b_run", "Second", [{"method": "ω = 1", "iterations": 12}])
    write_run(results / "a_run", "First", [{"method": "CG", "iterations": 40}])
    benchmarks = tmp_path / "BENCHMARKS.md"
    benchmarks.write_text("# Benchmarks\n\nhand-written text stays\n")
    assert main(["evaluate", "--summary", f"--results={results}", f"--benchmarks={benchmarks}"]) == 0
    out = capsys.readouterr().out
    assert out.index("### First") < out.index("### Second") and "| CG | 40 |" in out
    write_run(results / "a_run", "First", [{"method": "CG", "iterations": 41}])
    assert main(["evaluate", "--summary", f"--results={results}", f"--benchmarks={benchmarks}"]) == 0
    text = benchmarks.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written text stays") and text.count(BEGIN) == text.count(END) == 1
    assert "| CG | 41 |" in text and "| CG | 40 |" not in text


def test_summary_refuses_foreign_files(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "results.json").write_text('{"rows": []}')
    assert main(["evaluate", "--summary", f"--results={tmp_path}"]) == 1
    assert "not written by neuralsolvers evaluate" in capsys.readouterr().err
    assert main(["evaluate", "--summary", f"--results={tmp_path / 'missing'}"]) == 1


def test_verdict_line_names_the_fastest_and_the_learned_ratio():
    rows = [{"method": "CG", "s": 2.0, "ok": True}, {"method": "AMG", "s": 0.5, "ok": True},
            {"method": "net", "s": 0.25, "ok": True}, {"method": "broken net", "s": 0.01, "ok": False}]  # fmt: skip
    line = verdict_line(rows, lambda r: r["s"], lambda r: "net" in r["method"], valid=lambda r: r["ok"], where="at 64²")
    assert line == "verdict at 64²: fastest net (250 ms); best learned net 250 ms = 0.5× the best classical AMG (500 ms)"
    slower = verdict_line(rows[:2] + [{"method": "net", "s": 3.0, "ok": True}], lambda r: r["s"], lambda r: r["method"] == "net")
    assert slower.endswith("best learned net 3 s = 6× the best classical AMG (500 ms)")
    assert verdict_line(rows[:2], lambda r: r["s"], lambda r: False) == "verdict: fastest AMG (500 ms)"
    unconverged = verdict_line(rows, lambda r: r["s"], lambda r: "net" in r["method"], valid=lambda r: r["method"] != "net" and r["ok"])
    assert unconverged.endswith("no learned method met the tolerance")
    report = Report("t", rows, environment("cpu"), verdict=line)
    assert report.markdown.rstrip().endswith(line)
