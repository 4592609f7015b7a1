"""Proximal splitting (``pgd``, ``admm``), proximal operators (classical and learned) and the
imaging forward operators they solve with."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
