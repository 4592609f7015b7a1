"""Krylov methods: conjugate gradients (``cg``, the flexible ``fcg``), ``gmres`` and ``bicgstab``; one
signature, SciPy in and SciPy out, one ``SolverResult`` (defined in ``neuralsolvers.solvers.result``)."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "bicgstab": ".nonsymmetric",
    "cg": ".conjugate_gradient",
    "fcg": ".conjugate_gradient",
    "gmres": ".nonsymmetric",
    "SolverResult": "neuralsolvers.solvers.result",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
