"""Evaluation: learned against classical methods on the same held-out data; tables, plots, W&B, one
shared run template (`Evaluation`, `Outcome`). Every name is imported on first use.

`PreconditionerEvaluation` and `NeuralOperatorSolverEvaluation` are the old names of `DCDMEvaluation`
and `OperatorSolverEvaluation`: configs naming them still load, with a `DeprecationWarning`, for one
release.
"""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__, renamed={'PreconditionerEvaluation': 'DCDMEvaluation', 'NeuralOperatorSolverEvaluation': 'OperatorSolverEvaluation'})
