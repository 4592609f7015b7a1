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
from .kinds import (
    BUILT_IN_KINDS as BUILT_IN_KINDS,
)
from .kinds import (
    PRECONDITIONER_KINDS as PRECONDITIONER_KINDS,
)
from .kinds import (
    LearnedPreconditioner as LearnedPreconditioner,
)
from .kinds import (
    preconditioner_kind as preconditioner_kind,
)
from .kinds import (
    register_preconditioner_kind as register_preconditioner_kind,
)
from .matrix_kind import (
    MATRIX_RECORD as MATRIX_RECORD,
)
from .matrix_kind import (
    MatrixPreconditionerNetwork as MatrixPreconditionerNetwork,
)
from .matrix_kind import (
    sparse_spd_matrix as sparse_spd_matrix,
)
from .smoothed import (
    SmoothedPreconditioner as SmoothedPreconditioner,
)

__all__ = [
    'BUILT_IN_KINDS', 'dcdm', 'dcdm_preconditioner', 'dcdm_wrapping',
    'FieldPreconditioner', 'hybrid', 'LearnedPreconditioner', 'MATRIX_RECORD',
    'MatrixPreconditionerNetwork', 'NetworkWrapping', 'preconditioner_kind',
    'PRECONDITIONER_KINDS', 'register_preconditioner_kind', 'SmoothedPreconditioner', 'sparse_spd_matrix',
    'with_fallback',
]
