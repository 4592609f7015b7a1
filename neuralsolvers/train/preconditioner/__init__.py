"""Learned preconditioners, trained without solutions: DCDM on Krylov vectors, and one module for
every learned preconditioner of an operator (the neural multigrid on random scenes, the learned AMG
and learned IC on sparse matrices); the modules, their data modules and their losses."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__, hidden={'PreconditionerModule': '.dcdm'}, renamed={'NeuralMultigridModule': 'LearnedPreconditionerModule'})
