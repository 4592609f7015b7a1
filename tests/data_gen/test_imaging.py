"""LPN data: the Laplace toy and its exact denoisers, image patches with exact measurements."""

import numpy as np
import pytest
import torch

from neuralsolvers.data_gen.imaging import (
    ImagePatches,
    LaplaceToy,
    laplace_map_prox,
    laplace_matching_optimum,
    laplace_mmse,
    laplace_posterior_median,
    synthetic_images,
)
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import DatasetError


@pytest.mark.parametrize(("b", "sigma"), [(1.0, 1.0), (0.5, 0.3)])
def test_soft_thresholding_is_the_map_prox(b, sigma):
    y = np.linspace(-4, 4, 41)
    grid = np.linspace(-6, 6, 120001)
    objective = 0.5 * (grid[None, :] - y[:, None]) ** 2 / sigma**2 + np.abs(grid[None, :]) / b
    np.testing.assert_allclose(laplace_map_prox(y, b, sigma), grid[objective.argmin(axis=1)], atol=1e-4)
    assert laplace_map_prox(0.99, 1.0, 1.0) == 0.0 and laplace_map_prox(-3.0, 1.0, 1.0) == -2.0


def test_mmse_is_the_posterior_mean():
    b, sigma = 1.0, 1.0
    y = np.array([-30.0, -2.5, -0.3, 0.0, 1.0, 4.0, 30.0])
    grid = np.linspace(-45, 45, 400001)
    log_posterior = -0.5 * (grid[None, :] - y[:, None]) ** 2 / sigma**2 - np.abs(grid[None, :]) / b
    weights = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
    np.testing.assert_allclose(laplace_mmse(y, b, sigma), (weights * grid).sum(1) / weights.sum(1), atol=1e-6)


@pytest.mark.parametrize(("b", "sigma"), [(1.0, 1.0), (0.5, 0.3)])
def test_posterior_median_halves_the_posterior_mass(b, sigma):
    y = np.array([-6.0, -2.5, -0.3, 0.0, 0.7, 1.0, 4.0, 8.0])
    grid = np.linspace(-20, 20, 800001)
    log_posterior = -0.5 * (grid[None, :] - y[:, None]) ** 2 / sigma**2 - np.abs(grid[None, :]) / b
    weights = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
    cdf = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    reference = grid[np.argmax(cdf >= 0.5, axis=1)]
    np.testing.assert_allclose(laplace_posterior_median(y, b, sigma), reference, atol=1e-4)


def test_matching_optimum_tends_to_the_map_as_gamma_shrinks():
    y = np.linspace(-3, 3, 61)
    errors = [np.abs(laplace_matching_optimum(y, gamma) - laplace_map_prox(y)).max() for gamma in (0.5, 0.1, 0.02)]
    assert errors[0] > 0.25 and 0.09 < errors[1] < 0.13 and errors[2] < 0.04  # ≈ 0.31, 0.11, 0.03
    np.testing.assert_allclose(laplace_matching_optimum(-y, 0.1), -laplace_matching_optimum(y, 0.1), atol=2e-3)


def test_laplace_toy():
    generator = LaplaceToy(dim=2)
    arrays = generator.generate(5000, np.random.default_rng(0))
    assert arrays["x"].shape == arrays["y"].shape == (5000, 2) and arrays["x"].dtype == np.float32
    assert generator.check(arrays) < 0.05
    np.testing.assert_array_equal(arrays["y"], generator.generate(5000, np.random.default_rng(0))["y"])
    with pytest.raises(DatasetError, match="noise RMS"):
        generator.check({"x": arrays["x"], "y": arrays["x"]})
    assert generator.check({"x": arrays["x"][:10], "y": arrays["x"][:10]}) == 0.0  # too few values to judge
    with pytest.raises(DatasetError, match="non-finite"):
        generator.check({"x": np.full((3, 2), np.nan), "y": np.zeros((3, 2))})


def test_synthetic_images():
    images = synthetic_images(6, 32, np.random.default_rng(0))
    assert images.shape == (6, 32, 32) and images.min() >= 0 and images.max() <= 1
    assert (images.std(axis=(1, 2)) > 0).all()
    np.testing.assert_array_equal(images, synthetic_images(6, 32, np.random.default_rng(0)))


@pytest.mark.parametrize("operator", ["denoise", "blur", "fourier"])
def test_measurements_are_the_operator_plus_noise(operator):
    generator = ImagePatches(patch_size=64, sources=["camera", "phantom", "synthetic"], operator=operator, noise_sigma=[0.01, 0.05])
    arrays = generator.generate(4, np.random.default_rng(1))
    clean, measured, sigma = arrays["clean"], arrays["measured"], arrays["noise_sigma"]
    assert clean.shape == (4, 64, 64) and clean.dtype == np.float32 and clean.min() >= 0 and clean.max() <= 1
    assert sigma.shape == (4,) and ((sigma >= 0.01) & (sigma <= 0.05)).all()
    assert generator.check(arrays) < 0.1
    exact = generator.forward_operator().forward(torch.from_numpy(clean.astype(np.float64)))
    if operator == "fourier":
        mask = generator.shared()["mask"]
        assert measured.shape == (4, mask.sum(), 2) and exact.is_complex()
        exact = torch.view_as_real(exact)
    else:
        assert measured.shape == (4, 64, 64)
    noise = (measured - exact.numpy()) / sigma[:, None, None]
    assert abs(noise.std() - 1) < 0.05
    np.testing.assert_array_equal(measured, generator.generate(4, np.random.default_rng(1))["measured"])
    corrupted = {**arrays, "measured": measured.copy()}
    corrupted["measured"] += 0.5 * sigma[:, None, None]  # a bias of σ/2: RMS 1.12 σ
    with pytest.raises(DatasetError, match="noise RMS"):
        generator.check(corrupted)
    with pytest.raises(DatasetError, match=r"outside \[0, 1\]"):
        generator.check({**arrays, "clean": clean * 1.5})


def test_noise_free_and_faces():
    generator = ImagePatches(patch_size=16, sources=["faces"], operator="blur", noise_sigma=0.0, augment=False)
    arrays = generator.generate(3, np.random.default_rng(0))
    assert arrays["clean"].shape == (3, 16, 16) and (arrays["noise_sigma"] == 0).all()
    assert generator.check(arrays) <= 1e-6
    with pytest.raises(DatasetError, match="noise-free"):
        generator.check({**arrays, "measured": arrays["measured"] + 1e-3})
    with pytest.raises(ValueError, match="faces"):
        ImagePatches(patch_size=32, sources=["faces"])
    with pytest.raises(ValueError, match="operator"):
        ImagePatches(operator="radon")


@pytest.mark.parametrize("generator", [LaplaceToy(), ImagePatches(patch_size=32, operator="fourier", noise_sigma=0.05)], ids=["laplace", "patches"])
def test_sharded_dataset_round_trip(tmp_path, generator):
    generate_split(generator, tmp_path / "train", num_samples=6, seed=0, shard_size=3)
    dataset = ShardedDataset(tmp_path / "train", expect=generator.get_params(), generator=generator.name)
    assert len(dataset) == 6
    loaded = dataset.load()
    for shard in range(2):  # shard i holds samples [3i, 3i + 3) drawn with default_rng([seed, i])
        expected = generator.generate(3, np.random.default_rng([0, shard]))
        for key, value in expected.items():
            np.testing.assert_array_equal(loaded[key][3 * shard : 3 * shard + 3], value)
    for key, value in generator.shared().items():
        np.testing.assert_array_equal(dataset.shared[key], value)
