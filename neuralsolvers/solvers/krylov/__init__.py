"""Krylov methods: conjugate gradients (``cg``, the flexible ``fcg``), ``gmres`` and ``bicgstab``; one
signature, SciPy in and SciPy out, one ``SolverResult`` (defined in ``neuralsolvers.solvers.result``)."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
