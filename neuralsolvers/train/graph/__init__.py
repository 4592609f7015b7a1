"""Graph fixed-point learning (CGS, GNN baseline): the module and its data module."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "GraphDataModule": ".data",
    "GraphModule": ".module",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
