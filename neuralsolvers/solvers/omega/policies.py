"""Online choice of the relaxation parameter ω across a sequence of linear systems.

Khodak, Chow, Balcan, Talwalkar, "Learning to Relax" (ICLR 2024): a policy picks ω for each system
before solving it and learns from the solver's iteration count alone (no extra matrix work). The
interface is ``choose(context) -> ω`` then ``update(ω, cost)``.

- ``FixedOmega``: always the same ω.
- ``TsallisINF``: the bandit over a grid of ω (default 20 values in [1, 1.95]): ½-Tsallis-INF
  (Zimmert & Seldin) with ``η_t = 2/√t`` and importance-weighted cost estimates; costs enter as
  ``cost − 1`` divided by the running mean of ``cost − 1``, as in the authors' code (the paper assumes
  costs scaled to [0, 1]; iteration counts have no known bound).
- ``BinnedTsallisINF``: the contextual variant: the context interval cut into bins, one
  Tsallis-INF per bin (the code's ``TsallisINFCB``).
- ``ChebCB``: SquareCB (Foster & Rakhlin) with, per ω of the grid, a regression of the scaled
  cost on the first ``terms`` Chebyshev polynomials of the context, fitted by box-constrained least
  squares; the exploration rate grows with the round as in the authors' code.

The instance-optimal oracle tries every ω on every system; it is not a policy but a cost table (see
``replay`` and ``regret``, which score any policy against it exactly).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from numpy.polynomial import chebyshev
from scipy.optimize import lsq_linear

__all__ = [
    "BinnedTsallisINF",
    "ChebCB",
    "FixedOmega",
    "RelaxationPolicy",
    "TsallisINF",
    "omega_grid",
    "regret",
    "replay",
    "tsallis_probabilities",
]


def omega_grid(low: float = 1.0, high: float = 1.95, count: int = 20) -> np.ndarray:
    """The paper's action set: ``count`` evenly spaced ω in ``[low, high]`` (inside (0, 2))."""
    if not 0 < low <= high < 2 or count < 1:
        raise ValueError(f"need 0 < low ≤ high < 2 and count ≥ 1, got {low}, {high}, {count}")
    return np.linspace(low, high, count)


class RelaxationPolicy(ABC):
    """Picks ω for the next system (``choose``) and learns from its cost (``update``)."""

    contextual: bool = False

    @abstractmethod
    def choose(self, context: float | None = None) -> float:
        """ω for the next system; ``context``: a scalar feature of it (contextual policies only)."""

    @abstractmethod
    def update(self, omega: float, cost: float) -> None:
        """Feedback: the system was solved with ``omega`` at ``cost`` (e.g. iterations, ≥ 1)."""


class FixedOmega(RelaxationPolicy):
    """Always ``omega``."""

    def __init__(self, omega: float):
        if not 0 < omega < 2:
            raise ValueError(f"omega must lie in (0, 2), got {omega}")
        self.omega = float(omega)

    def choose(self, context: float | None = None) -> float:
        return self.omega

    def update(self, omega: float, cost: float) -> None:
        pass


class _GridPolicy(RelaxationPolicy):
    """A policy that samples an index of ``grid`` per round; checks feedback against the choice."""

    def __init__(self, grid: Sequence[float] | None, seed: int | np.random.Generator | None):
        self.grid = omega_grid() if grid is None else np.asarray(grid, dtype=float)
        if self.grid.ndim != 1 or len(self.grid) < 1 or not np.all((self.grid > 0) & (self.grid < 2)):
            raise ValueError("grid must be a non-empty list of ω in (0, 2)")
        self.rng = np.random.default_rng(seed)
        self.index: int | None = None

    def _take(self, index: int) -> float:
        self.index = int(index)
        return float(self.grid[self.index])

    def _feedback(self, omega: float, cost: float) -> int:
        if self.index is None or not np.isclose(omega, self.grid[self.index]):
            raise ValueError(f"update({omega}) does not follow a choose() that returned it")
        if not np.isfinite(cost) or cost < 1:
            raise ValueError(f"cost must be finite and at least 1 (an iteration count), got {cost}")
        index, self.index = self.index, None
        return index


def tsallis_probabilities(losses: np.ndarray, eta: float, steps: int = 50) -> np.ndarray:
    """½-Tsallis-INF's distribution ``p_i = 4 / (η (L_i − x))²`` with ``x`` such that ``Σ p = 1``.

    ``x`` is found by Newton's method from ``min L − 2/η`` (where the best arm alone has ``p = 1``):
    ``Σ p`` is convex and increasing in ``x``, so the iterates decrease monotonically to the root.
    """
    losses = np.asarray(losses, dtype=float)
    x = losses.min() - 2.0 / eta
    for _ in range(steps):
        p = 4.0 / (eta * (losses - x)) ** 2
        excess = p.sum() - 1.0
        if abs(excess) < 1e-13:
            break
        x -= excess / (eta * np.sum(p**1.5))
    p = 4.0 / (eta * (losses - x)) ** 2
    return p / p.sum()


