"""Nonlinear problems: fixed-point iteration, Levenberg–Marquardt least squares (and its
differentiable layer), sparse regression of formulas (STLSQ)."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
