"""Evaluation: learned against classical methods on the same held-out data; tables, plots, W&B."""

from neuralsolvers.evaluate.base import Evaluation
from neuralsolvers.evaluate.graph import GraphEvaluation
from neuralsolvers.evaluate.hidden_terms import HiddenTermDiscovery
from neuralsolvers.evaluate.inverse_problems import InverseProblemEvaluation
from neuralsolvers.evaluate.moving_obstacle import MovingObstacleEvaluation
from neuralsolvers.evaluate.neural_multigrid import NeuralMultigridEvaluation
from neuralsolvers.evaluate.neural_solvers import NeuralOperatorSolverEvaluation
from neuralsolvers.evaluate.operator import OperatorEvaluation
from neuralsolvers.evaluate.pinn import PINNEvaluation
from neuralsolvers.evaluate.preconditioner import PreconditionerEvaluation
from neuralsolvers.evaluate.proximal_toy import ProximalToyEvaluation
from neuralsolvers.evaluate.relaxation import RelaxationEvaluation
from neuralsolvers.evaluate.report import Report

__all__ = ["Evaluation", "GraphEvaluation", "HiddenTermDiscovery", "InverseProblemEvaluation", "MovingObstacleEvaluation", "NeuralMultigridEvaluation", "NeuralOperatorSolverEvaluation", "OperatorEvaluation", "PINNEvaluation", "PreconditionerEvaluation", "ProximalToyEvaluation", "RelaxationEvaluation", "Report"]
