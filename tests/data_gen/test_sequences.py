"""Heat-equation sequences: each stored step solves its own SPD system; the coefficient drifts."""

import numpy as np
import pytest

from neuralsolvers.data_gen import HeatSequence


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
