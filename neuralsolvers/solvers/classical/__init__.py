"""Classical preconditioners and relaxation: Jacobi, IC(0), SOR/SSOR and the triangular solves
they share."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "ic0_factor": ".ic0",
    "IncompleteCholesky": ".ic0",
    "Jacobi": ".jacobi",
    "LevelScheduledTriangular": ".triangular",
    "matrix_colors": ".relaxation",
    "sor": ".relaxation",
    "SORSplitting": ".relaxation",
    "SSOR": ".relaxation",
    "TriangularSolver": ".triangular",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
