"""Learned networks inside solvers: field preconditioners (``FieldPreconditioner``, ``NetworkWrapping``),
the DCDM iteration, the hybrid network + Krylov solver, a smoothed two-level wrap and the
classical fallback."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "dcdm": ".dcdm_solver",
    "dcdm_preconditioner": ".dcdm_solver",
    "dcdm_wrapping": ".dcdm_solver",
    "FieldPreconditioner": ".field_preconditioner",
    "hybrid": ".hybrid_solver",
    "NetworkWrapping": ".field_preconditioner",
    "SmoothedPreconditioner": ".smoothed",
    "with_fallback": ".fallback",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
