"""Names of `neuralsolvers.train.graph`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .data import (
    GraphDataModule as GraphDataModule,
)
from .module import (
    GraphModule as GraphModule,
)

__all__ = [
    'GraphDataModule', 'GraphModule',
]
