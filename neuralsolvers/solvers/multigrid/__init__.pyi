"""Names of `neuralsolvers.solvers.multigrid`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .amg import (
    AMG as AMG,
)
from .cycle import (
    CycleOptions as CycleOptions,
)
from .galerkin import (
    BoxStencil as BoxStencil,
)
from .galerkin import (
    GridTransfer as GridTransfer,
)
from .galerkin import (
    galerkin_operator as galerkin_operator,
)
from .galerkin import (
    interpolation_weights as interpolation_weights,
)
from .geometric import (
    GeometricMultigrid as GeometricMultigrid,
)
from .geometric import (
    coarsen as coarsen,
)
from .geometric import (
    prolong as prolong,
)
from .geometric import (
    restrict as restrict,
)
from .hierarchy import (
    Level as Level,
)
from .hierarchy import (
    MultilevelHierarchy as MultilevelHierarchy,
)
from .learned_amg import (
    CoarseningPlan as CoarseningPlan,
)
from .learned_amg import (
    LearnedAMGPreconditioner as LearnedAMGPreconditioner,
)
from .learned_amg import (
    LevelGraph as LevelGraph,
)
from .learned_amg import (
    coarsening_plan as coarsening_plan,
)
from .neural import (
    NeuralMultigridPreconditioner as NeuralMultigridPreconditioner,
)
from .neural import (
    StencilLayout as StencilLayout,
)
from .neural import (
    stencil_features as stencil_features,
)

__all__ = [
    'AMG', 'BoxStencil', 'CoarseningPlan', 'coarsen', 'coarsening_plan', 'CycleOptions', 'galerkin_operator', 'GeometricMultigrid', 'GridTransfer',
    'interpolation_weights', 'LearnedAMGPreconditioner', 'Level', 'LevelGraph', 'MultilevelHierarchy',
    'NeuralMultigridPreconditioner', 'prolong', 'restrict', 'stencil_features', 'StencilLayout',
]
