"""Physics-informed training (PINN variants; problems, loss balancing and hard constraints come
from ``neuralsolvers.physics``): the module and its data module."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
