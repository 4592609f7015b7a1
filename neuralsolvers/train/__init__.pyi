"""Names of `neuralsolvers.train`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .callbacks import (
    LearningRateLog as LearningRateLog,
)
from .callbacks import (
    NonFiniteLossStop as NonFiniteLossStop,
)
from .callbacks import (
    PredictionFigure as PredictionFigure,
)
from .callbacks import (
    TrainingDiverged as TrainingDiverged,
)
from .graph.data import (
    GraphDataModule as GraphDataModule,
)
from .graph.module import (
    GraphModule as GraphModule,
)
from .operator.data import (
    OperatorDataModule as OperatorDataModule,
)
from .operator.module import (
    OperatorModule as OperatorModule,
)
from .operator.physics import (
    PhysicsOperatorModule as PhysicsOperatorModule,
)
from .pinn.data import (
    PINNDataModule as PINNDataModule,
)
from .pinn.module import (
    PINNModule as PINNModule,
)
from .preconditioner.dcdm import (
    DCDMModule as DCDMModule,
)
from .preconditioner.krylov_data import (
    KrylovDataModule as KrylovDataModule,
)
from .preconditioner.learned import (
    LearnedPreconditionerModule as LearnedPreconditionerModule,
)
from .preconditioner.losses import (
    cycle_energy_loss as cycle_energy_loss,
)
from .preconditioner.losses import (
    dcdm_loss as dcdm_loss,
)
from .preconditioner.losses import (
    pcg_residual_loss as pcg_residual_loss,
)
from .preconditioner.matrix_data import (
    MatrixDataModule as MatrixDataModule,
)
from .preconditioner.scene_data import (
    SceneDataModule as SceneDataModule,
)
from .proximal.data import (
    ProximalDataModule as ProximalDataModule,
)
from .proximal.losses import (
    proximal_matching_loss as proximal_matching_loss,
)
from .proximal.module import (
    ProximalModule as ProximalModule,
)
from .schedules import (
    WarmupCosineLR as WarmupCosineLR,
)

__all__ = [
    'cycle_energy_loss', 'dcdm_loss', 'DCDMModule', 'GraphDataModule', 'GraphModule', 'KrylovDataModule',
    'LearnedPreconditionerModule', 'LearningRateLog', 'MatrixDataModule',
    'NonFiniteLossStop', 'OperatorDataModule', 'OperatorModule', 'pcg_residual_loss',
    'PhysicsOperatorModule', 'PINNDataModule', 'PINNModule', 'PredictionFigure',
    'proximal_matching_loss', 'ProximalDataModule', 'ProximalModule', 'SceneDataModule',
    'TrainingDiverged', 'WarmupCosineLR',
]
