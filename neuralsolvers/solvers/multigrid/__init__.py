"""Multigrid preconditioners: algebraic (``AMG``: PyAMG hierarchy, torch V-cycle), geometric
(``GeometricMultigrid``: matrix-free, McAdams-style) and the learned, SPD neural multigrid cycle; the
geometric cycles' options are one ``CycleOptions``."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
