"""Supervised operator learning (DeepONet, MgNO, FNO) and physics-informed operator learning: the
modules and their data module."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
