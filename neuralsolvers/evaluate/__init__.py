"""Evaluation: learned against classical methods on the same held-out data; tables, plots, W&B, one
shared run template (`Evaluation`, `Outcome`). Every name is imported on first use.

`PreconditionerEvaluation` and `NeuralOperatorSolverEvaluation` are the old names of `DCDMEvaluation`
and `OperatorSolverEvaluation`: configs naming them still load, with a `DeprecationWarning`, for one
release.
"""

import warnings
from typing import Any

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "Comparison": ".comparison",
    "DCDMEvaluation": ".dcdm",
    "Evaluation": ".base",
    "GraphEvaluation": ".graph",
    "HiddenTermDiscovery": ".hidden_terms",
    "InverseProblemEvaluation": ".inverse_problems",
    "Method": ".methods",
    "MovingObstacleEvaluation": ".moving_obstacle",
    "NeuralMultigridEvaluation": ".neural_multigrid",
    "OperatorEvaluation": ".operator",
    "OperatorSolverEvaluation": ".operator_solvers",
    "Outcome": ".base",
    "PINNEvaluation": ".pinn",
    "ProximalToyEvaluation": ".proximal_toy",
    "RelaxationEvaluation": ".relaxation",
    "Report": ".report",
}
RENAMED = {"PreconditionerEvaluation": "DCDMEvaluation", "NeuralOperatorSolverEvaluation": "OperatorSolverEvaluation"}  # old → new, for one release
__all__ = sorted(_EXPORTS)
_exported, __dir__ = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str) -> Any:
    if name in RENAMED:
        warnings.warn(f"neuralsolvers.evaluate.{name} is now {RENAMED[name]}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)  # fmt: skip
        return _exported(RENAMED[name])
    return _exported(name)
