"""Sparse, noisy observations of a dynamical system, for discovering its hidden terms.

[`LotkaVolterraObservations`][neuralsolvers.data_gen.hidden_terms.LotkaVolterraObservations] (the universal-differential-equation benchmark that UPINN
(Podina et al.) also uses): ``u₁' = α u₁ − β u₁u₂``, ``u₂' = γ u₁u₂ − δ u₂`` on [0, t_final]
(defaults α = 1.3, β = 0.9, γ = 0.8, δ = 1.8, u(0) = (0.44249296, 4.6280594), t_final = 3). A
learner knows the linear parts ``α u₁`` and ``−δ u₂``; the interaction terms are hidden.

Written (one sample): the clean solution ``u`` ``(1, num_points, 2)`` on the uniform grid
``points`` ``(num_points, 1)`` (the reference), and ``measured`` ``(1, num_measurements, 2)`` at the
uniform times ``measurement_points`` (both ends included): the solution plus Gaussian noise of
standard deviation ``noise`` × (each component's standard deviation over the trajectory).
Integrated by SciPy's DOP853 at rtol = atol = 1e-11; the self-check integrates again with Radau.

[`FisherKPPObservations`][neuralsolvers.data_gen.hidden_terms.FisherKPPObservations]: the reaction–diffusion equation ``u_t = D u_xx + r u(1 − u)`` on
x ∈ [0, 1], t ∈ [0, t_final], ``u(0, t) = u(1, t) = 0``, ``u(x, 0) = a sin(πx)``; the reaction is
the hidden term. Method of lines (second-order differences on ``num_x`` nodes, SciPy's Radau with
a banded Jacobian, rtol = atol = 1e-10); the self-check solves again on a grid twice as fine and
bounds the difference at the shared nodes. Written: ``u`` ``(1, num_t, num_x)`` on the grid
``points`` ``(num_t·num_x, 2)`` of (x, t) pairs (x fastest), and ``measured`` ``(1, M)`` at
``measurement_points`` ``(1, M, 2)``: ``M`` distinct interior grid nodes drawn from the seed,
with noise ``noise`` × the solution's standard deviation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.errors import ConfigError

__all__ = ["FisherKPPObservations", "LotkaVolterraObservations"]


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


class FisherKPPObservations(Generator):
    """One Fisher–KPP solution with noisy measurements at random grid nodes (module docstring)."""

    name = "fisher_kpp_observations"

    def __init__(
        self,
        diffusivity: float = 0.01,
        rate: float = 1.0,
        amplitude: float = 0.5,
        t_final: float = 2.0,
        num_x: int = 201,
        num_t: int = 51,
        num_measurements: int = 500,
        noise: float = 0.01,
        tolerance: float = 1e-4,
    ):
        if num_x < 5 or num_t < 2 or num_measurements < 1 or not t_final > 0 or noise < 0 or diffusivity <= 0:
            raise ConfigError("num_x ≥ 5, num_t ≥ 2, num_measurements ≥ 1, t_final > 0, noise ≥ 0 and diffusivity > 0 are needed")
        if num_measurements > (num_x - 2) * num_t:
            raise ConfigError(f"num_measurements {num_measurements} exceeds the {(num_x - 2) * num_t} interior grid nodes")
        self.diffusivity, self.rate, self.amplitude, self.t_final = diffusivity, rate, amplitude, t_final
        self.num_x, self.num_t, self.num_measurements, self.noise, self.tolerance = num_x, num_t, num_measurements, noise, tolerance

    def hidden_coefficients(self) -> dict[str, dict[str, float]]:
        return {"u": {"u": self.rate, "u**2": -self.rate}}

    def solve(self, num_x: int) -> np.ndarray:
        """``u`` ``(num_t, num_x)`` on ``num_x`` nodes (both ends, where ``u = 0``)."""
        x = np.linspace(0.0, 1.0, num_x)
        h = x[1] - x[0]
        n = num_x - 2
        laplacian = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n, n), format="csr") * (self.diffusivity / h**2)

        def rhs(t: float, u: np.ndarray) -> np.ndarray:
            return laplacian @ u + self.rate * u * (1 - u)

        def jacobian(t: float, u: np.ndarray) -> sp.csr_matrix:
            return laplacian + sp.diags(self.rate * (1 - 2 * u))

        times = np.linspace(0.0, self.t_final, self.num_t)
        solution = solve_ivp(rhs, (0.0, self.t_final), self.amplitude * np.sin(np.pi * x[1:-1]), method="Radau", t_eval=times,
                             jac=jacobian, rtol=1e-10, atol=1e-10)  # fmt: skip
        u = np.zeros((self.num_t, num_x))
        u[:, 1:-1] = solution.y.T
        return u

    def shared(self) -> dict[str, np.ndarray]:
        x, t = np.meshgrid(np.linspace(0.0, 1.0, self.num_x), np.linspace(0.0, self.t_final, self.num_t))
        return {"points": np.stack([x.ravel(), t.ravel()], axis=1)}

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if num_samples != 1:
            raise ConfigError(f"{self.name} writes one solution: use num_samples: 1, not {num_samples}")
        u = self.solve(self.num_x)
        interior = np.flatnonzero(np.tile(np.r_[False, np.ones(self.num_x - 2, bool), False], self.num_t))
        chosen = np.sort(rng.choice(interior, self.num_measurements, replace=False))
        points = self.shared()["points"][chosen]
        measured = u.ravel()[chosen] + self.noise * u.std() * rng.standard_normal(len(chosen))
        finer = self.solve(2 * self.num_x - 1)[:, ::2]
        return {"u": u[None], "measured": measured[None], "measurement_points": points[None],
                "_error": np.abs(finer - u).max(keepdims=True)}  # fmt: skip

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        return self._bounded(arrays["_error"], "change on a twice finer grid", self.tolerance)
