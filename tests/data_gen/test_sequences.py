"""Heat-equation sequences: each stored step solves its own SPD system; the coefficient drifts."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from neuralsolvers.data_gen import CrankNicolsonHeat, HeatSequence


def test_every_step_solves_its_system_and_chains():
    generator = HeatSequence(size=8, num_steps=6, dt=1e-2)
    arrays = generator.generate(2, np.random.default_rng(0))
    assert arrays["coefficient"].shape == (2, 6, 8, 8) and arrays["context"].shape == (2, 6, 4)
    assert generator.check(arrays) <= 1e-10
    for i in range(2):
        for k in range(6):
            A = generator.matrix(arrays["coefficient"][i, k].astype(np.float64))
            b, u = arrays["rhs"][i, k].reshape(-1), arrays["solution"][i, k].reshape(-1)
            assert np.linalg.norm(b - A @ u) <= 1e-10 * np.linalg.norm(b)
            previous = arrays["solution"][i, k - 1].reshape(-1) if k else 0.0
            np.testing.assert_allclose(b, previous + 1e-2, rtol=1e-12)
        assert abs(A - A.T).max() < 1e-12 and np.linalg.eigvalsh(A.toarray()).min() > 0


def test_coefficient_drifts_along_the_sequence_and_context_follows():
    arrays = HeatSequence(size=6, num_steps=10, amplitude=0.5).generate(3, np.random.default_rng(1))
    mean_a = arrays["context"][..., 0]
    assert (mean_a.max(1) / mean_a.min(1) > 1.5).all()
    np.testing.assert_allclose(mean_a, arrays["coefficient"].mean((2, 3)), rtol=1e-5)
    again = HeatSequence(size=6, num_steps=10, amplitude=0.5).generate(3, np.random.default_rng(1))
    np.testing.assert_array_equal(arrays["solution"], again["solution"])


def test_bad_parameters():
    with pytest.raises(ValueError, match="amplitude"):
        HeatSequence(amplitude=1.5)


def test_crank_nicolson_heat_is_the_papers_scheme():
    simulation = CrankNicolsonHeat(size=10, num_steps=50, stop_time=0.5)
    L, u = simulation.laplacian(), simulation.initial()
    assert L.shape == (81, 81) and np.linalg.eigvalsh(L.toarray()).max() < 0
    step = 30  # c(t*) > 0 while sin 2πt < 0 would give 10|sin|; here t* = 0.305
    A, b = simulation.system(step, u, L)
    t = (step + 0.5) * simulation.dt
    c = max(0.1 * np.sin(2 * np.pi * t), -10 * np.sin(2 * np.pi * t))
    np.testing.assert_allclose(A.toarray(), np.eye(81) - 0.5 * c * simulation.dt * L.toarray(), atol=1e-12)
    np.testing.assert_allclose(b, u + 0.5 * c * simulation.dt * (L @ u) + simulation.dt * simulation.forcing(t), rtol=1e-12)
    exact = simulation.exact_solve(step, b)
    np.testing.assert_allclose(exact, spla.spsolve(A.tocsc(), b), rtol=1e-10, atol=1e-13)
    assert simulation.context_range()[0] == pytest.approx(0.0, abs=1e-12)
    assert abs(simulation.context(30) - 0.1 * np.sin(2 * np.pi * 0.3)) < 1e-12


def test_crank_nicolson_generate_chains_exact_solves():
    generator = CrankNicolsonHeat(size=6, num_steps=8, stop_time=1.0)
    arrays = generator.generate(2, np.random.default_rng(0))
    assert arrays["rhs"].shape == (2, 8, 25) and generator.check(arrays) <= 1e-10
    assert not np.allclose(arrays["solution"][0], arrays["solution"][1])  # different forcing phases
    with pytest.raises(ValueError, match="size"):
        CrankNicolsonHeat(size=2)
