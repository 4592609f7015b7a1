"""Names of `neuralsolvers.train.pinn`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .data import (
    PINNDataModule as PINNDataModule,
)
from .module import (
    PINNModule as PINNModule,
)

__all__ = [
    'PINNDataModule', 'PINNModule',
]
