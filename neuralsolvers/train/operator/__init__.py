"""Supervised operator learning (DeepONet, MgNO, FNO) and physics-informed operator learning: the
modules and their data module."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "OperatorDataModule": ".data",
    "OperatorModule": ".module",
    "PhysicsOperatorModule": ".physics",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
