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

# Monte-Carlo tolerance: a sample covariance of N draws has standard error ≤ sqrt(2/N) σ²
# (σ² the pointwise variance); with N = 20,000 that is 0.01 σ², so 0.05 σ² is a 5-sigma bound.
N = 20_000
TOL = 0.05


def test_rbf_kernel_values():
    k = rbf_kernel(np.array([0.0, 0.3]), np.array([0.0]), length_scale=0.2, variance=2.0)
    assert k.shape == (2, 1)
    np.testing.assert_allclose(k[:, 0], [2.0, 2.0 * np.exp(-0.09 / 0.08)])
    # (n, d) inputs: squared distance summed over coordinates
    x = np.array([[0.0, 0.0], [0.1, 0.2], [0.5, 0.5]])
    y = np.array([[0.1, 0.0], [0.3, 0.4]])
    expected = np.array(
        [[np.exp(-((a - c) ** 2 + (b - d) ** 2) / (2 * 0.3**2)) for c, d in y] for a, b in x]
    )
    np.testing.assert_allclose(rbf_kernel(x, y, length_scale=0.3), expected, rtol=1e-14)


def test_rbf_1d_sample_covariance_matches_kernel():
    points = np.linspace(0, 1, 20)
    fields = RBFField(0.2, variance=1.5).sample(N, points, np.random.default_rng(0))
    assert fields.shape == (N, 20)
    assert fields.dtype == np.float64
    # the mean of N draws has standard error sqrt(1.5 / N) ≈ 0.009: 0.06 is a 7-sigma bound
    np.testing.assert_allclose(fields.mean(0), 0.0, atol=TOL * np.sqrt(1.5))
    expected = rbf_kernel(points, points, 0.2, 1.5)
    np.testing.assert_allclose(np.cov(fields.T), expected, atol=TOL * 1.5)


def test_rbf_2d_covariance_is_the_product_kernel():
    points = np.linspace(0, 1, 8)
    variance = 2.0
    fields = RBFField(0.3, variance=variance, dim=2).sample(N, points, np.random.default_rng(1))
    assert fields.shape == (N, 8, 8)
    pairs = [((0, 0), (0, 0)), ((1, 2), (2, 2)), ((0, 0), (3, 4)), ((7, 1), (5, 2)), ((2, 6), (2, 6))]
    for (i, j), (k, m) in pairs:
        distance2 = (points[i] - points[k]) ** 2 + (points[j] - points[m]) ** 2
        expected = variance * np.exp(-distance2 / (2 * 0.3**2))
        assert abs(np.mean(fields[:, i, j] * fields[:, k, m]) - expected) < TOL * variance


def test_rbf_singular_kernel_is_factored_once_by_eigh(monkeypatch):
    # l = 0.2 is numerically singular from ~50 points on (1000+ in the benchmarks); 256 stays fast
    points = np.linspace(0, 1, 256)
    kernel = rbf_kernel(points, points, 0.2)
    with pytest.raises(np.linalg.LinAlgError):  # Cholesky fails
        np.linalg.cholesky(kernel)
    calls = []
    eigh = np.linalg.eigh
    monkeypatch.setattr(np.linalg, "eigh", lambda a: calls.append(1) or eigh(a))
    field = RBFField(0.2)
    a = field.sample(64, points, np.random.default_rng(3))
    b = field.sample(64, points.copy(), np.random.default_rng(4))
    assert len(calls) == 1  # cached per point set
    assert np.isfinite(a).all() and np.isfinite(b).all()
    (factor,) = field._factors.values()
    np.testing.assert_allclose(factor @ factor.T, kernel, atol=1e-9)
    field.sample(2, points[:100], np.random.default_rng(5))
    assert len(calls) == 2  # other points, new factor


