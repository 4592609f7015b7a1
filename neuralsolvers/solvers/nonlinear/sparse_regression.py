"""Sparse regression of a function onto a library of candidate terms (SINDy's STLSQ), and formulas.

Given samples of states ``u`` ``(N, d)`` and of a function of them ``y`` ``(N, k)`` (e.g. a learned
hidden term ``F(u)``), ``polynomial_library`` builds the candidate columns ``Θ(u)`` (all
monomials up to ``degree``), ``stlsq`` finds sparse coefficients ``Ξ`` with ``y ≈ Θ Ξ``
(sequentially thresholded least squares, Brunton, Proctor & Kutz 2016: least squares, zero every
coefficient below ``threshold``, refit on the remaining terms, until the support stops changing),
and ``formulas`` prints them as SymPy expressions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # SymPy is imported where it is used, so importing the solvers does not load it
    import sympy

__all__ = ["formulas", "polynomial_library", "stlsq"]


def polynomial_library(states: torch.Tensor, names: Sequence[str], degree: int = 2, bias: bool = True) -> tuple[torch.Tensor, list[str]]:
    """All monomials of the ``d`` states up to ``degree``.

    Args:
        states: ``(N, d)``; names: the ``d`` state names (``u1``, ``u2``); degree: highest total degree;
        bias: include the constant column ``1``.

    Returns: ``Θ`` ``(N, p)`` and the ``p`` term names (``1``, ``u1``, ``u1*u2``, ``u1**2``, …).
    """
    if states.dim() != 2 or states.shape[1] != len(names):
        raise ValueError(f"states must be (N, {len(names)}) for names {list(names)}, got {tuple(states.shape)}")
    if degree < 1:
        raise ValueError(f"degree must be ≥ 1, got {degree}")
    import sympy

    columns, terms = ([torch.ones_like(states[:, 0])], ["1"]) if bias else ([], [])
    for power in range(1, degree + 1):
        for combination in itertools.combinations_with_replacement(range(len(names)), power):
            columns.append(torch.prod(states[:, list(combination)], dim=1))
            terms.append(str(sympy.Mul(*(sympy.Symbol(names[i]) for i in combination))))
    return torch.stack(columns, dim=1), terms


def stlsq(library: torch.Tensor, target: torch.Tensor, threshold: float, max_iterations: int = 20) -> torch.Tensor:
    """Sequentially thresholded least squares: sparse ``Ξ`` ``(p, k)`` with ``target ≈ library Ξ``.

    Args:
        library: ``Θ`` ``(N, p)``; target: ``(N, k)`` or ``(N,)``; threshold: coefficients with
            ``|ξ| < threshold`` are zeroed (in the units of the target per unit term);
        max_iterations: cap on the threshold–refit rounds.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be ≥ 0, got {threshold}")
    target = target[:, None] if target.dim() == 1 else target
    if library.shape[0] != target.shape[0]:
        raise ValueError(f"library and target need the same rows, got {library.shape[0]} and {target.shape[0]}")
    coefficients = torch.linalg.lstsq(library, target).solution
    support = torch.ones_like(coefficients, dtype=torch.bool)
    for _ in range(max_iterations):
        new_support = coefficients.abs() >= threshold
        if torch.equal(new_support, support):
            break
        support = new_support
        coefficients = torch.zeros_like(coefficients)
        for k in range(target.shape[1]):
            kept = support[:, k]
            if bool(kept.any()):
                coefficients[kept, k] = torch.linalg.lstsq(library[:, kept], target[:, k : k + 1]).solution[:, 0]
    return coefficients


def formulas(coefficients: torch.Tensor, terms: Sequence[str], digits: int = 4) -> list[sympy.Expr]:
    """One SymPy expression per column of ``Ξ`` ``(p, k)``, coefficients rounded to ``digits`` significant digits."""
    import sympy

    expressions = []
    for column in coefficients.T.tolist():
        expression = sympy.Integer(0)
        for value, term in zip(column, terms, strict=True):
            if value != 0:
                expression += sympy.Float(value, digits) * sympy.sympify(term)
        expressions.append(expression)
    return expressions
