"""Linear forward operators of imaging inverse problems, with exact adjoints (torch).

Every operator acts on real images over the last two dimensions, ``(..., H, W)`` (e.g. ``(B, H, W)``
or ``(B, 1, H, W)``), in float32 or float64 on any device; the adjoint is exact for the real inner
product (complex measurements count as pairs of reals: ``⟨u, v⟩ = Re Σ ū v``), so
``⟨A x, y⟩ = ⟨x, Aᵀ y⟩`` holds to rounding. ``norm_squared()`` is the exact ``‖AᵀA‖₂``.

* ``Identity``: denoising, ``A = I``.
* ``GaussianBlur``: circular (periodic-boundary) convolution with a normalized Gaussian kernel,
  applied by FFT; the adjoint multiplies by the conjugate transfer function (correlation with the
  kernel under the same periodic boundary).
* ``SubsampledFourier``: orthonormal 2D DFT, then the frequencies where ``mask`` is True (unshifted
  ``np.fft.fftfreq`` order, DC at ``[0, 0]``); measurements are complex ``(..., M)``, ``M = mask.sum()``.
  ``random_mask`` draws compressed-sensing masks with a fully sampled low-frequency centre.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import torch

__all__ = ["ForwardOperator", "GaussianBlur", "Identity", "SubsampledFourier", "gaussian_kernel", "random_mask"]


class ForwardOperator(ABC):
    """A linear map ``A`` from real images ``(..., H, W)`` to measurements, with its adjoint ``Aᵀ``."""

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``A x`` of real images ``x`` ``(..., H, W)``."""

    @abstractmethod
    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """``Aᵀ y``: real images ``(..., H, W)`` from measurements ``y``."""

    @abstractmethod
    def norm_squared(self) -> float:
        """``‖AᵀA‖₂ = ‖A‖₂²``, exact: the Lipschitz constant of the gradient of ``½‖A x − y‖²``."""

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """``AᵀA x``, ``(..., H, W)``."""
        return self.adjoint(self.forward(x))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)


class Identity(ForwardOperator):
    """``A = I`` (denoising): measurements are images ``(..., H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def norm_squared(self) -> float:
        return 1.0


def gaussian_kernel(sigma: float, kernel_size: int) -> np.ndarray:
    """Normalized ``(k, k)`` Gaussian ``∝ exp(−(i² + j²) / 2σ²)``, ``i, j ∈ [−r, r]``, ``k = 2r + 1`` (float64).

    ``sigma`` is in pixels; the entries sum to 1.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
    offsets = np.arange(kernel_size) - kernel_size // 2
    profile = np.exp(-(offsets**2) / (2.0 * sigma**2))
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


