"""Multigrid preconditioners: algebraic (``AMG``: PyAMG hierarchy, torch V-cycle), geometric
(``GeometricMultigrid``: matrix-free, McAdams-style) and the learned, SPD neural multigrid cycle; the
geometric cycles' options are one ``CycleOptions``."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "AMG": ".amg",
    "coarsen": ".geometric",
    "CycleOptions": ".cycle",
    "GeometricMultigrid": ".geometric",
    "NeuralMultigridPreconditioner": ".neural",
    "prolong": ".geometric",
    "restrict": ".geometric",
    "stencil_features": ".neural",
    "StencilLayout": ".neural",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
