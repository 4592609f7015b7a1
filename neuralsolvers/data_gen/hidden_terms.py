"""Sparse, noisy observations of a dynamical system, for discovering its hidden terms.

:class:`LotkaVolterraObservations` (the universal-differential-equation benchmark that UPINN
(Podina et al.) also uses): ``u₁' = α u₁ − β u₁u₂``, ``u₂' = γ u₁u₂ − δ u₂`` on [0, t_final]
(defaults α = 1.3, β = 0.9, γ = 0.8, δ = 1.8, u(0) = (0.44249296, 4.6280594), t_final = 3). A
learner knows the linear parts ``α u₁`` and ``−δ u₂``; the interaction terms are hidden.

Written (one sample): the clean solution ``u`` ``(1, num_points, 2)`` on the uniform grid
``points`` ``(num_points, 1)`` (the reference), and ``measured`` ``(1, num_measurements, 2)`` at the
uniform times ``measurement_points`` (both ends included): the solution plus Gaussian noise of
standard deviation ``noise`` × (each component's standard deviation over the trajectory).
Integrated by SciPy's DOP853 at rtol = atol = 1e-11; the self-check integrates again with Radau.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.errors import ConfigError

__all__ = ["LotkaVolterraObservations"]


class LotkaVolterraObservations(Generator):
    """One Lotka–Volterra trajectory with sparse noisy measurements (module docstring)."""

    name = "lotka_volterra_observations"

    def __init__(
        self,
        alpha: float = 1.3,
        beta: float = 0.9,
        gamma: float = 0.8,
        delta: float = 1.8,
        initial: tuple[float, float] = (0.44249296, 4.6280594),
        t_final: float = 3.0,
        num_points: int = 301,
        num_measurements: int = 31,
        noise: float = 0.01,
        tolerance: float = 1e-7,
    ):
        if num_points < 2 or num_measurements < 2 or not t_final > 0 or noise < 0:
            raise ConfigError("num_points and num_measurements must be ≥ 2, t_final > 0 and noise ≥ 0")
        self.alpha, self.beta, self.gamma, self.delta = alpha, beta, gamma, delta
        self.initial, self.t_final = [float(v) for v in initial], t_final
        self.num_points, self.num_measurements, self.noise, self.tolerance = num_points, num_measurements, noise, tolerance

    def hidden_coefficients(self) -> dict[str, dict[str, float]]:
        """The hidden terms as polynomial coefficients: component → monomial → coefficient."""
        return {"u1": {"u1*u2": -self.beta}, "u2": {"u1*u2": self.gamma}}

    def _solve(self, times: np.ndarray, method: str) -> np.ndarray:
        def rhs(t: float, u: np.ndarray) -> np.ndarray:
            return np.array([self.alpha * u[0] - self.beta * u[0] * u[1], self.gamma * u[0] * u[1] - self.delta * u[1]])

        solution = solve_ivp(rhs, (0.0, self.t_final), self.initial, method=method, t_eval=times, rtol=1e-11, atol=1e-11)
        return solution.y.T  # (len(times), 2)

    def shared(self) -> dict[str, np.ndarray]:
        return {
            "points": np.linspace(0.0, self.t_final, self.num_points)[:, None],
            "measurement_points": np.linspace(0.0, self.t_final, self.num_measurements)[:, None],
        }

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if num_samples != 1:
            raise ConfigError(f"{self.name} writes one trajectory: use num_samples: 1, not {num_samples}")
        shared = self.shared()
        clean = self._solve(shared["points"][:, 0], "DOP853")
        at_measurements = self._solve(shared["measurement_points"][:, 0], "DOP853")
        measured = at_measurements + self.noise * clean.std(axis=0) * rng.standard_normal(at_measurements.shape)
        implicit = self._solve(shared["points"][:, 0], "Radau")
        return {"u": clean[None], "measured": measured[None], "_error": np.abs(implicit - clean).max(keepdims=True)}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays["_error"], "DOP853 against Radau", self.tolerance)
