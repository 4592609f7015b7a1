"""SciPy in, SciPy out: every input kind against scipy.sparse.linalg.cg, one signature, guard rails."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers import (
    DiffusionStencil,
    FieldPreconditioner,
    Jacobi,
    ModulePreconditioner,
    SoftThreshold,
    bicgstab,
    cg,
    dcdm,
    fcg,
    gmres,
    hybrid,
    pgd,
    sor,
)

N = 12  # grid side: 144 unknowns
RTOL = 1e-8


def stencil() -> DiffusionStencil:
    mask = torch.ones(N, N, dtype=torch.bool)
    mask[4:7, 5:9] = False
    coefficient = torch.from_numpy(np.random.default_rng(0).uniform(1.0, 10.0, (N, N)))
    return DiffusionStencil((N, N), coefficient, mask)


def scipy_reference(A: sp.csr_matrix, b: np.ndarray) -> tuple[np.ndarray, int]:
    count = [0]
    x, info = spla.cg(A, b, rtol=RTOL, maxiter=10 * A.shape[0], callback=lambda _: count.__setitem__(0, count[0] + 1))
    assert info == 0
    return x, count[0]


def input_kinds(operator: DiffusionStencil) -> dict:
    matrix = operator.to_scipy()
    return {
        "scipy csr_matrix": matrix,
        "scipy csr_array": sp.csr_array(matrix),
        "scipy LinearOperator": spla.aslinearoperator(matrix),
        "numpy dense": matrix.toarray(),
        "torch dense": torch.from_numpy(matrix.toarray()),
        "torch sparse CSR": torch.from_numpy(matrix.toarray()).to_sparse_csr(),
        "DiffusionStencil": operator,
    }


@pytest.mark.parametrize("kind", list(input_kinds(stencil())))
def test_every_input_kind_matches_scipy(kind):
    operator = stencil()
    A = input_kinds(operator)[kind]
    matrix = operator.to_scipy()
    b = np.random.default_rng(1).standard_normal(matrix.shape[0])
    reference, iterations = scipy_reference(matrix, b)
    result = cg(A, b, rtol=RTOL)
    assert isinstance(result.x, np.ndarray) and result.x.dtype == np.float64 and result.x.shape == b.shape
    assert result.converged and abs(result.iterations - iterations) <= 1
    np.testing.assert_allclose(result.x, reference, rtol=1e-6, atol=1e-9 * np.abs(reference).max())


def test_torch_in_torch_out_and_numpy_callback():
    operator = stencil()
    b = torch.ones(operator.shape[0], dtype=torch.float64)
    result = cg(operator.to_scipy(), b, rtol=RTOL)
    assert isinstance(result.x, torch.Tensor) and result.x.device == b.device
    seen = []
    numpy_result = cg(operator.to_scipy(), b.numpy(), rtol=RTOL, callback=lambda x: seen.append(type(x)))
    assert seen and all(kind is np.ndarray for kind in seen)
    np.testing.assert_allclose(numpy_result.x, result.x.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("matrix_dtype", "b_dtype", "solve_dtype"),
    [(np.float64, np.float32, np.float64), (np.float32, np.float32, np.float32), (np.float32, np.float64, np.float64),
     (np.float64, np.int64, np.float64)],
)  # fmt: skip
def test_mixed_precision_follows_numpy_promotion(matrix_dtype, b_dtype, solve_dtype):
    A = stencil().to_scipy().astype(matrix_dtype)
    b = np.arange(A.shape[0]).astype(b_dtype) % 3
    result = cg(A, b, rtol=1e-5)
    assert result.x.dtype == solve_dtype == np.result_type(A.dtype, b.dtype) and result.converged
    torch_result = cg(stencil(), torch.from_numpy(b.astype(np.float32)), rtol=1e-5)
    assert torch_result.x.dtype == torch.float64  # a float32 torch b with a float64 stencil


def test_batched_numpy_columns_and_per_column_info():
    A = stencil().to_scipy()
    B = np.random.default_rng(2).standard_normal((A.shape[0], 3))
    result = cg(A, B, rtol=RTOL)
    assert isinstance(result.x, np.ndarray) and result.x.shape == B.shape
    for j in range(3):
        np.testing.assert_allclose(result.x[:, j], scipy_reference(A, B[:, j])[0], rtol=1e-6, atol=1e-8)
    B[:, 1] = 0.0  # converged at once; the others cannot in 3 sweeps
    capped = sor(A, B, maxiter=3)
    assert capped.column_info.tolist() == [3, 0, 3] and capped.info == 3
    assert capped.column_iterations.tolist() == [3, 0, 3]


def test_device_argument_and_device_mismatch():
    A = stencil().to_scipy()
    b = np.ones(A.shape[0])
    assert cg(A, b, device="cpu", rtol=RTOL).converged
    meta = torch.eye(4, dtype=torch.float64, device="meta")  # a device other than the CPU, without a GPU
    with pytest.raises(ValueError, match=r"b is on cpu but A is on meta"):
        cg(meta, torch.ones(4, dtype=torch.float64))


SOLVERS = [cg, fcg, gmres, bicgstab, dcdm, hybrid, sor]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_one_signature(solver):
    parameters = list(inspect.signature(solver).parameters.values())
    head = [(p.name, p.kind, p.default) for p in parameters[:8]]
    positional, keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    assert head == [
        ("A", positional, inspect.Parameter.empty), ("b", positional, inspect.Parameter.empty), ("x0", positional, None),
        ("rtol", keyword, 1e-5), ("atol", keyword, 0.0), ("maxiter", keyword, None), ("M", keyword, None),
        ("callback", keyword, None),
    ]  # fmt: skip
    assert all(p.kind in (keyword, inspect.Parameter.VAR_KEYWORD) for p in parameters[3:])


def test_same_option_name_for_kept_directions():
    assert "keep" in inspect.signature(fcg).parameters and "keep" in inspect.signature(dcdm).parameters


def test_learned_map_as_M_and_old_forms_warn():
    operator = stencil()
    b = torch.ones(operator.shape[0], dtype=torch.float64)
    jacobi = Jacobi(operator)
    new = dcdm(operator, b, M=jacobi, rtol=RTOL)
    with pytest.warns(DeprecationWarning, match="M="):
        old = dcdm(operator, b, jacobi.apply, rtol=RTOL)
    assert new.converged and new.iterations == old.iterations
    with pytest.warns(DeprecationWarning, match="M="):
        hybrid(operator, b, jacobi.apply, maxiter=5)
    with pytest.warns(DeprecationWarning, match="keep="):
        assert fcg(operator, b, M=jacobi, truncation=2, rtol=RTOL).iterations == fcg(operator, b, M=jacobi, keep=2, rtol=RTOL).iterations
    with pytest.warns(DeprecationWarning, match="rtol="):
        pgd(torch.ones(1, 4, 4), SoftThreshold(0.1), tol=1e-4)
    with pytest.raises(TypeError, match="unexpected keyword arguments: tolerance"):
        fcg(operator, b, tolerance=1e-3)


def network(fields: torch.Tensor) -> torch.Tensor:
    return fields[:, -1:] * 0.25


def test_nonlinear_preconditioner_refusals():
    operator = stencil()
    b = torch.ones(operator.shape[0], dtype=torch.float64)
    M = FieldPreconditioner(network, operator.grid)
    with pytest.raises(TypeError, match="not declared linear.*fcg or dcdm"):
        M.as_linear_operator()
    for solver in (cg, bicgstab):
        with pytest.raises(TypeError, match=f"{solver.__name__} needs a linear.*fcg or dcdm"):
            solver(operator, b, M=M)
    for solver in (fcg, gmres, dcdm):  # accepted: runs to the cap and says so (SciPy's info = iterations)
        result = solver(operator, b, M=M, maxiter=3)
        assert (result.iterations, bool(result.converged), result.info, len(result.residuals)) == (3, False, 3, 4)
    assert M.solver is fcg and Jacobi(operator).solver is cg


def test_preconditioner_mismatch_names_both_sides():
    operator = stencil()
    b = torch.ones(operator.shape[0], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"for 64 unknowns \(grid 8×8\) but A has 144 unknowns \(grid 12×12\)"):
        fcg(operator, b, M=FieldPreconditioner(network, (8, 8)))
    with pytest.raises(ValueError, match=r"grid 16×9 but A is on 12×12"):
        fcg(operator, b, M=FieldPreconditioner(network, (16, 9)))
    small = DiffusionStencil((5, 5))
    with pytest.raises(ValueError, match="for 25 unknowns but A has 144 unknowns"):
        cg(operator, b, M=Jacobi(small))
    # another dtype is no mismatch: a float32 preconditioner is applied in float32 inside the float64 solve
    result = cg(operator, b, M=Jacobi(operator.to(torch.float32)), rtol=1e-8)
    assert result.converged and result.x.dtype == torch.float64 and result.true_residual <= 1e-8
    with pytest.raises(ValueError, match="lives on meta but the solve runs on cpu"):
        fcg(operator, b, M=ModulePreconditioner(lambda r: r, operator.shape[0], device="meta"))


def test_explicit_matrix_preconditioner_follows_the_solve():
    """A SciPy matrix as M (SciPy's own convention) is converted to the solve's dtype once."""
    A = stencil().to_scipy().astype(np.float32)
    b = np.ones(A.shape[0], dtype=np.float32)
    inverse_diagonal = sp.diags(1.0 / A.diagonal())  # float32 matrix, solve in float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cg(A, b, M=inverse_diagonal, rtol=1e-4)
    assert result.converged and result.x.dtype == np.float32


@pytest.mark.gpu
def test_scipy_system_solves_on_cuda():
    A = stencil().to_scipy()
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    on_gpu = cg(A, b, rtol=RTOL, device="cuda")
    assert isinstance(on_gpu.x, np.ndarray) and on_gpu.converged
    np.testing.assert_allclose(on_gpu.x, cg(A, b, rtol=RTOL).x, rtol=1e-8, atol=1e-10)
    torch_gpu = cg(A, torch.from_numpy(b).cuda(), rtol=RTOL)  # a torch b on the GPU takes the SciPy A there
    assert torch_gpu.x.is_cuda
    with pytest.raises(ValueError, match="b is on cpu but A is on cuda"):
        cg(stencil().to(device="cuda"), torch.from_numpy(b))
