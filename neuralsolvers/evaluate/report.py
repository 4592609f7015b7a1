"""Evaluation reports: a Markdown table and a JSON record per run, figures, and a W&B run."""

from __future__ import annotations

import json
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
from neuralsolvers.wandb_defaults import configure_wandb_defaults

__all__ = ["Report", "environment", "markdown_table", "verdict_line", "write_benchmark"]


def environment(device: torch.device | str) -> dict[str, str]:
    """Device and versions every result records."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {
        "device": f"{device.type}: {name}",
        "cpu_threads": str(torch.get_num_threads()),
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


def verdict_line(
    rows: list[dict[str, Any]],
    seconds: Callable[[dict[str, Any]], float | None],
    learned: Callable[[dict[str, Any]], bool],
    name: str = "method",
    valid: Callable[[dict[str, Any]], bool] = lambda row: True,
    where: str = "",
) -> str:
    """One line: the fastest method, and the best learned method's time as a ratio to the best classical one.

    Args:
        rows: the table's rows. seconds: a row's time (None: not timed, left out).
        learned: whether a row is a learned method. name: the key naming the method.
        valid: whether a row counts (e.g. it converged). where: which part of the table (e.g. ``at 256²``).
    """
    timed = [row for row in rows if valid(row) and seconds(row) is not None]
    scope = f" {where}" if where else ""
    if not timed:
        return f"verdict{scope}: no method met the tolerance"
    fastest = min(timed, key=seconds)
    line = f"verdict{scope}: fastest {fastest[name]} ({_seconds(seconds(fastest))})"
    learned_rows = [row for row in timed if learned(row)]
    classical_rows = [row for row in timed if not learned(row)]
    if not any(learned(row) for row in rows):  # a comparison of classical methods only
        return line
    if learned_rows and classical_rows:
        best_learned, best_classical = min(learned_rows, key=seconds), min(classical_rows, key=seconds)
        ratio = seconds(best_learned) / seconds(best_classical)
        line += (f"; best learned {best_learned[name]} {_seconds(seconds(best_learned))} = {ratio:.3g}× "
                 f"the best classical {best_classical[name]} ({_seconds(seconds(best_classical))})")  # fmt: skip
    elif not learned_rows:
        line += "; no learned method met the tolerance"
    return line


@dataclass
class Report:
    """What an evaluation produced; ``verdict`` is the one line that closes the printed report."""

    title: str
    rows: list[dict[str, Any]]
    environment: dict[str, str]
    config: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    verdict: str | None = None

    @property
    def markdown(self) -> str:
        env = ", ".join(f"{key} {value}" for key, value in self.environment.items())
        verdict = f"\n{self.verdict}\n" if self.verdict else ""
        return f"## {self.title}\n\n{markdown_table(self.rows)}\n\n{env}\n{verdict}"

    def write(self, out: str | Path) -> Path:
        """Write ``results.md``, ``results.json`` and ``<figure>.png`` under ``out``; returns ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(self.markdown)
        record = {"title": self.title, "rows": self.rows, "environment": self.environment, "config": self.config, "verdict": self.verdict}
        (out / "results.json").write_text(json.dumps(record, indent=2, default=str))
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
