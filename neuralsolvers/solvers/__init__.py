"""Iterative solvers and preconditioners in torch, on any device, SciPy in and SciPy out.

Every iterative solver has one signature, ``solver(A, b, x0=None, *, rtol=1e-5, atol=0.0,
maxiter=None, M=None, callback=None, **options)``, takes SciPy/NumPy/torch inputs (``OperatorLike``,
``ArrayLike``, ``PreconditionerLike``, ``DeviceLike``: ``neuralsolvers.solvers.types``) and returns a
``SolverResult`` whose ``x`` is of ``b``'s kind. Our operators derive from ``Operator`` (formerly
``LinearOperator``, which still imports, with a ``DeprecationWarning``).

No Lightning or W&B here: the solvers run with no network at all, and learned preconditioners
enter through ``ModulePreconditioner``.


Families: ``krylov`` (cg, fcg, gmres, bicgstab), ``multigrid`` (AMG, geometric, neural),
``classical`` (Jacobi, IC(0), SOR/SSOR), ``learned`` (network preconditioners, DCDM, hybrid,
fallback), ``omega`` (relaxation-parameter policies), ``proximal`` (splitting, proximal and forward
operators), ``nonlinear`` (fixed point, least squares, sparse regression). Every name below is
imported on first use."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "admm": ".proximal.splitting",
    "AMG": ".multigrid.amg",
    "ArrayLike": ".types",
    "as_operator": ".operators",
    "as_preconditioner": ".preconditioners",
    "bicgstab": ".krylov.nonsymmetric",
    "BinnedTsallisINF": ".omega.policies",
    "cg": ".krylov.conjugate_gradient",
    "ChebCB": ".omega.policies",
    "CycleOptions": ".multigrid.cycle",
    "dcdm": ".learned.dcdm_solver",
    "dcdm_preconditioner": ".learned.dcdm_solver",
    "dcdm_wrapping": ".learned.dcdm_solver",
    "DenseOperator": ".operators",
    "DeviceLike": ".types",
    "DiffusionStencil": ".stencils",
    "fcg": ".krylov.conjugate_gradient",
    "FieldPreconditioner": ".learned.field_preconditioner",
    "fixed_point": ".nonlinear.fixed_point_iteration",
    "FixedOmega": ".omega.policies",
    "formulas": ".nonlinear.sparse_regression",
    "ForwardOperator": ".proximal.forward_operators",
    "GaussianBlur": ".proximal.forward_operators",
    "GeometricMultigrid": ".multigrid.geometric",
    "gmres": ".krylov.nonsymmetric",
    "HaarThreshold": ".proximal.operators",
    "hybrid": ".learned.hybrid_solver",
    "ic0_factor": ".classical.ic0",
    "Identity": ".proximal.forward_operators",
    "IncompleteCholesky": ".classical.ic0",
    "Jacobi": ".classical.jacobi",
    "least_squares_layer": ".nonlinear.least_squares",
    "LeastSquaresResult": ".nonlinear.least_squares",
    "levenberg_marquardt": ".nonlinear.least_squares",
    "LinearOperator": ".operators",
    "matrix_colors": ".classical.relaxation",
    "MatrixFreeOperator": ".operators",
    "ModulePreconditioner": ".preconditioners",
    "NetworkProx": ".proximal.operators",
    "NetworkWrapping": ".learned.field_preconditioner",
    "normal_device": ".operators",
    "NeuralMultigridPreconditioner": ".multigrid.neural",
    "omega_grid": ".omega.policies",
    "Operator": ".operators",
    "OperatorLike": ".types",
    "OperatorPreconditioner": ".preconditioners",
    "pgd": ".proximal.splitting",
    "polynomial_library": ".nonlinear.sparse_regression",
    "Preconditioner": ".preconditioners",
    "PreconditionerLike": ".types",
    "prepare_system": ".system",
    "ProximalResult": ".proximal.splitting",
    "random_mask": ".proximal.forward_operators",
    "regret": ".omega.policies",
    "RelaxationPolicy": ".omega.policies",
    "replay": ".omega.policies",
    "ScipyOperator": ".operators",
    "SmoothedPreconditioner": ".learned.smoothed",
    "SoftThreshold": ".proximal.operators",
    "SolverResult": ".result",
    "sor": ".classical.relaxation",
    "SORSplitting": ".classical.relaxation",
    "SparseOperator": ".operators",
    "SSOR": ".classical.relaxation",
    "stlsq": ".nonlinear.sparse_regression",
    "SubsampledFourier": ".proximal.forward_operators",
    "TotalVariation": ".proximal.operators",
    "TsallisINF": ".omega.policies",
    "with_fallback": ".learned.fallback",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
