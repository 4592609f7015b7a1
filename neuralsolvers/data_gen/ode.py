"""ODE operator benchmarks of the DeepONet paper: the nonlinear ODE and the gravity pendulum.

Inputs are GRFs ``u`` (RBF kernel, length scale ``l``) on [0, 1], drawn on a fine grid and
interpolated by cubic splines; outputs ``s`` solve, with zero initial conditions,

* ``nonlinear``: ds/dx = −s² + u(x);
* ``pendulum``:  ds₁/dt = s₂, ds₂/dt = −k sin s₁ + u(t) (k = 1), output ``s₁``.

All samples of a shard are integrated as one stacked system by SciPy's ``solve_ivp`` (DOP853,
rtol = atol = 1e-10). The self-check integrates the first samples again with an implicit method
(Radau) and bounds the difference by ``tolerance``. The nonlinear ODE can approach finite-time
blow-up for strongly negative forcings (|s| up to ~15 was seen in 200 draws with l = 0.2): those
solutions are kept, they are what the operator does.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import RBFField
from neuralsolvers.errors import DatasetError

__all__ = ["ODEOperator"]

SYSTEMS = ("nonlinear", "pendulum")


def _integrate(system: str, spline: CubicSpline, points: np.ndarray, k: float, method: str, tol: float) -> np.ndarray:
    """Solve for all functions of ``spline`` at once: → ``(n, P)`` values of ``s`` (``s₁``) at ``points``."""
    n = spline.c.shape[-1]
    states = 1 if system == "nonlinear" else 2

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        s = y.reshape(states, n)
        if system == "nonlinear":
            return (-s[0] ** 2 + spline(t)).reshape(-1)
        return np.concatenate([s[1], -k * np.sin(s[0]) + spline(t)])

    solution = solve_ivp(rhs, (points[0], points[-1]), np.zeros(states * n), method=method, t_eval=points, rtol=tol, atol=tol)
    if not solution.success:
        raise DatasetError(f"{system} ODE integration failed: {solution.message}")
    return solution.y[:n]


class ODEOperator(Generator):
    """GRF forcings ``u`` at ``m`` sensors and ODE solutions ``s`` at ``P`` points on [0, 1].

    Args:
        system: ``nonlinear`` or ``pendulum``.
        length_scale: RBF length scale of the inputs (the paper: 0.2).
        num_sensors: ``m`` equispaced sensors.
        num_points: equispaced output points.
        k: pendulum constant.
        fine_points: grid of the GRF draw.
        tolerance: largest allowed DOP853/Radau difference (the self-check).

    Arrays: ``u`` ``(n, m)``, ``s`` ``(n, P)`` float32; shared ``sensors`` ``(m,)``, ``points`` ``(P, 1)``.
    """

    name = "ode_operator"

    def __init__(
        self,
        system: str = "nonlinear",
        length_scale: float = 0.2,
        num_sensors: int = 100,
        num_points: int = 100,
        k: float = 1.0,
        fine_points: int = 1001,
        tolerance: float = 1e-6,
    ):
        if system not in SYSTEMS:
            raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
        self.system, self.length_scale, self.k = system, length_scale, k
        self.num_sensors, self.num_points, self.fine_points = num_sensors, num_points, fine_points
        self.tolerance = tolerance
        self._field = RBFField(length_scale)

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        fine = np.linspace(0.0, 1.0, self.fine_points)
        spline = CubicSpline(fine, self._field.sample(num_samples, fine, rng).T, axis=0)
        points = np.linspace(0.0, 1.0, self.num_points)
        s = _integrate(self.system, spline, points, self.k, "DOP853", 1e-10)
        checked = min(num_samples, 4)
        reference = _integrate(self.system, CubicSpline(fine, spline(fine)[:, :checked], axis=0), points, self.k, "Radau", 1e-10)
        return {
            "u": spline(np.linspace(0.0, 1.0, self.num_sensors)).T.astype(np.float32),
            "s": s.astype(np.float32),
            "_error": np.abs(reference - s[:checked]).max(axis=1),
        }

    def shared(self) -> dict[str, np.ndarray]:
        return {"sensors": np.linspace(0.0, 1.0, self.num_sensors), "points": np.linspace(0.0, 1.0, self.num_points)[:, None]}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays["_error"], "DOP853 and Radau differ by", self.tolerance)
