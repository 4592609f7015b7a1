"""The antiderivative operator benchmark of the DeepONet paper: G(u)(x) = ∫₀ˣ u(t) dt.

Input functions are Gaussian random fields with an RBF kernel (length scale ``l``) on [0, 1],
drawn on a fine grid and interpolated by cubic splines; the antiderivative is the exact integral
of that spline, so it is accurate to O(h⁴) in the fine spacing h.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import cumulative_trapezoid
from scipy.interpolate import CubicSpline

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import RBFField
from neuralsolvers.errors import DatasetError

__all__ = ["Antiderivative", "antiderivative"]


def antiderivative(values: np.ndarray, grid: np.ndarray, points: np.ndarray) -> np.ndarray:
    """∫_{grid[0]}^{x} u(t) dt at ``points`` for functions sampled on ``grid``.

    values ``(n, F)`` on grid ``(F,)`` → ``(n, P)`` at points ``(P,)``; cubic-spline quadrature.
    """
    spline = CubicSpline(grid, values, axis=-1)
    return spline.antiderivative()(points)


class Antiderivative(Generator):
    """GRF inputs ``u`` at ``num_sensors`` sensors, antiderivatives ``s`` at ``num_points`` points.

    Args:
        length_scale: RBF length scale ``l`` of the input functions (the paper: 0.2).
        variance: pointwise variance of the input functions.
        num_sensors: ``m``, equispaced sensors on [0, 1] (the paper: 100).
        num_points: equispaced query points on [0, 1] where ``s`` is stored.
        fine_points: grid on which the fields are drawn and integrated.
        tolerance: largest allowed difference between the spline integral and an independent
            trapezoidal integral on the fine grid (the self-check).

    Arrays: ``u`` ``(n, m)``, ``s`` ``(n, P)`` float32 (and ``_fields`` ``(n, F)`` for the check, not
    stored); shared ``sensors`` ``(m,)``, ``points`` ``(P, 1)``.
    """

    name = "antiderivative"

    def __init__(
        self,
        length_scale: float = 0.2,
        variance: float = 1.0,
        num_sensors: int = 100,
        num_points: int = 100,
        fine_points: int = 1001,
        tolerance: float = 1e-4,
    ):
        self.length_scale = length_scale
        self.variance = variance
        self.num_sensors = num_sensors
        self.num_points = num_points
        self.fine_points = fine_points
        self.tolerance = tolerance
        self._field = RBFField(length_scale, variance, dim=1)

    def _grids(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.linspace(0.0, 1.0, self.fine_points),
            np.linspace(0.0, 1.0, self.num_sensors),
            np.linspace(0.0, 1.0, self.num_points),
        )

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        fine, sensors, points = self._grids()
        fields = self._field.sample(num_samples, fine, rng)
        spline = CubicSpline(fine, fields, axis=-1)
        return {
            "u": spline(sensors).astype(np.float32),
            "s": spline.antiderivative()(points).astype(np.float32),
            "_fields": fields,
        }

    def shared(self) -> dict[str, np.ndarray]:
        _, sensors, points = self._grids()
        return {"sensors": sensors, "points": points[:, None]}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Compare ``s`` with an independent integral: trapezoidal on the fine grid, linearly interpolated."""
        fine, _, points = self._grids()
        trapezoid = cumulative_trapezoid(arrays["_fields"], fine, axis=-1, initial=0.0)
        right = np.clip(np.searchsorted(fine, points), 1, len(fine) - 1)
        weight = (points - fine[right - 1]) / (fine[right] - fine[right - 1])
        reference = trapezoid[:, right - 1] * (1 - weight) + trapezoid[:, right] * weight
        error = float(np.abs(reference - arrays["s"]).max(initial=0.0))
        if error > self.tolerance:
            raise DatasetError(f"antiderivative self-check failed: max error {error:.2e} > {self.tolerance:.0e}")
        return error
