"""Neural network models (plain ``torch.nn.Module``; no Lightning, no W&B). Every name is imported on first use."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
