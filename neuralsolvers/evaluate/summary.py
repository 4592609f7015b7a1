"""``neuralsolvers evaluate --summary``: the headline of every evaluation's ``results.json`` under a
directory, and optionally into BENCHMARKS.md between two marker lines at the top.

The headline has one table per learned component (the ``component`` an evaluation names): per
comparison the best learned method against the best classical one on the same systems, their times
and iterations, the ratios, the device, the date and the command that produced it. It is built from
the structured ``headline`` of each record (`neuralsolvers.evaluate.comparison.Comparison`),
never from the verdict text. `summary_markdown` gives every run's whole table besides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.markdown import markdown_table, seconds_text

__all__ = ["BEGIN", "COMPONENTS", "END", "HEADINGS", "collect", "headline_markdown", "summary_markdown", "update_benchmarks"]

BEGIN = "<!-- evaluate --summary: begin -->"
END = "<!-- evaluate --summary: end -->"
REQUIRED = ("title", "rows", "environment")
# the learned components in the headline's order, each with the committed evaluation that measures it
COMPONENTS = {
    "Neural multigrid": "configs/eval/neural_mg_demo.yaml",
    "DCDM": "configs/eval/dcdm_poisson2d.yaml",
    "Learned AMG (finite elements)": "configs/eval/learned_amg_fe2d.yaml",
    "Neural operators": "configs/eval/deeponet_antiderivative.yaml",
    "CGS graph solver": "configs/eval/cgs_porous_network.yaml",
    "LPN proximal": "configs/eval/lpn_laplace_toy.yaml",
    "Learned relaxation ω": "configs/eval/relax_heat.yaml",
    "PINNs": "configs/eval/pinn_klein_gordon.yaml",
}
HEADINGS = {  # a component's heading in the headline, where it says more than the name
    "DCDM": "DCDM (learned preconditioner)",
    "Neural operators": "Neural operators (DeepONet, MgNO, FNO)",
    "LPN proximal": "LPN (learned proximal networks)",
    "PINNs": "PINNs (against a classical reference solver)",
}


def collect(results: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """``(directory, record)`` of every ``results.json`` below ``results``, sorted by directory.

    Raises ``ConfigError`` for a missing directory, an unreadable file or a record without the
    fields every evaluation writes (``title``, ``rows``, ``environment``).
    """
    root = Path(results)
    if not root.is_dir():
        raise ConfigError(f"no results directory {root}")
    records = []
    for path in sorted(root.rglob("results.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from None
        missing = [key for key in REQUIRED if key not in record]
        if missing:
            raise ConfigError(f"{path} lacks {missing}: not written by neuralsolvers evaluate")
        records.append((path.parent, record))
    return records


def summary_markdown(records: list[tuple[Path, dict[str, Any]]], root: str | Path = ".") -> str:
    """One section per record: title, directory, table, environment, command."""
    sections = []
    for directory, record in records:
        env = ", ".join(f"{key} {value}" for key, value in record["environment"].items())
        where = directory.relative_to(root) if directory.is_relative_to(root) else directory
        command = f"\n`{record['command']}`\n" if record.get("command") else ""
        sections.append(f"### {record['title']}\n\n`{where}`\n\n{markdown_table(record['rows'])}\n\n{env}\n{command}")
    return "\n".join(sections) if sections else "(no results)\n"


def _method(name: str | None, seconds: float | None, iterations: float | None) -> str:
    """``name (time, iterations)``, the parts that were measured."""
    if name is None:
        return "–"
    measured = [part for part in ("" if seconds is None else seconds_text(seconds), "" if iterations is None else f"{iterations:g} it.") if part]
    return f"{name} ({', '.join(measured)})" if measured else name


def _ratio(value: float | None, bold: bool = False) -> str:
    if value is None:
        return "–"
    return f"**{value:.3g}×**" if bold else f"{value:.3g}×"


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if value == 0 or 1e-2 <= abs(value) < 1e4 else f"{value:.2e}"


def _device(environment: dict[str, str]) -> str:
    """The device, with the CPU threads and the machine's load during the run where recorded."""
    device = environment.get("device", "?")
    if device.startswith("cpu") and environment.get("cpu_threads"):
        threads = environment["cpu_threads"]
        device += f", {threads} thread{'s' if threads != '1' else ''}"
    if environment.get("load_average") not in (None, "–"):
        device += f", load {environment['load_average']}"
    return device


