"""Shifted views of grid fields, the building block of every matrix-free stencil here.

Fields are ``(k, *grid)`` (``k`` right-hand sides or channels); an offset ``o`` is one integer per
grid axis in ``{-1, 0, 1}``; past the grid's edge a field is zero.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

__all__ = ["box_offsets", "neighbour", "pad", "scatter", "window"]


def box_offsets(dim: int) -> list[tuple[int, ...]]:
    """The ``3^dim`` offsets of the 3-wide box around a cell, lexicographic (the centre is number ``3^dim // 2``)."""
    return list(itertools.product((-1, 0, 1), repeat=dim))


def pad(v: torch.Tensor) -> torch.Tensor:
    """``(k, *grid) → (k, *grid+2)``: one zero cell on each side of every grid axis."""
    return F.pad(v, (1, 1) * (v.dim() - 1))


def window(padded: torch.Tensor, offset: tuple[int, ...], grid: tuple[int, ...]) -> torch.Tensor:
    """``v(i + offset)`` on the grid, from ``v`` padded by ``pad`` ``(k, *grid+2)`` (a view)."""
    index = (slice(None),) + tuple(slice(1 + o, 1 + o + n) for o, n in zip(offset, grid, strict=True))
    return padded[index]


def neighbour(field: torch.Tensor, offset: tuple[int, ...], grid: tuple[int, ...]) -> torch.Tensor:
    """``field(i + offset)`` for ``(k, *grid)``, zero past the grid's edge."""
    return window(pad(field), offset, grid)


def scatter(terms: list[tuple[tuple[int, ...], torch.Tensor]], grid: tuple[int, ...]) -> torch.Tensor:
    """``Σ_o u_o(j − o)`` over the ``(offset o, u_o (k, *grid))`` pairs: each term moved by its offset."""
    k = terms[0][1].shape[0]
    padded = terms[0][1].new_zeros((k, *(n + 2 for n in grid)))
    for offset, term in terms:
        window(padded, offset, grid).add_(term)  # the term's cell i lands on j = i + o
    return padded[(slice(None),) + tuple(slice(1, 1 + n) for n in grid)]