class TsallisINF(_GridPolicy):
    """½-Tsallis-INF over ``grid`` (the paper's bandit; Õ(T^{2/3}) regret to the best fixed ω).

    Args:
        grid: the ω values (default ``omega_grid``).
        seed: of the sampling.
    """

    def __init__(self, grid: Sequence[float] | None = None, seed: int | np.random.Generator | None = 0):
        super().__init__(grid, seed)
        self.estimates = np.zeros(len(self.grid))  # importance-weighted cumulative (cost − 1)
        self.rounds, self.cost_sum = 0, 0.0
        self.probabilities = np.full(len(self.grid), 1.0 / len(self.grid))

    def choose(self, context: float | None = None) -> float:
        scale = max(self.cost_sum / self.rounds - 1.0, 1e-12) if self.rounds else 1.0
        self.probabilities = tsallis_probabilities(self.estimates / scale, eta=2.0 / np.sqrt(self.rounds + 1))
        return self._take(self.rng.choice(len(self.grid), p=self.probabilities))

    def update(self, omega: float, cost: float) -> None:
        index = self._feedback(omega, cost)
        self.rounds, self.cost_sum = self.rounds + 1, self.cost_sum + float(cost)
        self.estimates[index] += (cost - 1.0) / self.probabilities[index]


class BinnedTsallisINF(RelaxationPolicy):
    """Contextual Tsallis-INF: ``bins`` equal bins of ``[low, high]``, one ``TsallisINF`` each.

    A context goes to the bin with the nearest centre (contexts outside the interval to the end bins).
    """

    contextual = True

    def __init__(self, low: float, high: float, bins: int = 6, grid: Sequence[float] | None = None, seed: int | None = 0):
        if not high > low or bins < 1:
            raise ValueError(f"need high > low and bins ≥ 1, got [{low}, {high}], {bins}")
        self.centres = low + (high - low) * (np.arange(bins) + 0.5) / bins
        seeds = np.random.SeedSequence(seed).spawn(bins)
        self.learners = [TsallisINF(grid, np.random.default_rng(s)) for s in seeds]
        self.grid = self.learners[0].grid
        self.active: TsallisINF | None = None

    def choose(self, context: float | None = None) -> float:
        if context is None:
            raise ValueError("BinnedTsallisINF needs a context")
        self.active = self.learners[int(np.argmin(np.abs(self.centres - context)))]
        return self.active.choose()

    def update(self, omega: float, cost: float) -> None:
        if self.active is None:
            raise ValueError("update() before choose()")
        self.active.update(omega, cost)
        self.active = None


