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

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__, hidden={'LinearOperator': '.operators'})
