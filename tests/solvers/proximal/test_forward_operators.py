"""Imaging forward operators: exact adjoints, normalized blur, unitary full Fourier, exact norms."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from neuralsolvers.solvers.proximal.forward_operators import (
    GaussianBlur,
    Identity,
    SubsampledFourier,
    gaussian_kernel,
    random_mask,
)

SHAPE = (16, 20)


def operators():
    mask = random_mask(SHAPE, 0.3, np.random.default_rng(0), center_fraction=0.1)
    return {"identity": Identity(), "blur": GaussianBlur(1.0), "wide_blur": GaussianBlur(2.0, 9), "fourier": SubsampledFourier(mask)}


def inner(u, v):
    """Real inner product; complex numbers count as pairs of reals."""
    return float((u.conj() * v).real.sum())


@pytest.mark.parametrize("name", ["identity", "blur", "wide_blur", "fourier"])
def test_adjoint_identity(name):
    operator = operators()[name]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, *SHAPE, generator=generator, dtype=torch.float64)
    ax = operator.forward(x)
    y = torch.randn(ax.shape, generator=generator, dtype=ax.dtype)
    assert abs(inner(ax, y) - inner(x, operator.adjoint(y))) <= 1e-10 * (1 + abs(inner(ax, y)))
    torch.testing.assert_close(operator.normal(x), operator.adjoint(ax))
    assert operator.adjoint(y).shape == x.shape and operator.adjoint(y).dtype == torch.float64


@pytest.mark.parametrize("name", ["identity", "blur", "wide_blur", "fourier"])
def test_norm_is_exact(name):
    """``norm_squared`` bounds the power-iteration estimate of ‖AᵀA‖ and is within 1% of it."""
    operator = operators()[name]
    x = torch.randn(*SHAPE, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for _ in range(300):
        x = operator.normal(x)
        x = x / x.norm()
    estimate = float((x * operator.normal(x)).sum())
    assert estimate <= operator.norm_squared() * (1 + 1e-10)
    assert estimate >= 0.99 * operator.norm_squared()


def test_blur_is_a_normalized_periodic_convolution():
    blur = GaussianBlur(1.5, 7)
    assert blur.kernel.shape == (7, 7) and blur.kernel.sum() == pytest.approx(1.0)
    constant = torch.full((2, 1, *SHAPE), 0.3, dtype=torch.float64)  # (B, 1, H, W) works too
    torch.testing.assert_close(blur.forward(constant), constant)
    torch.testing.assert_close(blur.adjoint(constant), constant)
    x = np.random.default_rng(2).random(SHAPE)
    expected = ndimage.convolve(x, blur.kernel, mode="wrap")
    np.testing.assert_allclose(blur.forward(torch.from_numpy(x)).numpy(), expected, atol=1e-12)
    assert np.abs(blur.transfer_function(SHAPE)).max() ** 2 == pytest.approx(blur.norm_squared())
    single = blur.forward(torch.from_numpy(x).float())
    assert single.dtype == torch.float32
    np.testing.assert_allclose(single.numpy(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(1.0, 4)


def test_full_fourier_is_unitary():
    operator = SubsampledFourier(np.ones(SHAPE, dtype=bool))
    x = torch.randn(4, *SHAPE, dtype=torch.float64)
    y = operator.forward(x)
    assert y.shape == (4, SHAPE[0] * SHAPE[1]) and y.is_complex()
    torch.testing.assert_close(y.abs().square().sum(-1), x.square().sum((-2, -1)))
    torch.testing.assert_close(operator.adjoint(y), x)


def test_random_mask():
    mask = random_mask((32, 32), 0.25, np.random.default_rng(3), center_fraction=0.1)
    assert mask.dtype == bool and mask.sum() == 256
    low = np.abs(np.fft.fftfreq(32, 1 / 32)) <= 2
    assert mask[np.ix_(low, low)].all()  # the 5 × 5 centre around DC
    np.testing.assert_array_equal(mask, random_mask((32, 32), 0.25, np.random.default_rng(3), center_fraction=0.1))
    assert SubsampledFourier(mask).norm_squared() == 1.0
    only_one = np.zeros((4, 4), dtype=bool)
    only_one[0, 1] = True  # k = (0, 1) without its mirror (0, −1): AᵀA has norm ½
    assert SubsampledFourier(only_one).norm_squared() == 0.5
