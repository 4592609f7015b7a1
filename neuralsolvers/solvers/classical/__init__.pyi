"""Names of `neuralsolvers.solvers.classical`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .ic0 import (
    IncompleteCholesky as IncompleteCholesky,
)
from .ic0 import (
    ic0_factor as ic0_factor,
)
from .jacobi import (
    Jacobi as Jacobi,
)
from .relaxation import (
    SSOR as SSOR,
)
from .relaxation import (
    SORSplitting as SORSplitting,
)
from .relaxation import (
    matrix_colors as matrix_colors,
)
from .relaxation import (
    sor as sor,
)
from .triangular import (
    LevelScheduledTriangular as LevelScheduledTriangular,
)
from .triangular import (
    TriangularSolver as TriangularSolver,
)

__all__ = [
    'ic0_factor', 'IncompleteCholesky', 'Jacobi', 'LevelScheduledTriangular', 'matrix_colors',
    'sor', 'SORSplitting', 'SSOR', 'TriangularSolver',
]
