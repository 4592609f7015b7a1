"""Nonlinear problems: fixed-point iteration, Levenberg–Marquardt least squares (and its
differentiable layer), sparse regression of formulas (STLSQ)."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "fixed_point": ".fixed_point_iteration",
    "formulas": ".sparse_regression",
    "least_squares_layer": ".least_squares",
    "LeastSquaresResult": ".least_squares",
    "levenberg_marquardt": ".least_squares",
    "polynomial_library": ".sparse_regression",
    "stlsq": ".sparse_regression",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
