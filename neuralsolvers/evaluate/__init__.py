"""Evaluation: learned against classical methods on the same held-out data; tables, plots, W&B, one
shared run template (:class:`Evaluation`, :class:`Outcome`). Every name is imported on first use."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "Comparison": ".base",
    "Evaluation": ".base",
    "GraphEvaluation": ".graph",
    "HiddenTermDiscovery": ".hidden_terms",
    "InverseProblemEvaluation": ".inverse_problems",
    "MovingObstacleEvaluation": ".moving_obstacle",
    "NeuralMultigridEvaluation": ".neural_multigrid",
    "NeuralOperatorSolverEvaluation": ".neural_solvers",
    "OperatorEvaluation": ".operator",
    "Outcome": ".base",
    "PINNEvaluation": ".pinn",
    "PreconditionerEvaluation": ".preconditioner",
    "ProximalToyEvaluation": ".proximal_toy",
    "RelaxationEvaluation": ".relaxation",
    "Report": ".report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
