"""Evaluation reports: a Markdown table and a JSON record per run, figures, and a W&B run."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

import neuralsolvers

__all__ = ["Report", "environment", "markdown_table", "write_benchmark"]


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


@dataclass
class Report:
    """What an evaluation produced."""

    title: str
    rows: list[dict[str, Any]]
    environment: dict[str, str]
    config: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def markdown(self) -> str:
        env = ", ".join(f"{key} {value}" for key, value in self.environment.items())
        return f"## {self.title}\n\n{markdown_table(self.rows)}\n\n{env}\n"

    def write(self, out: str | Path) -> Path:
        """Write ``results.md``, ``results.json`` and ``<figure>.png`` under ``out``; returns ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(self.markdown)
        record = {"title": self.title, "rows": self.rows, "environment": self.environment, "config": self.config}
        (out / "results.json").write_text(json.dumps(record, indent=2, default=str))
        for name, figure in self.figures.items():
            figure.savefig(out / f"{name}.png", dpi=100)
            plt.close(figure)
        return out

    def log_to_wandb(self, out: str | Path, project: str = "neuralsolvers") -> None:
        """A W&B run (``job_type=evaluate``) with the table, the environment and the figures."""
        import wandb

        run = wandb.init(project=project, job_type="evaluate", dir=str(out), config={**self.config, **self.environment}, name=self.title)
        try:
            if self.rows:
                columns = list(self.rows[0])
                run.log({"results": wandb.Table(columns=columns, data=[[row.get(c) for c in columns] for row in self.rows])})
            for name in self.figures:
                run.log({name: wandb.Image(str(Path(out) / f"{name}.png"))})
        finally:
            run.finish()