class ChebCB(_GridPolicy):
    """SquareCB with a Chebyshev regression of cost on a scalar context in ``[low, high]``.

    Round ``t``: features ``φ = (T_0(z), …, T_{m−1}(z))`` of ``z = 2(c − low)/(high − low) − 1``;
    predicted scaled costs ``ŷ_a = θ_aᵀφ``; each ω other than the best ``a*`` is drawn with
    probability ``1 / (d + η (ŷ_a − ŷ_a*))``, ``a*`` with the rest. After the cost: ``K`` = largest
    cost so far, ``L`` = (largest − smallest cost)/(high − low) (a Lipschitz estimate),
    ``N = 2 + 4(high − low) L/K (1 + log m)``, targets ``(cost − 1)/(K N)``; ``θ_a`` is the
    least-squares fit over the rounds that chose ``a`` within the box ``|θ_0| ≤ 1/N``,
    ``|θ_j| ≤ 2(high − low) L/(K N j)`` (Chebyshev coefficients of a Lipschitz function decay like
    1/j); ``η = 2t √(d t / (R + 2α² t))`` with ``R`` the squared error of the predictions made so far
    and ``α`` the Chebyshev truncation error bound.

    Args:
        low: context interval. terms: ``m``, the Chebyshev terms (the paper: 6).
        high: see `low`.
        grid: as ``TsallisINF``.
        seed: see `grid`.
    """

    contextual = True

    def __init__(self, low: float, high: float, terms: int = 6, grid: Sequence[float] | None = None, seed: int | None = 0):
        super().__init__(grid, seed)
        if not high > low or terms < 1:
            raise ValueError(f"need high > low and terms ≥ 1, got [{low}, {high}], {terms}")
        self.low, self.width, self.terms = float(low), float(high - low), int(terms)
        d = len(self.grid)
        self.theta = np.zeros((d, terms))
        # per ω: Gram matrix Σφφᵀ and Σφ(cost − 1) of its rounds; the targets' scale changes, these do not
        self.gram, self.moments = np.zeros((d, terms, terms)), np.zeros((d, terms))
        self.rounds, self.largest, self.smallest, self.scale, self.eta = 0, 0.0, np.inf, 0.0, 0.0
        # Σ prediction², Σ prediction·(cost − 1), Σ (cost − 1)²: the squared error at any scale
        self.sums = np.zeros(3)
        self.feature, self.prediction = np.zeros(terms), 0.0

    def choose(self, context: float | None = None) -> float:
        if context is None:
            raise ValueError("ChebCB needs a context")
        z = np.clip(2.0 * (context - self.low) / self.width - 1.0, -1.0, 1.0)
        self.feature = chebyshev.chebvander(np.atleast_1d(z), self.terms - 1)[0]
        predictions = self.theta @ self.feature
        best = int(np.argmin(predictions))
        d = len(self.grid)
        probabilities = 1.0 / (d + self.eta * (predictions - predictions[best]))
        probabilities[best] = 0.0
        probabilities[best] = max(1.0 - probabilities.sum(), 0.0)
        index = self.rng.choice(d, p=probabilities / probabilities.sum())
        self.prediction = float(predictions[index])
        return self._take(index)

    def _fit(self, action: int, bound: np.ndarray) -> np.ndarray:
        """Least squares of the scaled costs of ``action``'s rounds on their features, in the box
        ``|θ| ≤ bound`` (from the Gram form: ``‖Xθ − y‖² = θᵀGθ − 2θᵀXᵀy + const``)."""
        values, vectors = np.linalg.eigh(self.gram[action])
        keep = values > 1e-10 * max(values.max(), 1e-300)
        root = np.sqrt(values[keep])[:, None] * vectors[:, keep].T  # G = rootᵀ root on its range
        rhs = vectors[:, keep].T @ self.moments[action] / self.scale / np.sqrt(values[keep])
        theta = np.linalg.lstsq(root, rhs, rcond=None)[0]  # the minimum-norm least-squares fit
        if np.any(np.abs(theta) > bound):
            theta = lsq_linear(root, rhs, bounds=(-bound - 1e-15, bound + 1e-15), method="bvls").x
        return theta

    def update(self, omega: float, cost: float) -> None:
        index = self._feedback(omega, cost)
        excess = float(cost) - 1.0
        self.rounds += 1
        self.gram[index] += np.outer(self.feature, self.feature)
        self.moments[index] += self.feature * excess
        self.sums += [self.prediction**2, self.prediction * excess, excess**2]
        self.largest, self.smallest = max(self.largest, float(cost)), min(self.smallest, float(cost))
        lipschitz = (self.largest - self.smallest) / self.width
        spread = 2.0 + 4.0 * self.width * lipschitz / self.largest * (1.0 + np.log(self.terms))
        refit_all = self.scale != self.largest * spread
        self.scale = self.largest * spread
        bound = np.concatenate([[1.0 / spread], 2.0 * self.width * lipschitz / self.scale / np.arange(1, self.terms)])
        for action in range(len(self.grid)) if refit_all else [index]:
            if self.gram[action].any():
                self.theta[action] = self._fit(action, bound)
        t, d = self.rounds, len(self.grid)
        alpha = (np.pi + 2.0 / np.pi * np.log(2.0 * self.terms + 1.0)) / (2.0 * self.scale * (self.terms + 1)) * self.width * lipschitz
        squared_error = self.sums[0] - 2.0 * self.sums[1] / self.scale + self.sums[2] / self.scale**2
        self.eta = 2.0 * t * np.sqrt(d * t / max(squared_error + 2.0 * alpha**2 * t, 1e-12))


def replay(policy: RelaxationPolicy, costs: np.ndarray, grid: Sequence[float], contexts: Sequence[float] | None = None) -> np.ndarray:
    """Run ``policy`` on a cost table ``(T, d)`` (cost of each ω of ``grid`` on each system).

    Exact for policies that choose from ``grid`` (every cost they can incur is in the table); returns
    the chosen grid indices ``(T,)``.
    """
    grid = np.asarray(grid, dtype=float)
    costs = np.asarray(costs, dtype=float)
    if costs.ndim != 2 or costs.shape[1] != len(grid):
        raise ValueError(f"costs must have shape (T, {len(grid)}), got {costs.shape}")
    chosen = np.empty(len(costs), dtype=np.int64)
    for t in range(len(costs)):
        omega = policy.choose(None if contexts is None else float(contexts[t]))
        matches = np.flatnonzero(np.isclose(grid, omega))
        if len(matches) == 0:
            raise ValueError(f"the policy chose ω = {omega}, which is not in the table's grid")
        chosen[t] = matches[0]
        policy.update(omega, costs[t, chosen[t]])
    return chosen


def regret(costs: np.ndarray, chosen: np.ndarray) -> dict[str, float]:
    """Total cost of the choices ``(T,)`` on the table ``(T, d)`` against the best fixed column and
    against the instance-optimal (per-row minimum) costs."""
    costs = np.asarray(costs, dtype=float)
    total = float(costs[np.arange(len(costs)), chosen].sum())
    column_totals = costs.sum(0)
    best = int(np.argmin(column_totals))
    instance_optimal = float(costs.min(1).sum())
    return {
        "total": total,
        "best_fixed_index": best,
        "best_fixed_total": float(column_totals[best]),
        "regret_to_best_fixed": total - float(column_totals[best]),
        "instance_optimal_total": instance_optimal,
        "regret_to_instance_optimal": total - instance_optimal,
    }
