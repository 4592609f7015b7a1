"""Learned networks inside solvers: field preconditioners (``FieldPreconditioner``, ``NetworkWrapping``),
the DCDM iteration, the hybrid network + Krylov solver, a smoothed two-level wrap, the
classical fallback, and the registry of learned-preconditioner kinds (``kinds``: ``field``,
``neural_multigrid``, ``matrix``) that ``neuralsolvers.load_preconditioner`` builds from."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
