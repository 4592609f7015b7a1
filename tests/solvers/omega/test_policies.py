"""ω policies: Tsallis-INF's distribution, concentration on a known best ω, contextual policies
beating the best fixed ω where the best ω depends on the context, and regret accounting."""

import itertools

import numpy as np
import pytest

from neuralsolvers.solvers import (
    BinnedTsallisINF,
    ChebCB,
    FixedOmega,
    TsallisINF,
    omega_grid,
    regret,
    replay,
)
from neuralsolvers.solvers.omega.policies import tsallis_probabilities


def test_tsallis_distribution_is_the_normalized_closed_form():
    losses, eta = np.array([0.0, 3.0, 7.5, 20.0]), 0.4
    p = tsallis_probabilities(losses, eta)
    assert abs(p.sum() - 1) < 1e-12 and np.all(np.diff(p) < 0)
    # p_i = 4 / (η (L_i − x))² for one x: recover x from the best arm and check the others
    x = losses[0] - 2 / (eta * np.sqrt(p[0]))
    np.testing.assert_allclose(p, 4 / (eta * (losses - x)) ** 2, rtol=1e-10)
    np.testing.assert_allclose(tsallis_probabilities(np.zeros(5), 1.0), np.full(5, 0.2))


def noisy_costs(rounds: int, grid: np.ndarray, best: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(10 + 40 * np.abs(grid[None, :] - best) + rng.integers(0, 3, (rounds, len(grid))))


def test_tsallis_inf_concentrates_on_the_best_omega():
    grid = omega_grid(1.0, 1.95, 20)
    costs = noisy_costs(3000, grid, best=grid[12])
    policy = TsallisINF(grid, seed=1)
    chosen = replay(policy, costs, grid)
    late = np.bincount(chosen[-500:], minlength=len(grid)) / 500
    assert late.argmax() == 12 and late[11:14].sum() > 0.6
    result, late = regret(costs, chosen), regret(costs[-1000:], chosen[-1000:])
    assert result["best_fixed_index"] == 12
    # regret grows sublinearly: ~15% over all 3,000 rounds (the exploration of 20 arms), < 7% over the last 1,000
    assert result["regret_to_best_fixed"] < 0.25 * result["best_fixed_total"]
    assert late["regret_to_best_fixed"] < 0.07 * late["best_fixed_total"]


def contextual_costs(rounds: int, grid: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The best ω moves from 1.05 to 1.85 with the context c ∈ [0, 1]."""
    rng = np.random.default_rng(seed)
    contexts = rng.uniform(0, 1, rounds)
    best = 1.05 + 0.8 * contexts
    return np.round(10 + 60 * np.abs(grid[None, :] - best[:, None])), contexts


@pytest.mark.parametrize("policy_class", [ChebCB, BinnedTsallisINF])
def test_contextual_policies_beat_the_best_fixed_omega(policy_class):
    grid = omega_grid()
    costs, contexts = contextual_costs(3000, grid)
    policy = policy_class(0.0, 1.0, 6, grid, seed=0)
    result = regret(costs, replay(policy, costs, grid, contexts))
    assert result["regret_to_best_fixed"] < -0.15 * result["best_fixed_total"]


def test_regret_accounting_matches_brute_force():
    rng = np.random.default_rng(5)
    costs = rng.integers(1, 30, (40, 4)).astype(float)
    chosen = rng.integers(0, 4, 40)
    result = regret(costs, chosen)
    total = sum(costs[t, chosen[t]] for t in range(40))
    best_fixed = min(sum(costs[t, j] for t in range(40)) for j in range(4))
    oracle = sum(min(costs[t]) for t in range(40))
    assert result["total"] == total and result["best_fixed_total"] == best_fixed
    assert result["regret_to_best_fixed"] == total - best_fixed
    assert result["regret_to_instance_optimal"] == total - oracle
    # no sequence of choices beats the per-instance minimum
    small = costs[:6, :3]
    assert min(regret(small, np.array(c))["regret_to_instance_optimal"] for c in itertools.product(range(3), repeat=6)) == 0


def test_policy_interface_is_checked():
    policy = TsallisINF(omega_grid(1.0, 1.9, 4), seed=0)
    with pytest.raises(ValueError, match="does not follow"):
        policy.update(1.3, 5)
    omega = policy.choose()
    with pytest.raises(ValueError, match="at least 1"):
        policy.update(omega, 0)
    with pytest.raises(ValueError, match="context"):
        ChebCB(0.0, 1.0).choose()
    with pytest.raises(ValueError, match="not in the table"):
        replay(FixedOmega(1.33), np.ones((3, 2)), [1.0, 1.5])
    with pytest.raises(ValueError):
        omega_grid(1.0, 2.0)
