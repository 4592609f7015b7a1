"""Problem-instance generators and the sharded HDF5 store (numpy/scipy; no training code). Every name is imported on first use."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
