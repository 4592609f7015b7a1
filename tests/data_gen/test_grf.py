"""Gaussian random fields: covariances match their kernels, seeds reproduce."""

import numpy as np
import pytest

from neuralsolvers.data_gen.grf import (
    RBFField,
    SpectralField,
    lognormal_field,
    rbf_kernel,
    threshold_field,
)

# Monte-Carlo tolerance: a sample covariance of N draws has standard error ≲ sqrt(2/N) σ²;
# with N = 20,000 that is 0.01, so 0.05 is a 5-sigma bound.
N = 20_000
TOL = 0.05


def test_rbf_kernel_values():
    k = rbf_kernel(np.array([0.0, 0.3]), np.array([0.0]), length_scale=0.2, variance=2.0)
    np.testing.assert_allclose(k[:, 0], [2.0, 2.0 * np.exp(-0.09 / 0.08)])


def test_rbf_1d_sample_covariance_matches_kernel():
    points = np.linspace(0, 1, 20)
    fields = RBFField(0.2, variance=1.5).sample(N, points, np.random.default_rng(0))
    assert fields.shape == (N, 20)
    np.testing.assert_allclose(fields.mean(0), 0.0, atol=TOL * np.sqrt(1.5))
    np.testing.assert_allclose(np.cov(fields.T), rbf_kernel(points, points, 0.2, 1.5), atol=TOL * 1.5)


def test_rbf_2d_covariance_is_the_product_kernel():
    points = np.linspace(0, 1, 8)
    fields = RBFField(0.3, dim=2).sample(N, points, np.random.default_rng(1))
    assert fields.shape == (N, 8, 8)
    pairs = [((0, 0), (0, 0)), ((1, 2), (2, 2)), ((0, 0), (3, 4)), ((7, 1), (5, 2))]
    for (i, j), (k, m) in pairs:
        expected = np.exp(-((points[i] - points[k]) ** 2 + (points[j] - points[m]) ** 2) / (2 * 0.3**2))
        assert abs(np.mean(fields[:, i, j] * fields[:, k, m]) - expected) < TOL


@pytest.mark.parametrize("dim", [1, 2])
def test_spectral_covariance_matches_sampled_fields(dim):
    field = SpectralField(16, dim=dim, alpha=2.0, tau=3.0)
    samples = field.sample(N // 4 if dim == 2 else N, np.random.default_rng(2))
    covariance = field.covariance()
    variance = covariance.flat[0]
    axes = tuple(range(1, dim + 1))
    # stationary: average the products over all positions as well as samples
    for shift in [(0,) * dim, (1,) * dim, (3,) + (0,) * (dim - 1)]:
        product = np.mean(samples * np.roll(samples, shift=[-s for s in shift], axis=axes))
        assert abs(product - covariance[shift]) < TOL * variance
    np.testing.assert_allclose(samples.mean(axis=axes), 0.0, atol=1e-10)
    assert np.isclose(variance, np.mean(samples**2), rtol=0.05)


def test_spectral_default_sigma_is_fno_convention():
    assert np.isclose(SpectralField(8, dim=2, alpha=2, tau=3).sigma, 3.0)
    assert np.isclose(SpectralField(8, dim=1, alpha=2, tau=3).sigma, 3.0**1.5)


def test_same_seed_same_field_other_seed_other_field():
    points = np.linspace(0, 1, 30)
    a = RBFField(0.2).sample(3, points, np.random.default_rng(7))
    b = RBFField(0.2).sample(3, points, np.random.default_rng(7))
    c = RBFField(0.2).sample(3, points, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    s1 = SpectralField(8).sample(2, np.random.default_rng(7))
    np.testing.assert_array_equal(s1, SpectralField(8).sample(2, np.random.default_rng(7)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: RBFField(0.0),
        lambda: RBFField(0.2, variance=-1),
        lambda: RBFField(0.2, dim=3),
        lambda: SpectralField(1),
        lambda: SpectralField(8, dim=4),
        lambda: SpectralField(8, tau=0),
    ],
)
def test_bad_parameters_raise(make):
    with pytest.raises(ValueError):
        make()


def test_coefficient_fields():
    field = SpectralField(16).sample(4, np.random.default_rng(0))
    assert set(np.unique(threshold_field(field))) == {3.0, 12.0}
    assert (lognormal_field(field) > 0).all()
