"""Names of `neuralsolvers.train.operator`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .data import (
    OperatorDataModule as OperatorDataModule,
)
from .module import (
    OperatorModule as OperatorModule,
)
from .physics import (
    PhysicsOperatorModule as PhysicsOperatorModule,
)

__all__ = [
    'OperatorDataModule', 'OperatorModule', 'PhysicsOperatorModule',
]
