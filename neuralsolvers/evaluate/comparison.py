"""The headline of an evaluation: `Comparison` (the best learned method against the best classical
one on the same systems), built from a table by `compare` and said in one line by `verdict_text`.

`neuralsolvers evaluate --summary` gathers the comparisons of every run into the headline of
BENCHMARKS.md. Plain Python: nothing heavy is imported, so `neuralsolvers evaluate --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from neuralsolvers.evaluate.markdown import seconds_text

__all__ = ["Comparison", "compare", "verdict_text"]

Row = dict[str, Any]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


@dataclass
class Comparison:
    """One line of the headline: on the systems ``where``, the best learned method against the best
    classical one (each: name, seconds, iterations), and the fastest of all.

    ``metric`` names a quality measure where speed is not the whole story (``PSNR [dB]``, ``rel. L2
    error``), with the learned and the classical method's values; ``note`` is a further generated
    fact (e.g. ``no learned method met the tolerance``). The ratios are learned over classical:
    below 1 the learned method is faster (needs fewer iterations).
    """

    where: str
    learned: str | None = None
    learned_s: float | None = None
    classical: str | None = None
    classical_s: float | None = None
    fastest: str | None = None
    fastest_s: float | None = None
    learned_iterations: float | None = None
    classical_iterations: float | None = None
    metric: str | None = None
    learned_metric: float | None = None
    classical_metric: float | None = None
    note: str | None = None

    @property
    def time_ratio(self) -> float | None:
        """Learned seconds over classical seconds (None where either is missing)."""
        return _ratio(self.learned_s, self.classical_s)

    @property
    def iteration_ratio(self) -> float | None:
        """Learned iterations over classical iterations (None where either is missing or zero)."""
        return _ratio(self.learned_iterations, self.classical_iterations)

    def as_dict(self) -> dict[str, Any]:
        """The fields and both ratios, for ``results.json``."""
        return {**asdict(self), "time_ratio": self.time_ratio, "iteration_ratio": self.iteration_ratio}


def _every(row: Row) -> bool:
    return True


def _uncounted(row: Row) -> None:
    return None


def compare(
    rows: list[Row],
    seconds: Callable[[Row], float | None],
    learned: Callable[[Row], bool],
    name: str = "method",
    valid: Callable[[Row], bool] = _every,
    where: str = "",
    iterations: Callable[[Row], float | None] | None = None,
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
    count = iterations or _uncounted
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
    """The verdict line of a `Comparison` of times (see `compare`); ``where``: the scope the line
    names, if not the comparison's (e.g. ``""`` where the title names the systems)."""
    where = comparison.where if where is None else where
    scope = f" {where}" if where else ""
    if comparison.fastest is None:
        return f"verdict{scope}: {comparison.note or 'no method met the tolerance'}"
    line = f"verdict{scope}: fastest {comparison.fastest} ({seconds_text(comparison.fastest_s)})"
    if comparison.time_ratio is not None:
        line += (f"; best learned {comparison.learned} {seconds_text(comparison.learned_s)} = {comparison.time_ratio:.3g}× "
                 f"the best classical {comparison.classical} ({seconds_text(comparison.classical_s)})")  # fmt: skip
    elif comparison.note:
        line += f"; {comparison.note}"
    return line

