"""Names of `neuralsolvers.solvers`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .classical.ic0 import (
    IncompleteCholesky as IncompleteCholesky,
)
from .classical.ic0 import (
    ic0_factor as ic0_factor,
)
from .classical.jacobi import (
    Jacobi as Jacobi,
)
from .classical.relaxation import (
    SSOR as SSOR,
)
from .classical.relaxation import (
    SORSplitting as SORSplitting,
)
from .classical.relaxation import (
    matrix_colors as matrix_colors,
)
from .classical.relaxation import (
    sor as sor,
)
from .krylov.conjugate_gradient import (
    cg as cg,
)
from .krylov.conjugate_gradient import (
    fcg as fcg,
)
from .krylov.nonsymmetric import (
    bicgstab as bicgstab,
)
from .krylov.nonsymmetric import (
    gmres as gmres,
)
from .learned.dcdm_solver import (
    dcdm as dcdm,
)
from .learned.dcdm_solver import (
    dcdm_preconditioner as dcdm_preconditioner,
)
from .learned.dcdm_solver import (
    dcdm_wrapping as dcdm_wrapping,
)
from .learned.fallback import (
    with_fallback as with_fallback,
)
from .learned.field_preconditioner import (
    FieldPreconditioner as FieldPreconditioner,
)
from .learned.field_preconditioner import (
    NetworkWrapping as NetworkWrapping,
)
from .learned.hybrid_solver import (
    hybrid as hybrid,
)
from .learned.kinds import (
    LearnedPreconditioner as LearnedPreconditioner,
)
from .learned.kinds import (
    register_preconditioner_kind as register_preconditioner_kind,
)
from .learned.matrix_kind import (
    MATRIX_RECORD as MATRIX_RECORD,
)
from .learned.smoothed import (
    SmoothedPreconditioner as SmoothedPreconditioner,
)
from .multigrid.amg import (
    AMG as AMG,
)
from .multigrid.cycle import (
    CycleOptions as CycleOptions,
)
from .multigrid.galerkin import (
    BoxStencil as BoxStencil,
)
from .multigrid.geometric import (
    GeometricMultigrid as GeometricMultigrid,
)
from .multigrid.hierarchy import (
    Level as Level,
)
from .multigrid.hierarchy import (
    MultilevelHierarchy as MultilevelHierarchy,
)
from .multigrid.neural import (
    NeuralMultigridPreconditioner as NeuralMultigridPreconditioner,
)
from .nonlinear.fixed_point_iteration import (
    fixed_point as fixed_point,
)
from .nonlinear.least_squares import (
    LeastSquaresResult as LeastSquaresResult,
)
from .nonlinear.least_squares import (
    least_squares_layer as least_squares_layer,
)
from .nonlinear.least_squares import (
    levenberg_marquardt as levenberg_marquardt,
)
from .nonlinear.sparse_regression import (
    formulas as formulas,
)
from .nonlinear.sparse_regression import (
    polynomial_library as polynomial_library,
)
from .nonlinear.sparse_regression import (
    stlsq as stlsq,
)
from .omega.policies import (
    BinnedTsallisINF as BinnedTsallisINF,
)
from .omega.policies import (
    ChebCB as ChebCB,
)
from .omega.policies import (
    FixedOmega as FixedOmega,
)
from .omega.policies import (
    RelaxationPolicy as RelaxationPolicy,
)
from .omega.policies import (
    TsallisINF as TsallisINF,
)
from .omega.policies import (
    omega_grid as omega_grid,
)
from .omega.policies import (
    regret as regret,
)
from .omega.policies import (
    replay as replay,
)
from .operators import (
    DenseOperator as DenseOperator,
)
from .operators import (
    MatrixFreeOperator as MatrixFreeOperator,
)
from .operators import (
    Operator as Operator,
)
from .operators import (
    ScipyOperator as ScipyOperator,
)
from .operators import (
    SparseOperator as SparseOperator,
)
from .operators import (
    as_operator as as_operator,
)
from .operators import (
    normal_device as normal_device,
)
from .preconditioners import (
    ModulePreconditioner as ModulePreconditioner,
)
from .preconditioners import (
    OperatorPreconditioner as OperatorPreconditioner,
)
from .preconditioners import (
    Preconditioner as Preconditioner,
)
from .preconditioners import (
    as_preconditioner as as_preconditioner,
)
from .proximal.forward_operators import (
    ForwardOperator as ForwardOperator,
)
from .proximal.forward_operators import (
    GaussianBlur as GaussianBlur,
)
from .proximal.forward_operators import (
    Identity as Identity,
)
from .proximal.forward_operators import (
    SubsampledFourier as SubsampledFourier,
)
from .proximal.forward_operators import (
    random_mask as random_mask,
)
from .proximal.operators import (
    HaarThreshold as HaarThreshold,
)
from .proximal.operators import (
    NetworkProx as NetworkProx,
)
from .proximal.operators import (
    SoftThreshold as SoftThreshold,
)
from .proximal.operators import (
    TotalVariation as TotalVariation,
)
from .proximal.splitting import (
    ProximalResult as ProximalResult,
)
from .proximal.splitting import (
    admm as admm,
)
from .proximal.splitting import (
    pgd as pgd,
)
from .result import (
    SolverResult as SolverResult,
)
from .stencils import (
    DiffusionStencil as DiffusionStencil,
)
from .system import (
    prepare_system as prepare_system,
)
from .types import (
    ArrayLike as ArrayLike,
)
from .types import (
    DeviceLike as DeviceLike,
)
from .types import (
    OperatorLike as OperatorLike,
)
from .types import (
    PreconditionerLike as PreconditionerLike,
)

__all__ = [
    'admm', 'AMG', 'ArrayLike', 'as_operator', 'as_preconditioner', 'bicgstab', 'BinnedTsallisINF', 'BoxStencil',
    'cg', 'ChebCB', 'CycleOptions', 'dcdm', 'dcdm_preconditioner', 'dcdm_wrapping', 'DenseOperator',
    'DeviceLike', 'DiffusionStencil', 'fcg', 'FieldPreconditioner', 'fixed_point', 'FixedOmega',
    'formulas', 'ForwardOperator', 'GaussianBlur', 'GeometricMultigrid', 'gmres', 'HaarThreshold',
    'hybrid', 'ic0_factor', 'Identity', 'IncompleteCholesky', 'Jacobi', 'LearnedPreconditioner', 'least_squares_layer',
    'LeastSquaresResult', 'Level', 'levenberg_marquardt', 'matrix_colors', 'MATRIX_RECORD', 'MatrixFreeOperator',
    'ModulePreconditioner', 'MultilevelHierarchy', 'NetworkProx', 'NetworkWrapping', 'NeuralMultigridPreconditioner',
    'normal_device', 'omega_grid', 'Operator', 'OperatorLike', 'OperatorPreconditioner', 'pgd',
    'polynomial_library', 'Preconditioner', 'PreconditionerLike', 'prepare_system', 'register_preconditioner_kind',
    'ProximalResult', 'random_mask', 'regret', 'RelaxationPolicy', 'replay', 'ScipyOperator',
    'SmoothedPreconditioner', 'SoftThreshold', 'SolverResult', 'sor', 'SORSplitting',
    'SparseOperator', 'SSOR', 'stlsq', 'SubsampledFourier', 'TotalVariation', 'TsallisINF',
    'with_fallback',
]
