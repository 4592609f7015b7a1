"""Markdown text of results, shared by the reports, the verdict lines and the summary: a table cell, a
duration, a table. Plain Python: nothing heavy is imported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["cell", "markdown_table", "seconds_text"]


def cell(value: Any) -> str:
    """A table cell: ``–`` for None, floats to 4 significant digits (scientific when tiny or huge)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3e}" if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4) else f"{value:.4g}"
    return str(value)


def seconds_text(value: float) -> str:
    """A duration in the unit that reads best: ``250 µs``, ``12.5 ms``, ``3.2 s``."""
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def markdown_table(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of equal keys as a Markdown table; ``columns``: the ones shown (default all, in the first row's order)."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0]) if columns is None else list(columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)
