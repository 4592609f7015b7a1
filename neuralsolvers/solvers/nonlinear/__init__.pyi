"""Names of `neuralsolvers.solvers.nonlinear`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .fixed_point_iteration import (
    fixed_point as fixed_point,
)
from .least_squares import (
    LeastSquaresResult as LeastSquaresResult,
)
from .least_squares import (
    least_squares_layer as least_squares_layer,
)
from .least_squares import (
    levenberg_marquardt as levenberg_marquardt,
)
from .sparse_regression import (
    formulas as formulas,
)
from .sparse_regression import (
    polynomial_library as polynomial_library,
)
from .sparse_regression import (
    stlsq as stlsq,
)

__all__ = [
    'fixed_point', 'formulas', 'least_squares_layer', 'LeastSquaresResult', 'levenberg_marquardt',
    'polynomial_library', 'stlsq',
]
