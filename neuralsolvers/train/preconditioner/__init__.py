"""Learned preconditioners, trained without solutions: DCDM on Krylov vectors and the neural
multigrid on random scenes; the modules, their data modules and their losses."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__, hidden={'PreconditionerModule': '.dcdm'})
