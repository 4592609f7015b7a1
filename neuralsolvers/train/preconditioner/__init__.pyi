"""Names of `neuralsolvers.train.preconditioner`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .dcdm import (
    DCDMModule as DCDMModule,
)
from .krylov_data import (
    KrylovDataModule as KrylovDataModule,
)
from .learned import (
    LearnedPreconditionerModule as LearnedPreconditionerModule,
)
from .losses import (
    cycle_energy_loss as cycle_energy_loss,
)
from .losses import (
    dcdm_loss as dcdm_loss,
)
from .losses import (
    pcg_residual_loss as pcg_residual_loss,
)
from .matrix_data import (
    MatrixDataModule as MatrixDataModule,
)
from .scene_data import (
    SceneDataModule as SceneDataModule,
)

__all__ = [
    'cycle_energy_loss', 'dcdm_loss', 'DCDMModule', 'KrylovDataModule', 'LearnedPreconditionerModule', 'MatrixDataModule',
    'pcg_residual_loss', 'SceneDataModule',
]
