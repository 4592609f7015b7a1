"""Names of `neuralsolvers.solvers.learned`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .dcdm_solver import (
    dcdm as dcdm,
)
from .dcdm_solver import (
    dcdm_preconditioner as dcdm_preconditioner,
)
from .dcdm_solver import (
    dcdm_wrapping as dcdm_wrapping,
)
from .fallback import (
    with_fallback as with_fallback,
)
from .field_preconditioner import (
    FieldPreconditioner as FieldPreconditioner,
)
from .field_preconditioner import (
    NetworkWrapping as NetworkWrapping,
)
from .hybrid_solver import (
    hybrid as hybrid,
)
from .smoothed import (
    SmoothedPreconditioner as SmoothedPreconditioner,
)

__all__ = [
    'dcdm', 'dcdm_preconditioner', 'dcdm_wrapping', 'FieldPreconditioner', 'hybrid',
    'NetworkWrapping', 'SmoothedPreconditioner', 'with_fallback',
]
