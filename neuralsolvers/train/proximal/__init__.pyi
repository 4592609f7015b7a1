"""Names of `neuralsolvers.train.proximal`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .data import (
    ProximalDataModule as ProximalDataModule,
)
from .losses import (
    proximal_matching_loss as proximal_matching_loss,
)
from .module import (
    ProximalModule as ProximalModule,
)

__all__ = [
    'proximal_matching_loss', 'ProximalDataModule', 'ProximalModule',
]
