"""Evaluation reports: a Markdown table and a JSON record per run, figures, and a W&B run; the
environment (device, threads, versions, load) every result records."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

import neuralsolvers
from neuralsolvers.evaluate.comparison import Comparison
from neuralsolvers.evaluate.markdown import markdown_table
from neuralsolvers.wandb_defaults import configure_wandb_defaults

__all__ = ["Report", "environment", "load_average", "write_benchmark"]


def load_average() -> float | None:
    """The 1-minute load average of the machine (None where the OS does not give one)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def environment(device: torch.device | str, threads: int | None = None, load: float | None = None) -> dict[str, str]:
    """Device and versions every result records; ``threads``: the torch CPU threads the timings ran
    with (default the current number); ``load``: the machine's 1-minute load average during the run
    (default now), beside its number of cores: how much other work shared the CPU."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    load = load_average() if load is None else load
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