@pytest.mark.parametrize("dim", [1, 2])
def test_spectral_covariance_matches_sampled_fields(dim):
    field = SpectralField(16, dim=dim, alpha=2.0, tau=3.0)
    samples = field.sample(N // 4 if dim == 2 else N, np.random.default_rng(2))
    assert samples.shape == (N // 4 if dim == 2 else N,) + (16,) * dim
    assert samples.dtype == np.float64
    covariance = field.covariance()
    assert covariance.shape == (16,) * dim
    variance = covariance.flat[0]
    axes = tuple(range(1, dim + 1))
    # stationary: average the products over all positions as well as samples (error ≤ 0.01 σ²)
    shifts = [(0,) * dim, (1,) * dim, (3,) + (0,) * (dim - 1), (0,) * (dim - 1) + (8,)]
    for shift in shifts:
        product = np.mean(samples * np.roll(samples, shift=[-s for s in shift], axis=axes))
        assert abs(product - covariance[shift]) < TOL * variance
    np.testing.assert_allclose(samples.mean(axis=axes), 0.0, atol=1e-10)  # k = 0 mode removed
    assert np.isclose(variance, np.mean(samples**2), rtol=0.05)


@pytest.mark.parametrize(
    ("size", "dim", "alpha", "tau", "sigma"),
    [(12, 1, 2.0, 3.0, None), (9, 1, 1.5, 5.0, 2.0), (8, 2, 2.0, 3.0, None), (7, 2, 2.5, 4.0, 0.5)],
)
def test_spectral_covariance_is_the_stated_spectrum(size, dim, alpha, tau, sigma):
    field = SpectralField(size, dim=dim, alpha=alpha, tau=tau, sigma=sigma)
    s2 = field.sigma**2
    k = np.fft.fftfreq(size, d=1.0 / size)
    offsets = np.arange(size)
    if dim == 1:
        lam = s2 * (4 * np.pi**2 * k**2 + tau**2) ** (-alpha)
        lam[0] = 0.0
        expected = (lam[:, None] * np.cos(2 * np.pi * np.outer(k, offsets) / size)).sum(0)
    else:
        k1, k2 = k[:, None, None, None], k[None, :, None, None]
        d1, d2 = offsets[None, None, :, None], offsets[None, None, None, :]
        lam = s2 * (4 * np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha)
        lam = np.where((k1 == 0) & (k2 == 0), 0.0, lam)
        expected = (lam * np.cos(2 * np.pi * (k1 * d1 + k2 * d2) / size)).sum((0, 1))
    np.testing.assert_allclose(field.covariance(), expected, rtol=1e-12, atol=1e-15)


def test_spectral_default_sigma_is_fno_convention():
    assert np.isclose(SpectralField(8, dim=2, alpha=2, tau=3).sigma, 3.0)
    assert np.isclose(SpectralField(8, dim=1, alpha=2, tau=3).sigma, 3.0**1.5)
    assert SpectralField(8, sigma=0.7).sigma == 0.7


def test_same_seed_same_field_other_seed_other_field():
    points = np.linspace(0, 1, 30)
    makers = [
        lambda seed: RBFField(0.2).sample(3, points, np.random.default_rng(seed)),
        lambda seed: RBFField(0.2, dim=2).sample(3, points, np.random.default_rng(seed)),
        lambda seed: SpectralField(8, dim=1).sample(3, np.random.default_rng(seed)),
        lambda seed: SpectralField(8, dim=2).sample(3, np.random.default_rng(seed)),
    ]
    for make in makers:
        a, b, c = make(7), make(7), make(8)
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RBFField(0.0),
        lambda: RBFField(-0.1),
        lambda: RBFField(0.2, variance=-1),
        lambda: RBFField(0.2, variance=0.0),
        lambda: RBFField(0.2, dim=3),
        lambda: SpectralField(1),
        lambda: SpectralField(8.5),
        lambda: SpectralField(8, dim=3),
        lambda: SpectralField(8, tau=0),
        lambda: SpectralField(8, alpha=-1.0),
        lambda: SpectralField(8, sigma=0.0),
    ],
)
def test_bad_parameters_raise(make):
    with pytest.raises(ValueError):
        make()


def test_threshold_field():
    values = np.array([[-1.0, 0.0], [0.5, 2.0]])
    np.testing.assert_array_equal(threshold_field(values), [[3.0, 12.0], [12.0, 12.0]])
    np.testing.assert_array_equal(
        threshold_field(values, high=1.0, low=-1.0, level=1.0), [[-1.0, -1.0], [-1.0, 1.0]]
    )
    field = SpectralField(16).sample(4, np.random.default_rng(0))
    assert set(np.unique(threshold_field(field))) == {3.0, 12.0}


def test_lognormal_field():
    field = SpectralField(16).sample(4, np.random.default_rng(0))
    coefficient = lognormal_field(field, mean=0.5, scale=2.0)
    assert coefficient.shape == field.shape
    assert (coefficient > 0).all()
    np.testing.assert_allclose(coefficient, np.exp(0.5 + 2.0 * field))
