"""Names of `neuralsolvers.evaluate`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .base import (
    Evaluation as Evaluation,
)
from .base import (
    Outcome as Outcome,
)
from .comparison import (
    Comparison as Comparison,
)
from .dcdm import (
    DCDMEvaluation as DCDMEvaluation,
)
from .finite_elements import (
    FiniteElementEvaluation as FiniteElementEvaluation,
)
from .graph import (
    GraphEvaluation as GraphEvaluation,
)
from .hidden_terms import (
    HiddenTermDiscovery as HiddenTermDiscovery,
)
from .inverse_problems import (
    InverseProblemEvaluation as InverseProblemEvaluation,
)
from .methods import (
    Method as Method,
)
from .moving_obstacle import (
    MovingObstacleEvaluation as MovingObstacleEvaluation,
)
from .neural_multigrid import (
    NeuralMultigridEvaluation as NeuralMultigridEvaluation,
)
from .operator import (
    OperatorEvaluation as OperatorEvaluation,
)
from .operator_solvers import (
    OperatorSolverEvaluation as OperatorSolverEvaluation,
)
from .pinn import (
    PINNEvaluation as PINNEvaluation,
)
from .proximal_toy import (
    ProximalToyEvaluation as ProximalToyEvaluation,
)
from .relaxation import (
    RelaxationEvaluation as RelaxationEvaluation,
)
from .report import (
    Report as Report,
)

__all__ = [
    'Comparison', 'DCDMEvaluation', 'Evaluation', 'FiniteElementEvaluation', 'GraphEvaluation', 'HiddenTermDiscovery',
    'InverseProblemEvaluation', 'Method', 'MovingObstacleEvaluation', 'NeuralMultigridEvaluation',
    'OperatorEvaluation', 'OperatorSolverEvaluation', 'Outcome', 'PINNEvaluation',
    'ProximalToyEvaluation', 'RelaxationEvaluation', 'Report',
]
