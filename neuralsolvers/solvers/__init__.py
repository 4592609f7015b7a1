"""Iterative solvers and preconditioners in torch, on any device, SciPy in and SciPy out.

Every iterative solver has one signature, ``solver(A, b, x0=None, *, rtol=1e-5, atol=0.0,
maxiter=None, M=None, callback=None, **options)``, takes SciPy/NumPy/torch inputs and returns a
:class:`SolverResult` whose ``x`` is of ``b``'s kind.

No Lightning or W&B here: the solvers run with no network at all, and learned preconditioners
enter through :class:`ModulePreconditioner`.
"""

from neuralsolvers.solvers.amg import AMG
from neuralsolvers.solvers.dcdm import dcdm, dcdm_preconditioner, dcdm_wrapping
from neuralsolvers.solvers.fallback import with_fallback
from neuralsolvers.solvers.field_preconditioner import FieldPreconditioner, NetworkWrapping
from neuralsolvers.solvers.fixed_point import fixed_point
from neuralsolvers.solvers.forward_operators import (
    ForwardOperator,
    GaussianBlur,
    Identity,
    SubsampledFourier,
    random_mask,
)
from neuralsolvers.solvers.geometric_multigrid import GeometricMultigrid
from neuralsolvers.solvers.hybrid import hybrid
from neuralsolvers.solvers.ic0 import IncompleteCholesky, ic0_factor
from neuralsolvers.solvers.krylov import SolverResult, cg, fcg
from neuralsolvers.solvers.least_squares import (
    LeastSquaresResult,
    least_squares_layer,
    levenberg_marquardt,
)
from neuralsolvers.solvers.nonsymmetric import bicgstab, gmres
from neuralsolvers.solvers.operators import (
    DenseOperator,
    LinearOperator,
    MatrixFreeOperator,
    ScipyOperator,
    SparseOperator,
    as_operator,
)
from neuralsolvers.solvers.preconditioners import (
    Jacobi,
    ModulePreconditioner,
    OperatorPreconditioner,
    Preconditioner,
    as_preconditioner,
)
from neuralsolvers.solvers.proximal import ProximalResult, admm, pgd
from neuralsolvers.solvers.proximal_operators import (
    HaarThreshold,
    NetworkProx,
    SoftThreshold,
    TotalVariation,
)
from neuralsolvers.solvers.relaxation import SSOR, SORSplitting, matrix_colors, sor
from neuralsolvers.solvers.relaxation_policies import (
    BinnedTsallisINF,
    ChebCB,
    FixedOmega,
    RelaxationPolicy,
    TsallisINF,
    omega_grid,
    regret,
    replay,
)
from neuralsolvers.solvers.smoothed import SmoothedPreconditioner
from neuralsolvers.solvers.sparse_regression import formulas, polynomial_library, stlsq
from neuralsolvers.solvers.stencils import DiffusionStencil
from neuralsolvers.solvers.system import prepare_system

__all__ = [
    "AMG",
    "BinnedTsallisINF",
    "ChebCB",
    "DenseOperator",
    "DiffusionStencil",
    "FieldPreconditioner",
    "FixedOmega",
    "ForwardOperator",
    "GaussianBlur",
    "GeometricMultigrid",
    "HaarThreshold",
    "Identity",
    "IncompleteCholesky",
    "Jacobi",
    "LeastSquaresResult",
    "LinearOperator",
    "MatrixFreeOperator",
    "ModulePreconditioner",
    "NetworkWrapping",
    "NetworkProx",
    "OperatorPreconditioner",
    "Preconditioner",
    "ProximalResult",
    "RelaxationPolicy",
    "SORSplitting",
    "SSOR",
    "ScipyOperator",
    "SmoothedPreconditioner",
    "SoftThreshold",
    "SolverResult",
    "SparseOperator",
    "SubsampledFourier",
    "TotalVariation",
    "TsallisINF",
    "admm",
    "as_operator",
    "as_preconditioner",
    "bicgstab",
    "cg",
    "dcdm",
    "dcdm_preconditioner",
    "dcdm_wrapping",
    "fcg",
    "fixed_point",
    "formulas",
    "gmres",
    "hybrid",
    "ic0_factor",
    "least_squares_layer",
    "levenberg_marquardt",
    "matrix_colors",
    "omega_grid",
    "pgd",
    "polynomial_library",
    "prepare_system",
    "random_mask",
    "regret",
    "replay",
    "sor",
    "stlsq",
    "with_fallback",
]
