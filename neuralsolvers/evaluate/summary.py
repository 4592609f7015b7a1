"""``neuralsolvers evaluate --summary``: every evaluation's ``results.json`` under a directory in one
Markdown document, and optionally into BENCHMARKS.md between two marker lines.

Each run contributes its title, the directory it was written to, its table and the environment it
ran in (device, versions, date), in the order of the directories' names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.report import markdown_table

__all__ = ["BEGIN", "END", "collect", "summary_markdown", "update_benchmarks"]

BEGIN = "<!-- evaluate --summary: begin -->"
END = "<!-- evaluate --summary: end -->"
REQUIRED = ("title", "rows", "environment")


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
    """One section per record: title, directory, table, environment."""
    sections = []
    for directory, record in records:
        env = ", ".join(f"{key} {value}" for key, value in record["environment"].items())
        where = directory.relative_to(root) if directory.is_relative_to(root) else directory
        sections.append(f"### {record['title']}\n\n`{where}`\n\n{markdown_table(record['rows'])}\n\n{env}\n")
    return "\n".join(sections) if sections else "(no results)\n"


def update_benchmarks(path: str | Path, markdown: str) -> None:
    """Replace the text between :data:`BEGIN` and :data:`END` in ``path`` (appended with the markers
    the first time)."""
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{markdown.rstrip()}\n{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, tail = text.split(BEGIN, 1)[0], text.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + ("\n\n" if text else "") + "## Evaluation results (`neuralsolvers evaluate --summary`)\n\n" + block + "\n"
    path.write_text(text)