class GaussianBlur(ForwardOperator):
    """Circular convolution ``(A x)[m, n] = Σᵢⱼ k[i, j] x[(m − i) mod H, (n − j) mod W]`` with a Gaussian ``k``.

    ``k`` is ``gaussian_kernel`` (indices ``i, j`` centred on 0); periodic boundary, so the
    operator is diagonal in Fourier space and ``Aᵀ`` multiplies by the conjugate transfer function.
    Measurements are images ``(..., H, W)`` with ``H, W ≥ kernel_size``.

    Args:
        sigma: standard deviation of the kernel in pixels.
        kernel_size: odd side of the kernel; default ``2⌈3σ⌉ + 1``.
    """

    def __init__(self, sigma: float = 1.0, kernel_size: int | None = None) -> None:
        self.sigma = sigma
        self.kernel_size = 2 * math.ceil(3 * sigma) + 1 if kernel_size is None else kernel_size
        self.kernel = gaussian_kernel(sigma, self.kernel_size)
        self._transfers: dict[tuple, torch.Tensor] = {}

    def transfer_function(self, shape: tuple[int, int]) -> np.ndarray:
        """The kernel's DFT on an ``(H, W)`` grid, ``(H, W)`` complex128 (unshifted frequency order)."""
        height, width = shape
        if min(height, width) < self.kernel_size:
            raise ValueError(f"images {shape} are smaller than the {self.kernel_size}² blur kernel")
        psf = np.zeros((height, width))
        psf[: self.kernel_size, : self.kernel_size] = self.kernel
        shift = self.kernel_size // 2
        return np.fft.fft2(np.roll(psf, (-shift, -shift), axis=(0, 1)))

    def _transfer(self, x: torch.Tensor) -> torch.Tensor:
        """The half-spectrum (``rfft2`` layout) transfer function for ``x``'s grid, dtype and device."""
        key = (*x.shape[-2:], x.dtype, x.device)
        if key not in self._transfers:
            width = x.shape[-1]
            half = self.transfer_function(tuple(x.shape[-2:]))[:, : width // 2 + 1]
            complex_dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
            self._transfers[key] = torch.as_tensor(half, dtype=complex_dtype, device=x.device)
        return self._transfers[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spectrum = torch.fft.rfft2(x) * self._transfer(x)
        return torch.fft.irfft2(spectrum, s=x.shape[-2:])

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        spectrum = torch.fft.rfft2(y) * self._transfer(y).conj()
        return torch.fft.irfft2(spectrum, s=y.shape[-2:])

    def norm_squared(self) -> float:
        """``max |k̂|² = 1`` on every grid: ``|k̂(ω)| ≤ Σ k = 1`` (``k ≥ 0``), with equality at ``ω = 0``."""
        return 1.0


class SubsampledFourier(ForwardOperator):
    """``A x = (F x)[mask]``: orthonormal 2D DFT ``F`` of ``(..., H, W)``, kept where ``mask`` ``(H, W)`` is True.

    Measurements are complex ``(..., M)`` in row-major order of the mask's True entries (stored data
    as ``(..., M, 2)`` real/imaginary pairs: ``torch.view_as_complex`` / ``torch.view_as_real``).
    ``Aᵀ y = Re(F⁻¹ zero-fill(y))``. With a full mask ``A`` is unitary.
    """

    def __init__(self, mask: np.ndarray | torch.Tensor) -> None:
        mask = torch.as_tensor(mask, dtype=torch.bool).cpu()
        if mask.ndim != 2 or not mask.any():
            raise ValueError(f"mask must be a 2D boolean array with some True entry, got shape {tuple(mask.shape)}")
        self.mask = mask
        self._masks: dict[torch.device, torch.Tensor] = {}

    def _mask(self, device: torch.device) -> torch.Tensor:
        if device not in self._masks:
            self._masks[device] = self.mask.to(device)
        return self._masks[device]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != tuple(self.mask.shape):
            raise ValueError(f"images {tuple(x.shape[-2:])} do not match the mask {tuple(self.mask.shape)}")
        return torch.fft.fft2(x, norm="ortho")[..., self._mask(x.device)]

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        mask = self._mask(y.device)
        filled = torch.zeros((*y.shape[:-1], *mask.shape), dtype=y.dtype, device=y.device)
        filled[..., mask] = y
        return torch.fft.ifft2(filled, norm="ortho").real

    def norm_squared(self) -> float:
        """Exact: for real ``x``, ``AᵀA = F⁻¹ diag((m(k) + m(−k)) / 2) F``, so ``max_k (m(k) + m(−k)) / 2``.

        1 when some frequency is kept together with its mirror (always, if DC is kept), else ½.
        """
        mask = self.mask.double()
        mirrored = torch.roll(torch.flip(mask, (0, 1)), (1, 1), (0, 1))  # m(−k) on the DFT grid
        return float(((mask + mirrored) / 2).max())


def random_mask(
    shape: tuple[int, int], fraction: float, rng: np.random.Generator, center_fraction: float = 0.08
) -> np.ndarray:
    """Random sampling mask ``(H, W)`` bool in unshifted DFT order (DC at ``[0, 0]``).

    The low frequencies ``|k_y| ≤ ⌈c H⌉ // 2``, ``|k_x| ≤ ⌈c W⌉ // 2`` (``c = center_fraction``: a block of
    about ``c H × c W`` centred on DC; DC alone for ``c = 0``) are all kept; the rest of ``round(fraction · H · W)`` kept entries are drawn uniformly without replacement
    from the other frequencies. The centre alone may exceed ``fraction``; it is then the whole mask.
    """
    if not 0 < fraction <= 1 or not 0 <= center_fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1] and center_fraction in [0, 1], got {fraction}, {center_fraction}")
    height, width = shape
    rows = np.abs(np.fft.fftfreq(height, 1.0 / height)) <= math.ceil(center_fraction * height) // 2
    cols = np.abs(np.fft.fftfreq(width, 1.0 / width)) <= math.ceil(center_fraction * width) // 2
    mask = rows[:, None] & cols[None, :]
    remaining = round(fraction * height * width) - int(mask.sum())
    if remaining > 0:
        candidates = np.flatnonzero(~mask)
        mask.flat[rng.choice(candidates, size=remaining, replace=False)] = True
    return mask
