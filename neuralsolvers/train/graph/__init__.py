"""Graph fixed-point learning (CGS, GNN baseline): the module and its data module."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
