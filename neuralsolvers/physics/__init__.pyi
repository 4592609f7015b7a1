"""Names of `neuralsolvers.physics`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .hard_constraint import (
    HardConstraint as HardConstraint,
)
from .loss_balancing import (
    FixedWeights as FixedWeights,
)
from .loss_balancing import (
    LearningRateAnnealing as LearningRateAnnealing,
)
from .loss_balancing import (
    LossBalancing as LossBalancing,
)
from .losses import (
    LOSSES as LOSSES,
)
from .losses import (
    OperatorLoss as OperatorLoss,
)
from .losses import (
    relative_l2 as relative_l2,
)
from .pinn_hidden import (
    LotkaVolterraHidden as LotkaVolterraHidden,
)
from .pinn_hidden import (
    ReactionDiffusionHidden as ReactionDiffusionHidden,
)
from .pinn_lagrangian import (
    LagrangianTransport as LagrangianTransport,
)
from .pinn_problems import (
    CollocationSampler as CollocationSampler,
)
from .pinn_problems import (
    Convection as Convection,
)
from .pinn_problems import (
    Helmholtz2D as Helmholtz2D,
)
from .pinn_problems import (
    KleinGordon as KleinGordon,
)
from .pinn_problems import (
    PDEProblem as PDEProblem,
)
from .pinn_problems import (
    Poisson1D as Poisson1D,
)
from .pinn_problems import (
    derivative as derivative,
)
from .pinn_problems import (
    first_output as first_output,
)
from .pinn_problems import (
    standardize as standardize,
)
from .sorption import (
    DiffusionSorption1D as DiffusionSorption1D,
)

__all__ = [
    'CollocationSampler', 'Convection', 'derivative', 'DiffusionSorption1D', 'first_output',
    'FixedWeights', 'HardConstraint', 'Helmholtz2D', 'KleinGordon', 'LagrangianTransport',
    'LearningRateAnnealing', 'LossBalancing', 'LOSSES', 'LotkaVolterraHidden', 'OperatorLoss',
    'PDEProblem', 'Poisson1D', 'ReactionDiffusionHidden', 'relative_l2', 'standardize',
]
