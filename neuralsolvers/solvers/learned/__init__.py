"""Learned networks inside solvers: field preconditioners (``FieldPreconditioner``, ``NetworkWrapping``),
the DCDM iteration, the hybrid network + Krylov solver, a smoothed two-level wrap and the
classical fallback."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
