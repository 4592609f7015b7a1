"""The antiderivative generator: exact on known functions, self-checked, deterministic."""

import numpy as np
import pytest

from neuralsolvers.data_gen import Antiderivative, antiderivative
from neuralsolvers.errors import DatasetError


def test_antiderivative_of_sine_to_1e6():
    grid = np.linspace(0, 1, 1001)
    points = np.linspace(0, 1, 37)
    values = np.stack([np.sin(2 * np.pi * grid), np.sin(5 * grid)])
    exact = np.stack([(1 - np.cos(2 * np.pi * points)) / (2 * np.pi), (1 - np.cos(5 * points)) / 5])
    np.testing.assert_allclose(antiderivative(values, grid, points), exact, atol=1e-6)


def test_generator_shapes_check_and_determinism():
    generator = Antiderivative(length_scale=0.2, num_sensors=20, num_points=15, fine_points=401)
    arrays = generator.generate(6, np.random.default_rng(3))
    assert arrays["u"].shape == (6, 20) and arrays["s"].shape == (6, 15)
    assert arrays["u"].dtype == np.float32
    np.testing.assert_allclose(arrays["s"][:, 0], 0.0, atol=1e-7)
    assert generator.check(arrays) < 1e-4
    again = generator.generate(6, np.random.default_rng(3))
    np.testing.assert_array_equal(arrays["s"], again["s"])
    shared = generator.shared()
    assert shared["points"].shape == (15, 1) and shared["sensors"].shape == (20,)


def test_self_check_catches_wrong_integrals():
    generator = Antiderivative(num_sensors=10, num_points=10, fine_points=201)
    arrays = generator.generate(3, np.random.default_rng(0))
    arrays["s"] = arrays["s"] * 1.01
    with pytest.raises(DatasetError, match="self-check"):
        generator.check(arrays)


def test_parameters_are_recorded():
    params = Antiderivative(length_scale=0.1).get_params()
    assert params["length_scale"] == 0.1 and params["num_sensors"] == 100
