"""Learned proximal networks (proximal matching): the module, its data module and its loss."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
