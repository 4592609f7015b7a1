"""Evaluation reports: a Markdown table and a JSON record per run, figures, and a W&B run."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

import neuralsolvers
from neuralsolvers.evaluate.base import Comparison
from neuralsolvers.wandb_defaults import configure_wandb_defaults

__all__ = ["Report", "compare", "environment", "markdown_table", "verdict_line", "verdict_text", "write_benchmark"]


def environment(device: torch.device | str, threads: int | None = None, load: float | None = None) -> dict[str, str]:
    """Device and versions every result records; ``threads``: the torch CPU threads the timings ran
    with (default the current number); ``load``: the machine's 1-minute load average during the run
    (default now), beside its number of cores: how much other work shared the CPU."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    if load is None and hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
    return {
        "device": f"{device.type}: {name}",
        "cpu_threads": str(torch.get_num_threads() if threads is None else threads),
        "cpu_cores": str(os.cpu_count()),
        "load_average": "–" if load is None else f"{load:.2f}",
        "neuralsolvers": neuralsolvers.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_benchmark(out: str | Path, name: str, rows: list[dict[str, Any]], device: str = "cpu", **extra: Any) -> Path:
    """Write ``<out>/<name>.json`` (rows, environment, extra fields) and print the rows as a table."""
    record = {"environment": environment(device), **extra, "rows": rows}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=str))
    print(markdown_table(rows))
    print(record["environment"])
    return path


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3e}" if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4) else f"{value:.4g}"
    return str(value)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows of equal keys as a Markdown table."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def compare(
    rows: list[dict[str, Any]],
    seconds: Callable[[dict[str, Any]], float | None],
    learned: Callable[[dict[str, Any]], bool],
    name: str = "method",
    valid: Callable[[dict[str, Any]], bool] = lambda row: True,
    where: str = "",
    iterations: Callable[[dict[str, Any]], float | None] | None = None,
) -> Comparison:
    """The fastest method, and the best (fastest) learned method against the best classical one.

    Args:
        rows: the table's rows. seconds: a row's time (None: not timed, left out).
        learned: whether a row is a learned method. name: the key naming the method.
        valid: whether a row counts (e.g. it converged). where: which part of the table (e.g. ``at 256²``).
        iterations: a row's iteration count, recorded for the two best methods (None: not counted).
    """
    timed = [row for row in rows if valid(row) and seconds(row) is not None]
    if not timed:
        return Comparison(where, note="no method met the tolerance")
    fastest = min(timed, key=seconds)
    comparison = Comparison(where, fastest=fastest[name], fastest_s=seconds(fastest))
    learned_rows = [row for row in timed if learned(row)]
    classical_rows = [row for row in timed if not learned(row)]
    count = iterations or (lambda row: None)
    if learned_rows:
        best = min(learned_rows, key=seconds)
        comparison.learned, comparison.learned_s, comparison.learned_iterations = best[name], seconds(best), count(best)
    elif any(learned(row) for row in rows):
        comparison.note = "no learned method met the tolerance"
    if classical_rows:
        best = min(classical_rows, key=seconds)
        comparison.classical, comparison.classical_s, comparison.classical_iterations = best[name], seconds(best), count(best)
    return comparison


def verdict_text(comparison: Comparison, where: str | None = None) -> str:
    """The verdict line of a :class:`Comparison` of times (see :func:`compare`); ``where``: the scope
    the line names, if not the comparison's (e.g. ``""`` where the title names the systems)."""
    where = comparison.where if where is None else where
    scope = f" {where}" if where else ""
    if comparison.fastest is None:
        return f"verdict{scope}: {comparison.note or 'no method met the tolerance'}"
    line = f"verdict{scope}: fastest {comparison.fastest} ({_seconds(comparison.fastest_s)})"
    if comparison.time_ratio is not None:
        line += (f"; best learned {comparison.learned} {_seconds(comparison.learned_s)} = {comparison.time_ratio:.3g}× "
                 f"the best classical {comparison.classical} ({_seconds(comparison.classical_s)})")  # fmt: skip
    elif comparison.note:
        line += f"; {comparison.note}"
    return line


def verdict_line(
    rows: list[dict[str, Any]],
    seconds: Callable[[dict[str, Any]], float | None],
    learned: Callable[[dict[str, Any]], bool],
    name: str = "method",
    valid: Callable[[dict[str, Any]], bool] = lambda row: True,
    where: str = "",
) -> str:
    """One line: the fastest method, and the best learned method's time as a ratio to the best
    classical one (the text of :func:`compare`, which takes the same arguments)."""
    return verdict_text(compare(rows, seconds, learned, name, valid, where))


@dataclass
class Report:
    """What an evaluation produced; ``verdict`` is the one line that closes the printed report.

    ``component`` and ``headline``: the learned component and its comparisons with the best classical
    method (the headline of BENCHMARKS.md); ``command``: the command line that produced the report.
    """

    title: str
    rows: list[dict[str, Any]]
    environment: dict[str, str]
    config: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    verdict: str | None = None
    component: str | None = None
    headline: list[Comparison] = field(default_factory=list)
    command: str | None = None

    @property
    def markdown(self) -> str:
        env = ", ".join(f"{key} {value}" for key, value in self.environment.items())
        command = f"\ncommand: `{self.command}`\n" if self.command else ""
        verdict = f"\n{self.verdict}\n" if self.verdict else ""
        return f"## {self.title}\n\n{markdown_table(self.rows)}\n\n{env}\n{command}{verdict}"

    @property
    def record(self) -> dict[str, Any]:
        """The JSON record of ``results.json``."""
        return {
            "title": self.title, "rows": self.rows, "environment": self.environment, "config": self.config, "verdict": self.verdict,
            "component": self.component, "headline": [comparison.as_dict() for comparison in self.headline], "command": self.command,
        }  # fmt: skip

    def write(self, out: str | Path) -> Path:
        """Write ``results.md``, ``results.json`` and ``<figure>.png`` under ``out``; returns ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(self.markdown)
        (out / "results.json").write_text(json.dumps(self.record, indent=2, default=str))
        for name, figure in self.figures.items():
            figure.savefig(out / f"{name}.png", dpi=100)
            plt.close(figure)
        return out

    def log_to_wandb(self, out: str | Path, project: str = "neuralsolvers") -> None:
        """A W&B run (``job_type=evaluate``) with the table, the environment and the figures; offline
        unless the user logged in or chose a mode (also when called from a script, not the CLI)."""
        import wandb

        configure_wandb_defaults()
        run = wandb.init(project=project, job_type="evaluate", dir=str(out), config={**self.config, **self.environment}, name=self.title)
        try:
            if self.rows:
                columns = list(self.rows[0])
                run.log({"results": wandb.Table(columns=columns, data=[[row.get(c) for c in columns] for row in self.rows])})
            for name in self.figures:
                run.log({name: wandb.Image(str(Path(out) / f"{name}.png"))})
        finally:
            run.finish()
