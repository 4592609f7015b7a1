"""Gaussian random fields on [0, 1]^d, vectorized over samples (numpy, float64).

* [`RBFField`][neuralsolvers.data_gen.grf.RBFField]: squared-exponential covariance ``σ² exp(−|x − y|² / 2l²)`` (scikit-learn's RBF
  convention, used for the DeepONet benchmarks), 1D or on a 2D tensor grid.
* [`SpectralField`][neuralsolvers.data_gen.grf.SpectralField]: periodic field with covariance operator ``σ² (−Δ + τ² I)^(−α)``, sampled
  by FFT: the Darcy input distribution of the FNO code (``GaussianRF(2, s, alpha=2, tau=3)``). The
  paper's released Darcy data came from a MATLAB variant (Neumann boundaries, cosine series,
  ``π²|k|²``), which is not the same distribution.
* [`threshold_field`][neuralsolvers.data_gen.grf.threshold_field], [`lognormal_field`][neuralsolvers.data_gen.grf.lognormal_field]: coefficients ``a(x)`` built from a field.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RBFField", "SpectralField", "lognormal_field", "rbf_kernel", "threshold_field"]


def rbf_kernel(x: np.ndarray, y: np.ndarray, length_scale: float, variance: float = 1.0) -> np.ndarray:
    """Squared-exponential kernel ``variance · exp(−|x − y|² / (2 l²))`` (scikit-learn's RBF).

    x ``(n, d)`` or ``(n,)``, y ``(k, d)`` or ``(k,)`` → ``(n, k)``; ``length_scale`` ``l`` is in the
    units of the coordinates, ``variance`` in squared field units.
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    squared = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return variance * np.exp(-squared / (2.0 * length_scale**2))


class RBFField:
    """Zero-mean GRF with squared-exponential covariance on a grid of [0, 1]^dim (dim 1 or 2).

    The square-root factor of the 1D kernel matrix is computed once per point set and cached.

    Args:
        length_scale: ``l`` (same units as the coordinates, e.g. 0.2 of the unit interval).
        variance: pointwise variance ``σ²``.
        dim: 1 (points on a line) or 2 (tensor-product grid of the given 1D points).
    """

    def __init__(self, length_scale: float, variance: float = 1.0, dim: int = 1) -> None:
        if not length_scale > 0:
            raise ValueError(f"length_scale must be positive, got {length_scale}")
        if not variance > 0:
            raise ValueError(f"variance must be positive, got {variance}")
        if dim not in (1, 2):
            raise ValueError(f"dim must be 1 or 2, got {dim}")
        self.length_scale, self.variance, self.dim = length_scale, variance, dim
        self._factors: dict[bytes, np.ndarray] = {}

    def _factor(self, points: np.ndarray) -> np.ndarray:
        """A square root ``L = V √Λ₊`` of the 1D kernel matrix ``K = V Λ Vᵀ`` (eigenvalues clipped at
        0, so a numerically singular ``K``, e.g. l = 0.2 on 1000+ points, is fine): ``L Lᵀ ≈ K``."""
        key = points.tobytes()
        if key not in self._factors:
            variance = 1.0 if self.dim == 2 else self.variance
            eigenvalues, vectors = np.linalg.eigh(rbf_kernel(points, points, self.length_scale, variance))
            self._factors[key] = vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
        return self._factors[key]

    def sample(self, num_samples: int, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw fields at ``points`` ``(n,)``: → ``(num_samples, n)`` in 1D, ``(num_samples, n, n)`` in 2D.

        In 2D the field is on the tensor grid ``field[s, i, j] = f(points[i], points[j])``; the kernel
        is separable (``K = K₁ ⊗ K₁``), so ``F = L Z Lᵀ`` with ``Z`` white noise.
        """
        points = np.asarray(points, dtype=float).reshape(-1)
        factor = self._factor(points)
        n = len(points)
        if self.dim == 1:
            return rng.standard_normal((num_samples, n)) @ factor.T
        noise = rng.standard_normal((num_samples, n, n))
        return np.sqrt(self.variance) * (factor @ noise @ factor.T)


class SpectralField:
    """Periodic GRF on a grid of ``size`` (or ``size × size``) points ``j / N`` of [0, 1), by FFT.

    Covariance operator ``C = σ² (−Δ + τ² I)^(−α)``: the Fourier mode with integer wavenumber ``k``
    (``np.fft.fftfreq(N, 1/N)`` per axis) has ``λ_k = σ² (4π²|k|² + τ²)^(−α)``; the ``k = 0`` mode
    is removed, so every sample has zero spatial mean. With the default ``σ = τ^(α − d/2)`` this is
    the FNO ``GaussianRF(d, N, alpha, tau)`` (Li et al. 2021). Convention: the grid field is
    ``f = Re(IDFT(N^d √λ ξ))`` (``IDFT`` = ``np.fft.ifftn``, which divides by ``N^d``) with ``ξ``
    complex white noise whose real and imaginary parts are independent N(0, 1): the same as FNO's
    ``sqrt(2)``-scaled ``torch.randn(..., dtype=cfloat)``. Hence ``f(x) = Σ_k √λ_k Re(ξ_k e^{2πik·x})``
    and ``Cov(f(x), f(x + Δ)) = c(Δ) = Σ_k λ_k cos(2π k·Δ)``, exactly what `covariance` returns.

    Args:
        size: grid points per dimension ``N``.
        dim: 1 or 2.
        alpha: smoothness ``α``.
        tau: inverse length scale ``τ``.
        sigma: amplitude ``σ``; default ``τ^(α − d/2)``.
    """

    def __init__(
        self, size: int, dim: int = 2, alpha: float = 2.0, tau: float = 3.0, sigma: float | None = None
    ) -> None:
        if int(size) != size or size < 2:
            raise ValueError(f"size must be an integer of at least 2, got {size}")
        if dim not in (1, 2):
            raise ValueError(f"dim must be 1 or 2, got {dim}")
        if not (alpha > 0 and tau > 0):
            raise ValueError(f"alpha and tau must be positive, got alpha={alpha}, tau={tau}")
        if sigma is not None and not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.size, self.dim, self.alpha, self.tau = int(size), dim, alpha, tau
        self.sigma = tau ** (0.5 * (2 * alpha - dim)) if sigma is None else sigma

    def eigenvalues(self) -> np.ndarray:
        """Mode variances ``λ_k`` on the FFT frequency grid: ``(N,)`` or ``(N, N)``."""
        k = np.fft.fftfreq(self.size, d=1.0 / self.size)
        grids = np.meshgrid(*([k] * self.dim), indexing="ij")
        squared = sum(g**2 for g in grids)
        values = self.sigma**2 * (4 * np.pi**2 * squared + self.tau**2) ** (-self.alpha)
        values[(0,) * self.dim] = 0.0
        return values

    def sample(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Draw fields at the grid points: → ``(num_samples, N)`` or ``(num_samples, N, N)``.

        In 2D ``field[s, i, j] = f(i / N, j / N)``. Consumes ``2 · num_samples · N^d`` normals of ``rng``.
        """
        shape = (num_samples,) + (self.size,) * self.dim
        noise = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        coefficients = self.size**self.dim * np.sqrt(self.eigenvalues()) * noise
        axes = tuple(range(1, self.dim + 1))
        return np.fft.ifftn(coefficients, axes=axes).real

    def covariance(self) -> np.ndarray:
        """Exact covariance ``c[Δ] = Cov(f(x), f(x + Δ/N))`` for grid offsets ``Δ``: ``(N,)`` or ``(N, N)``.

        ``c[0]`` (``c[0, 0]``) is the pointwise variance ``Σ_k λ_k``.
        """
        return self.size**self.dim * np.fft.ifftn(self.eigenvalues()).real


def threshold_field(field: np.ndarray, high: float = 12.0, low: float = 3.0, level: float = 0.0) -> np.ndarray:
    """Piecewise-constant coefficient of the FNO Darcy benchmark: ``high`` where field ≥ level, else ``low``."""
    return np.where(field >= level, high, low)


def lognormal_field(field: np.ndarray, mean: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Smooth positive coefficient ``exp(mean + scale · field)``."""
    return np.exp(mean + scale * field)
