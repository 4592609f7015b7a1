"""The names of what the solvers accept (``neuralsolvers.solvers.types``), the operator base class
``Operator`` and its old name ``LinearOperator`` (an alias that warns), and where ``SolverResult``
lives (its old import path still works)."""

import inspect
import typing

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import neuralsolvers.solvers as solvers
from neuralsolvers.solvers import (
    ArrayLike,
    DeviceLike,
    DiffusionStencil,
    Operator,
    OperatorLike,
    PreconditionerLike,
)
from neuralsolvers.solvers.types import SupportsApply, SupportsMatvec


def test_the_old_operator_name_is_the_new_class_and_warns():
    with pytest.warns(DeprecationWarning, match="use neuralsolvers.solvers.Operator"):
        from neuralsolvers.solvers.operators import LinearOperator
    assert LinearOperator is Operator
    assert isinstance(DiffusionStencil((4, 4)), LinearOperator)  # isinstance checks keep working
    with pytest.warns(DeprecationWarning):

        class Mine(solvers.operators.LinearOperator):  # a subclass through the old name still works
            shape, dtype, device = (2, 2), torch.float64, torch.device("cpu")

            def matmat(self, x):
                return 2 * x

    assert isinstance(Mine(), Operator) and torch.equal(Mine() @ torch.ones(2, dtype=torch.float64), torch.full((2,), 2.0, dtype=torch.float64))
    assert "Operator" in solvers.__all__ and "LinearOperator" not in solvers.__all__  # an old name: importable, not advertised
    with pytest.warns(DeprecationWarning, match="use neuralsolvers.solvers.Operator"):
        assert solvers.LinearOperator is Operator
    with pytest.raises(AttributeError):
        solvers.operators.NoSuchOperator  # noqa: B018


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_the_aliases_say_what_is_accepted():
    accepted = [np.eye(3), torch.eye(3), torch.eye(3).to_sparse_csr(), sp.eye(3, format="csr"), sp.eye_array(3).tocsr(),
                DiffusionStencil((3, 3)), solvers.as_operator(np.eye(3))]  # fmt: skip
    assert all(isinstance(A, OperatorLike) for A in accepted)
    assert not isinstance([[1.0]], OperatorLike) and not isinstance("cpu", OperatorLike)
    assert isinstance(solvers.Jacobi(np.eye(3)), SupportsApply) and isinstance(DiffusionStencil((3, 3)), SupportsMatvec)
    assert set(typing.get_args(ArrayLike)) == {np.ndarray, torch.Tensor}
    assert set(typing.get_args(DeviceLike)) == {str, torch.device}
    assert type(None) in typing.get_args(PreconditionerLike)


def _public_callables():
    """Every function and class ``neuralsolvers.solvers`` exports (a class by its constructor)."""
    for name in solvers.__all__:
        value = getattr(solvers, name)
        if inspect.isclass(value) and value.__module__.startswith("neuralsolvers.solvers"):
            yield name, value.__init__
        elif inspect.isfunction(value):
            yield name, value


def test_public_signatures_name_what_they_accept():
    """No parameter of an exported function or constructor is typed ``Any`` (``**options`` passed on
    to PyAMG aside): ``A``, ``b``, ``x0``, ``M`` and ``device`` by the aliases, which resolve
    (``typing.get_type_hints``)."""
    untyped = []
    for name, function in _public_callables():
        for parameter in inspect.signature(function).parameters.values():
            if parameter.annotation == "Any" and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                untyped.append(f"{name}({parameter.name})")
    assert untyped == []
    hints = typing.get_type_hints(solvers.cg)
    assert hints["A"] == OperatorLike and hints["b"] == ArrayLike and hints["x0"] == ArrayLike | None
    assert hints["M"] == PreconditionerLike and hints["device"] == DeviceLike | None
    for solver in (solvers.fcg, solvers.gmres, solvers.bicgstab, solvers.dcdm, solvers.hybrid, solvers.prepare_system, solvers.as_operator):
        assert typing.get_type_hints(solver)["A"] == OperatorLike, solver.__name__


def test_the_result_has_its_own_module_and_the_old_paths_still_import():
    from neuralsolvers.solvers import krylov, result
    from neuralsolvers.solvers.krylov import conjugate_gradient

    for name in ("SolverResult", "SolveState", "BREAKDOWN_INDEFINITE", "BREAKDOWN_NONFINITE", "BREAKDOWN_STAGNATION", "BREAKDOWN_RECURRENCE"):
        assert getattr(conjugate_gradient, name) is getattr(result, name), name
    assert solvers.SolverResult is krylov.SolverResult is result.SolverResult
    assert solvers.cg(np.eye(3), np.ones(3)).__class__ is result.SolverResult