def _row(comparison: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    environment = record["environment"]
    metric = comparison.get("metric")
    quality = "–" if metric is None else f"{metric}: {_number(comparison.get('learned_metric'))} vs {_number(comparison.get('classical_metric'))}"
    return {
        "systems": comparison["where"],
        "best learned": _method(comparison["learned"], comparison.get("learned_s"), comparison.get("learned_iterations")),
        "best classical": _method(comparison.get("classical"), comparison.get("classical_s"), comparison.get("classical_iterations")),
        "time ratio": _ratio(comparison.get("time_ratio"), bold=True),
        "iteration ratio": _ratio(comparison.get("iteration_ratio")),
        "quality (learned vs classical)": quality,
        "note": comparison.get("note") or "",
        "device": _device(environment),
        "date": environment.get("date", "?"),
        "command": f"`{record['command']}`" if record.get("command") else "(run from Python)",
    }


def _table(rows: list[dict[str, str]]) -> str:
    """Rows as a Markdown table, leaving out the columns that are empty in every row."""
    return markdown_table(rows, [column for column in rows[0] if any(row[column] not in ("", "–") for row in rows)])


def _load_caption(records: list[dict[str, Any]]) -> str:
    """How busy the CPU was during the runs, from the load averages they recorded."""
    loads = []
    for record in records:
        environment = record["environment"]
        try:
            loads.append((float(environment["load_average"]), int(environment["cpu_threads"]), int(environment["cpu_cores"])))
        except (KeyError, ValueError):
            continue
    if not loads:
        return ""
    cores = max(core for _, _, core in loads)
    low, high = min(load for load, _, _ in loads), max(load for load, _, _ in loads)
    shared = any(load > threads + 0.5 for load, threads, _ in loads)
    text = f"The runs recorded a 1-minute load average of {low:.2f} to {high:.2f} on {cores} CPU cores"
    if not shared:
        return text + ". A row's learned and classical times come from one run, so both saw the same load."
    return text + (": the machine was shared, other jobs ran beside the evaluations (an evaluation itself accounts for up to "
                   "its CPU threads), so absolute CPU times are pessimistic. A row's learned and classical times come from one "
                   "run and saw the same load, but multi-threaded torch code loses more to contention than single-threaded "
                   "SciPy/PyAMG code: under load, ratios between the two lean against the torch side.")


def headline_markdown(records: list[tuple[Path, dict[str, Any]]], command: str = "neuralsolvers evaluate --summary") -> str:
    """One table per learned component (`COMPONENTS` order, then any other): the comparisons of
    every record that names the component and has a learned method in them; the device column gives
    the CPU threads and the 1-minute load average of the machine during each run."""
    by_component: dict[str, list[dict[str, str]]] = {name: [] for name in COMPONENTS}
    used = []
    main_first = sorted(records, key=lambda item: COMPONENTS.get(item[1].get("component"), "?") not in (item[1].get("command") or ""))
    for _, record in main_first:  # per component the committed evaluation named in COMPONENTS first, then by directory
        comparisons = [c for c in record.get("headline") or [] if c.get("learned")]
        if record.get("component") and comparisons:
            by_component.setdefault(record["component"], []).extend(_row(c, record) for c in comparisons)
            used.append(record)
    lines = [
        "## Headline: learned against classical",
        "",
        f"Generated by `{command}` from {len(used)} evaluation{'s' if len(used) != 1 else ''} (their `results.json`); "
        "not edited by hand. Each row: on the same systems, the best learned method against the best classical one "
        "(time, and iterations where counted); **time ratio** = learned time / classical time and iteration ratio = "
        "learned / classical iterations: below 1 the learned method is faster. "
        + _load_caption(used),
    ]
    for component, rows in by_component.items():
        lines += ["", f"### {HEADINGS.get(component, component)}", ""]
        if rows:
            lines.append(_table(rows))
        else:
            hint = f": `neuralsolvers evaluate --config {COMPONENTS[component]}`" if component in COMPONENTS else ""
            lines.append(f"Not measured in these results{hint}.")
    return "\n".join(lines) + "\n"


def update_benchmarks(path: str | Path, markdown: str) -> None:
    """Replace the text between `BEGIN` and `END` in ``path``; the first time, put the
    block with its markers at the top (after the file's ``# `` title line)."""
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{markdown.rstrip()}\n{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, tail = text.split(BEGIN, 1)[0], text.split(END, 1)[1]
        text = head + block + tail
    elif text.startswith("# "):
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{block}\n\n{rest.lstrip()}"
    else:
        text = f"{block}\n\n{text}" if text else f"{block}\n"
    path.write_text(text)
