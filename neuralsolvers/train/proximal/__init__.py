"""Learned proximal networks (proximal matching): the module, its data module and its loss."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "ProximalDataModule": ".data",
    "ProximalModule": ".module",
    "proximal_matching_loss": ".losses",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
