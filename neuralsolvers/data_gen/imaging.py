"""Training data for learned proximal networks (LPN; Fang, Buchanan & Sulam, ICLR 2024).

* [`LaplaceToy`][neuralsolvers.data_gen.imaging.LaplaceToy]: the paper's toy, ``x ~ Laplace(0, b)``, ``y = x + σ n``; the exact MAP
  denoiser (the proximal operator of ``σ²|x|/b``) is soft-thresholding, [`laplace_map_prox`][neuralsolvers.data_gen.imaging.laplace_map_prox],
  and the MMSE denoiser (posterior mean) is [`laplace_mmse`][neuralsolvers.data_gen.imaging.laplace_mmse].
* [`ImagePatches`][neuralsolvers.data_gen.imaging.ImagePatches]: ``p × p`` patches of skimage's ``camera`` and Shepp-Logan ``phantom``, the
  25 × 25 LFW ``faces`` (only for ``p ≤ 25``, never resampled) and synthetic piecewise-smooth images
  ([`synthetic_images`][neuralsolvers.data_gen.imaging.synthetic_images]), with measurements ``A x + σ n`` for ``A`` a
  [`forward_operators`][neuralsolvers.solvers.proximal.forward_operators] operator: denoising, Gaussian blur (periodic
  boundary) or subsampled Fourier. The self-check recomputes ``A x`` in float64 and compares the
  residual's RMS with ``σ``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
from scipy.special import log_ndtr, ndtri_exp

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.grf import SpectralField
from neuralsolvers.solvers.proximal.forward_operators import (
    ForwardOperator,
    GaussianBlur,
    Identity,
    SubsampledFourier,
    random_mask,
)

__all__ = ["ImagePatches", "LaplaceToy", "laplace_map_prox", "laplace_matching_optimum", "laplace_mmse",
           "laplace_posterior_median", "load_source",
           "synthetic_images"]  # fmt: skip

SOURCES = ("camera", "phantom", "faces", "synthetic")
OPERATORS = ("denoise", "blur", "fourier")
MIN_VALUES = 4000  # statistical self-checks need this many noise values (±10% of σ is then ≥ 6 std errors)


def laplace_map_prox(y: np.ndarray, b: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """MAP estimate of ``x ~ Laplace(0, b)`` from ``y = x + σ n``: soft-thresholding of ``y`` at ``σ²/b``.

    ``argmin_x ½(x − y)²/σ² + |x|/b``, elementwise, any shape.
    """
    y = np.asarray(y, dtype=float)
    return np.sign(y) * np.maximum(np.abs(y) - sigma**2 / b, 0.0)


def laplace_mmse(y: np.ndarray, b: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """Posterior mean ``E[x | y]`` for ``x ~ Laplace(0, b)``, ``y = x + σ n``, elementwise, any shape.

    The posterior is a mixture of ``N(y ∓ σ²/b, σ²)`` truncated to ``x ≷ 0`` with weights
    ``∝ exp(∓y/b) Φ(±(y ∓ σ²/b)/σ)``; evaluated in log space (stable for any ``y``).
    """
    y = np.asarray(y, dtype=float)
    plus, minus = y - sigma**2 / b, y + sigma**2 / b
    alpha, beta = plus / sigma, -minus / sigma
    log_phi = -0.5 * np.log(2 * np.pi)
    mean_plus = plus + sigma * np.exp(log_phi - 0.5 * alpha**2 - log_ndtr(alpha))
    mean_minus = minus - sigma * np.exp(log_phi - 0.5 * beta**2 - log_ndtr(beta))
    log_plus, log_minus = -y / b + log_ndtr(alpha), y / b + log_ndtr(beta)
    weight_plus = np.exp(log_plus - np.logaddexp(log_plus, log_minus))
    return weight_plus * mean_plus + (1.0 - weight_plus) * mean_minus


def laplace_posterior_median(y: np.ndarray, b: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """Posterior median of ``x ~ Laplace(0, b)`` given ``y = x + σ n`` (what ℓ1 training recovers).

    For ``y ≥ 0`` the median is on the positive branch: with ``w₋`` the posterior mass below 0 and
    ``μ₊ = y − σ²/b``, ``m = μ₊ − σ Φ⁻¹(Φ(μ₊/σ)(1 − q))``, ``q = (½ − w₋)/(1 − w₋)``; odd in ``y``.
    """
    y = np.asarray(y, dtype=float)
    t = np.abs(y)
    plus, minus = t - sigma**2 / b, t + sigma**2 / b
    log_plus, log_minus = -t / b + log_ndtr(plus / sigma), t / b + log_ndtr(-minus / sigma)
    below = np.exp(log_minus - np.logaddexp(log_plus, log_minus))
    q = np.clip((0.5 - below) / (1.0 - below), 0.0, 1.0)
    median = plus - sigma * ndtri_exp(log_ndtr(plus / sigma) + np.log1p(-q))
    return np.sign(y) * np.maximum(median, 0.0)


def laplace_matching_optimum(y: np.ndarray, gamma: float, b: float = 1.0, sigma: float = 1.0, spacing: float = 1e-3) -> np.ndarray:
    """What proximal matching at a finite ``γ`` converges to: ``argmax_z E[exp(−(z − x)²/γ²) | y]``,
    the mode of the posterior smoothed by a Gaussian of width ``γ`` (→ the MAP as ``γ → 0``).

    Computed per ``y`` on a grid of step ``spacing`` over ``x`` (the posterior times the Gaussian
    kernel, by FFT convolution); accurate to about ``spacing``. ``y`` 1D.
    """
    from scipy.signal import fftconvolve

    y = np.atleast_1d(np.asarray(y, dtype=float))
    half = 8 * sigma + np.abs(y).max() + 4 * gamma
    x = np.arange(-half, half + spacing, spacing)
    kernel_x = np.arange(-4 * gamma, 4 * gamma + spacing / 2, spacing)
    kernel = np.exp(-((kernel_x / gamma) ** 2))
    log_posterior = -np.abs(x)[None, :] / b - (x[None, :] - y[:, None]) ** 2 / (2 * sigma**2)
    posterior = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
    reward = fftconvolve(posterior, kernel[None, :], mode="same", axes=1)
    return x[reward.argmax(axis=1)]


class LaplaceToy(Generator):
    """LPN's 1D toy: clean ``x ~ Laplace(0, b)`` i.i.d. per coordinate, noisy ``y = x + σ n``, ``n ~ N(0, I)``.

    Args:
        b: Laplace scale (``E|x| = b``).
        noise_sigma: noise standard deviation ``σ``.
        dim: coordinates per sample.

    Arrays: ``x``, ``y`` ``(n, dim)`` float32. The self-check bounds ``|RMS(y − x)/σ − 1|`` and
    ``|mean|x|/b − 1|`` by 0.1 on shards with at least 4000 values (it only checks finiteness below).
    """

    name = "laplace_toy"

    def __init__(self, b: float = 1.0, noise_sigma: float = 1.0, dim: int = 1) -> None:
        if not (b > 0 and noise_sigma > 0):
            raise ValueError(f"b and noise_sigma must be positive, got b={b}, noise_sigma={noise_sigma}")
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.b, self.noise_sigma, self.dim = b, noise_sigma, dim

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        x = rng.laplace(0.0, self.b, (num_samples, self.dim)).astype(np.float32)
        y = x + self.noise_sigma * rng.standard_normal((num_samples, self.dim))
        return {"x": x, "y": y.astype(np.float32)}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        x, y = arrays["x"].astype(np.float64), arrays["y"].astype(np.float64)
        self._bounded(np.array([0.0 if np.isfinite(x).all() and np.isfinite(y).all() else np.inf]), "non-finite values", 0.0)
        if x.size < MIN_VALUES:
            return 0.0
        noise = np.sqrt(np.mean((y - x) ** 2)) / self.noise_sigma
        worst = self._bounded(np.array([abs(noise - 1.0)]), "relative error of the noise RMS", 0.1)
        return max(worst, self._bounded(np.array([abs(np.mean(np.abs(x)) / self.b - 1.0)]), "relative error of mean |x|", 0.1))


@functools.cache
def load_source(name: str) -> np.ndarray:
    """A stack of skimage source images ``(N, H, W)`` float64 in [0, 1]: ``camera`` (1, 512, 512),
    ``phantom`` (1, 400, 400; Shepp-Logan) or ``faces`` (200, 25, 25; LFW subset)."""
    from skimage import data

    if name == "camera":
        return data.camera()[None].astype(np.float64) / 255.0
    if name == "phantom":
        return data.shepp_logan_phantom()[None]
    if name == "faces":
        return data.lfw_subset().astype(np.float64)
    raise ValueError(f"unknown source image {name!r}; choose from camera, phantom, faces")


def synthetic_images(num_images: int, size: int, rng: np.random.Generator, max_shapes: int = 5) -> np.ndarray:
    """Piecewise-smooth images ``(num_images, size, size)`` float64 in [0, 1].

    A smooth background (a periodic GRF, α = 3, τ = 3, rescaled to a random sub-interval of [0, 1])
    overpainted by 1 to ``max_shapes`` shapes, each an ellipse or a convex polygon (3–6 vertices
    inscribed in an ellipse) with constant or linear intensity; lengths in units of the image side.
    """
    coords = (np.arange(size) + 0.5) / size
    rows, cols = coords[None, :, None], coords[None, None, :]
    background = SpectralField(size, 2, alpha=3.0, tau=3.0).sample(num_images, rng)
    low = background.min(axis=(1, 2), keepdims=True)
    span = np.maximum(background.max(axis=(1, 2), keepdims=True) - low, 1e-12)
    bottom = rng.uniform(0.0, 0.6, (num_images, 1, 1))
    image = bottom + (background - low) / span * rng.uniform(0.1, 0.4, (num_images, 1, 1))
    count = rng.integers(1, max_shapes + 1, num_images)
    vertices = np.arange(6)
    for k in range(max_shapes):
        center_row, center_col, angle = (rng.uniform(lo, hi, (num_images, 1, 1)) for lo, hi in ((0.1, 0.9), (0.1, 0.9), (0, np.pi)))
        axis_u, axis_v = rng.uniform(0.05, 0.3, (2, num_images, 1, 1))
        d_row, d_col = rows - center_row, cols - center_col
        u = (np.cos(angle) * d_col + np.sin(angle) * d_row) / axis_u  # unit-disc coordinates of the shape
        v = (np.cos(angle) * d_row - np.sin(angle) * d_col) / axis_v
        ellipse = u**2 + v**2 <= 1.0
        # polygon: vertices on the unit circle at increasing angles, the last one repeated up to 6
        corners = rng.integers(3, 7, num_images)[:, None]
        phi = 2 * np.pi * (vertices + 0.8 * rng.random((num_images, 6))) / corners
        phi = np.take_along_axis(phi, np.minimum(vertices, corners - 1), axis=1)[:, :, None, None]
        x0, y0 = np.cos(phi), np.sin(phi)
        x1, y1 = np.roll(x0, -1, axis=1), np.roll(y0, -1, axis=1)
        polygon = np.all((x1 - x0) * (v[:, None] - y0) - (y1 - y0) * (u[:, None] - x0) >= 0, axis=1)
        inside = np.where(rng.random((num_images, 1, 1)) < 0.5, polygon, ellipse) & (k < count)[:, None, None]
        slope = rng.uniform(-1.0, 1.0, (2, num_images, 1, 1)) * (rng.random((num_images, 1, 1)) < 0.5)
        value = rng.uniform(0.0, 1.0, (num_images, 1, 1)) + slope[0] * d_row + slope[1] * d_col
        image = np.where(inside, value, image)
    return np.clip(image, 0.0, 1.0)


class ImagePatches(Generator):
    """Clean ``p × p`` image patches in [0, 1] and their measurements ``A x + σ n`` (denoise, blur, Fourier).

    Each sample draws a source uniformly from ``sources``; ``camera``, ``phantom`` and ``faces`` give
    a patch at a uniformly random position among those whose pixel standard deviation is at least
    ``min_patch_std`` (no flat background patches), ``synthetic`` a fresh [`synthetic_images`][neuralsolvers.data_gen.imaging.synthetic_images].
    ``augment`` applies one of the 8 flips/rotations by 90° at random.

    Args:
        patch_size: ``p`` (at most 400 for ``phantom``, 512 for ``camera``, 25 for ``faces``).
        sources: names among ``camera``, ``phantom``, ``faces``, ``synthetic``.
        operator: ``denoise`` (identity), ``blur`` ([`GaussianBlur`][neuralsolvers.solvers.proximal.forward_operators.GaussianBlur], periodic boundary) or
            ``fourier`` ([`SubsampledFourier`][neuralsolvers.solvers.proximal.forward_operators.SubsampledFourier] with a [`random_mask`][neuralsolvers.solvers.proximal.forward_operators.random_mask]).
        noise_sigma: ``σ`` of the Gaussian measurement noise (intensity units, i.e. of [0, 1]); a pair
            ``[low, high]`` draws ``σ`` per sample uniformly. For ``fourier`` both the real and the
            imaginary part of each measurement get ``N(0, σ²)``.
        blur_sigma: the blur kernel (pixels; default size ``2⌈3σ⌉ + 1``).
        kernel_size: see `blur_sigma`.
        sampling_fraction: the Fourier mask (fixed by ``mask_seed``).
        center_fraction: see `sampling_fraction`.
        mask_seed: see `sampling_fraction`.
        augment: random dihedral transforms.
        min_patch_std: the flat-patch threshold.

    Arrays: ``clean`` ``(n, p, p)`` float32; ``measured`` ``(n, p, p)`` float32 (denoise, blur) or
    ``(n, M, 2)`` float32, real and imaginary parts of the ``M`` kept coefficients (fourier);
    ``noise_sigma`` ``(n,)`` float32. Shared: ``kernel`` ``(k, k)`` (blur) or ``mask`` ``(p, p)`` bool (fourier).
    ``measured`` is exactly ``operator.forward(clean) + noise`` (float64, then rounded to float32).
    """

    name = "image_patches"

    def __init__(
        self,
        patch_size: int = 64,
        sources: Sequence[str] = ("camera", "phantom", "synthetic"),
        operator: str = "denoise",
        noise_sigma: float | list[float] = 0.1,
        blur_sigma: float = 1.0,
        kernel_size: int | None = None,
        sampling_fraction: float = 0.25,
        center_fraction: float = 0.08,
        mask_seed: int = 0,
        augment: bool = True,
        min_patch_std: float = 0.02,
    ) -> None:
        sources = list(sources)
        if not sources or any(source not in SOURCES for source in sources):
            raise ValueError(f"sources must be a non-empty list of {SOURCES}, got {sources}")
        if operator not in OPERATORS:
            raise ValueError(f"operator must be one of {OPERATORS}, got {operator!r}")
        limits = {"camera": 512, "phantom": 400, "faces": 25}
        too_small = [source for source in sources if patch_size > limits.get(source, patch_size)]
        if patch_size < 2 or too_small:
            raise ValueError(f"patch_size {patch_size} does not fit the source images {too_small} (faces: p ≤ 25)")
        sigmas = np.atleast_1d(np.asarray(noise_sigma, dtype=float))
        if sigmas.size not in (1, 2) or not (sigmas >= 0).all() or sigmas[0] > sigmas[-1]:
            raise ValueError(f"noise_sigma must be a non-negative float or a pair [low, high], got {noise_sigma}")
        self.patch_size, self.sources, self.operator, self.noise_sigma = patch_size, sources, operator, noise_sigma
        self.blur_sigma, self.kernel_size = blur_sigma, kernel_size
        self.sampling_fraction, self.center_fraction, self.mask_seed = sampling_fraction, center_fraction, mask_seed
        self.augment, self.min_patch_std = augment, min_patch_std
        self._sigma_range = (sigmas[0], sigmas[-1])
        self._forward = self.forward_operator()
        self._positions: dict[str, np.ndarray] = {}

    def forward_operator(self) -> ForwardOperator:
        """The operator ``A`` of the measurements."""
        if self.operator == "blur":
            return GaussianBlur(self.blur_sigma, self.kernel_size)
        if self.operator == "fourier":
            shape = (self.patch_size, self.patch_size)
            mask = random_mask(shape, self.sampling_fraction, np.random.default_rng(self.mask_seed), self.center_fraction)
            return SubsampledFourier(mask)
        return Identity()

    def _valid_positions(self, source: str) -> np.ndarray:
        """Flat indices into ``(N, H − p + 1, W − p + 1)`` of the windows with std ≥ ``min_patch_std``."""
        if source not in self._positions:
            stack, p = load_source(source), self.patch_size
            windows = []
            for power in (1, 2):  # window sums of x and x² by summed-area tables
                table = np.pad(np.cumsum(np.cumsum(stack**power, axis=1), axis=2), ((0, 0), (1, 0), (1, 0)))
                windows.append(table[:, p:, p:] - table[:, :-p, p:] - table[:, p:, :-p] + table[:, :-p, :-p])
            variance = windows[1] / p**2 - (windows[0] / p**2) ** 2
            valid = np.flatnonzero(variance >= self.min_patch_std**2)
            if valid.size == 0:
                raise ValueError(f"no {p}² patch of {source!r} has a standard deviation ≥ {self.min_patch_std}")
            self._positions[source] = valid
        return self._positions[source]

    def _crop(self, source: str, count: int, rng: np.random.Generator) -> np.ndarray:
        stack, p = load_source(source), self.patch_size
        picks = rng.choice(self._valid_positions(source), size=count)
        image, top, left = np.unravel_index(picks, (stack.shape[0], stack.shape[1] - p + 1, stack.shape[2] - p + 1))
        offsets = np.arange(p)
        return stack[image[:, None, None], top[:, None, None] + offsets[:, None], left[:, None, None] + offsets]

    def _measure(self, clean: np.ndarray) -> np.ndarray:
        """``A x`` in float64 as a real array: ``(n, p, p)`` or ``(n, M, 2)``."""
        values = self._forward.forward(torch.from_numpy(clean.astype(np.float64)))
        return (torch.view_as_real(values) if values.is_complex() else values).numpy()

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        p = self.patch_size
        choice = rng.integers(len(self.sources), size=num_samples)
        clean = np.empty((num_samples, p, p))
        for index, source in enumerate(self.sources):
            chosen = np.flatnonzero(choice == index)
            if source == "synthetic":
                clean[chosen] = synthetic_images(chosen.size, p, rng)
            else:
                clean[chosen] = self._crop(source, chosen.size, rng)
        if self.augment:
            transform = rng.integers(8, size=num_samples)
            for t in range(8):
                chosen = np.flatnonzero(transform == t)
                flipped = clean[chosen, :, ::-1] if t >= 4 else clean[chosen]
                clean[chosen] = np.rot90(flipped, t % 4, axes=(1, 2))
        clean = clean.astype(np.float32)
        sigma = rng.uniform(*self._sigma_range, num_samples)
        exact = self._measure(clean)
        noise = sigma.reshape(-1, *[1] * (exact.ndim - 1)) * rng.standard_normal(exact.shape)
        return {"clean": clean, "measured": (exact + noise).astype(np.float32), "noise_sigma": sigma.astype(np.float32)}

    def shared(self) -> dict[str, np.ndarray]:
        if isinstance(self._forward, GaussianBlur):
            return {"kernel": self._forward.kernel}
        if isinstance(self._forward, SubsampledFourier):
            return {"mask": self._forward.mask.numpy()}
        return {}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Clean in [0, 1]; ``|RMS((measured − A clean)/σ) − 1| ≤ 0.1`` per sample with ≥ 4000 values,
        else pooled over the shard (skipped below 4000); noise-free samples equal ``A clean`` to 1e-6."""
        clean = arrays["clean"].astype(np.float64)
        outside = np.maximum(np.maximum(-clean, clean - 1.0), 0.0).reshape(len(clean), -1).max(axis=1, initial=0.0)
        worst = self._bounded(outside, "clean intensity outside [0, 1] by", 0.0)
        exact = self._measure(arrays["clean"])
        residual = (arrays["measured"].astype(np.float64) - exact).reshape(len(clean), -1)
        sigma = arrays["noise_sigma"].astype(np.float64)
        noiseless = sigma == 0
        scale = 1.0 + np.abs(exact.reshape(len(clean), -1)[noiseless])
        errors = np.abs(residual[noiseless]) / scale
        worst = max(worst, self._bounded(errors.ravel(), "noise-free measured − A clean", 1e-6))
        z = residual[~noiseless] / sigma[~noiseless, None]
        if z.shape[1] >= MIN_VALUES:
            deviation = np.abs(np.sqrt(np.mean(z**2, axis=1)) - 1.0)
        elif z.size >= MIN_VALUES:
            deviation = np.array([abs(np.sqrt(np.mean(z**2)) - 1.0)])
        else:
            return worst
        return max(worst, self._bounded(deviation, "relative error of the noise RMS in measured − A clean", 0.1))
