"""neuraloperator's small Darcy sets (``darcy_train_16.pt``, ``darcy_test_16.pt``, ``darcy_test_32.pt``).

Each file holds ``x`` ``(N, s, s)`` bool (a two-valued coefficient) and ``y`` ``(N, s, s)`` float32.
What they stand for was measured against our own solver ([`neuralsolvers.data_gen.darcy.darcy_operator`][neuralsolvers.data_gen.darcy.darcy_operator],
forcing ``f = 1``, Dirichlet ``u = 0``) on all three files:

* grid: pixel ``i`` sits at ``i / s`` (``i = 0 … s − 1``): the boundary at 0 is included, the one at 1
  is not (the far boundary row/column is dropped); ``darcy_test_16 == darcy_test_32[:, ::2, ::2]``.
* coefficient: ``x = True`` is the *high* value, with contrast ``high / low ≈ 18.7`` (not FNO's 12/3).
* target: ``y`` is neither standardized nor shifted; it is the pressure itself when the coefficient is
  [`NEURALOP_COEFFICIENT`][neuralsolvers.data_gen.external.NEURALOP_COEFFICIENT] = (0.0201, 0.376) and ``f = 1`` (only ``low · scale / f`` is identifiable,
  so these values absorb the unknown output scale). Our solve on that coefficient reproduces ``y`` to
  2.8 % relative L2 at 32² and 8.6 % at 16² (our coarse solve vs. their finer one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neuralsolvers.data_gen.store import shard_path, write_shard
from neuralsolvers.errors import DatasetError

__all__ = ["NEURALOP_COEFFICIENT", "import_neuralop_darcy", "load_neuralop_darcy", "neuralop_to_pressure"]

NEURALOP_COEFFICIENT = (0.0201, 0.376)
"""Coefficient values ``(low, high)`` for ``x = False`` / ``x = True`` that make ``y`` the pressure at ``f = 1``."""


def load_neuralop_darcy(path: str | Path) -> dict[str, np.ndarray]:
    """Read one neuraloperator Darcy file.

    Returns ``{"a": (N, s, s) float32, "u": (N, s, s) float32}``: ``a`` takes the two values of
    [`NEURALOP_COEFFICIENT`][neuralsolvers.data_gen.external.NEURALOP_COEFFICIENT] (``x`` False → low, True → high), ``u`` is ``y`` as stored.

    Raises:
        DatasetError: missing or unreadable file, keys other than ``x``/``y``, or unexpected shapes,
            dtypes or non-finite values; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such neuraloperator Darcy file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors alike
        raise DatasetError(f"{path}: not a readable torch file ({error})") from None
    if not isinstance(data, dict) or set(data) != {"x", "y"}:
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise DatasetError(f"{path}: expected a dict with keys ['x', 'y'], found {found}")
    x, y = data["x"], data["y"]
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DatasetError(f"{path}: 'x' and 'y' must be tensors")
    if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape != y.shape or len(x) == 0:
        raise DatasetError(f"{path}: expected x and y of one shape (N, s, s), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dtype != torch.bool or not y.dtype.is_floating_point:
        raise DatasetError(f"{path}: expected x bool and y floating point, got {x.dtype} and {y.dtype}")
    u = y.numpy().astype(np.float32)
    if not np.isfinite(u).all():
        raise DatasetError(f"{path}: 'y' holds NaN or Inf values")
    low, high = NEURALOP_COEFFICIENT
    return {"a": np.where(x.numpy(), high, low).astype(np.float32), "u": u}


def import_neuralop_darcy(path: str | Path, out_dir: str | Path) -> Path:
    """Write one neuraloperator Darcy file as a one-shard dataset in ``out_dir``; returns the shard path.

    The shard holds ``a`` and ``u`` ``(N, s, s)`` (as [`load_neuralop_darcy`][neuralsolvers.data_gen.external.load_neuralop_darcy]), generator
    ``neuralop_darcy``, parameter ``source`` (the file name), and shared ``grid`` ``(s,)``: the pixel
    coordinates ``i / s`` (the far boundary at 1 is not part of their grid).
    """
    arrays = load_neuralop_darcy(path)
    count, side = arrays["a"].shape[:2]
    return write_shard(
        shard_path(out_dir, 0, 1),
        arrays,
        generator="neuralop_darcy",
        parameters={"source": Path(path).name},
        seed=0,
        sample_range=(0, count),
        shard_index=0,
        num_shards=1,
        shared={"grid": np.arange(side) / side},
    )


def neuralop_to_pressure(u: np.ndarray, low: float) -> np.ndarray:
    """Pressure ``(..., s, s)`` for ``f = 1`` after rescaling the coefficient so that its low value is ``low``.

    The contrast is kept (high = ``low · 0.376 / 0.0201``); the pressure scales as ``1 / a``, so
    ``p = u · NEURALOP_COEFFICIENT[0] / low`` (e.g. ``low = 3``, FNO's low value, gives high ≈ 56).
    """
    if low <= 0:
        raise ValueError(f"low must be positive, got {low}")
    return np.asarray(u) * (NEURALOP_COEFFICIENT[0] / low)
