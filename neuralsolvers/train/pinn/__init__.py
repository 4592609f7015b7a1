"""Physics-informed training (PINN variants; problems, loss balancing and hard constraints come
from ``neuralsolvers.physics``): the module and its data module."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "PINNDataModule": ".data",
    "PINNModule": ".module",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
