"""Classical preconditioners and relaxation: Jacobi, IC(0), SOR/SSOR and the triangular solves
they share."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
