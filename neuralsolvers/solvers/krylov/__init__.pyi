"""Names of `neuralsolvers.solvers.krylov`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .conjugate_gradient import (
    SolverResult as SolverResult,
)
from .conjugate_gradient import (
    cg as cg,
)
from .conjugate_gradient import (
    fcg as fcg,
)
from .nonsymmetric import (
    bicgstab as bicgstab,
)
from .nonsymmetric import (
    gmres as gmres,
)

__all__ = [
    'bicgstab', 'cg', 'fcg', 'gmres', 'SolverResult',
]
