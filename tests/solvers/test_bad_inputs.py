"""Every bad input to a solver is one clear line: non-finite data, a nonsymmetric matrix in cg/fcg,
maxiter=0, b in the null space of a singular matrix, a device the machine lacks; and float32
operators/preconditioners in a float64 solve follow one rule (promotion, cast preconditioner)."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers import (
    AMG,
    SSOR,
    DiffusionStencil,
    GeometricMultigrid,
    IncompleteCholesky,
    ModulePreconditioner,
    NetworkWrapping,
    as_operator,
    bicgstab,
    cg,
    dcdm,
    fcg,
    gmres,
    hybrid,
    normal_device,
    sor,
)
from neuralsolvers.solvers.krylov.conjugate_gradient import BREAKDOWN_INDEFINITE
from neuralsolvers.solvers.system import check_symmetric

SOLVERS = [cg, fcg, gmres, bicgstab, dcdm, hybrid, sor]
NO_CUDA = "device 'cuda' asked for, but this machine has no CUDA device"
SINGULAR = "breakdown: singular or indefinite operator or preconditioner (pᵀAp ≤ 0 or rᵀz ≤ 0: not SPD)"
NONSYMMETRIC = "use gmres or bicgstab for a nonsymmetric one (check_symmetry=False skips this check)"


def poisson(n: int = 8) -> sp.csr_matrix:
    return DiffusionStencil((n, n)).to_scipy()


def convection(n: int = 8, strength: float = 0.3) -> sp.csr_matrix:
    """Poisson plus a one-sided coupling: clearly nonsymmetric, still diagonally dominant."""
    A = poisson(n)
    return (A + sp.diags([strength * np.ones(A.shape[0] - 1)], [1])).tocsr()


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_nan_in_b_is_one_error_naming_b(solver):
    b = np.ones(64)
    b[5] = np.nan
    with pytest.raises(ValueError, match=re.escape("b has NaN or Inf entries (1 of 64): a solve needs finite data")):
        solver(poisson(), b)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_inf_in_x0_is_one_error_naming_x0(solver):
    x0 = torch.zeros(64, 2, dtype=torch.float64)
    x0[3, 1] = torch.inf
    with pytest.raises(ValueError, match=re.escape("x0 has NaN or Inf entries (1 of 128): a solve needs finite data")):
        solver(poisson(), torch.ones(64, 2, dtype=torch.float64), x0)


def _scipy_with_nan() -> sp.csr_matrix:
    A = poisson().tolil()
    A[2, 3] = np.nan
    return A.tocsr()


def _stencil_with_nan() -> DiffusionStencil:
    stencil = DiffusionStencil((8, 8))
    stencil.couplings[1][4, 4] = torch.nan  # the constructor refuses a NaN coefficient; a damaged stencil
    return stencil


@pytest.mark.parametrize(
    "make",
    [_scipy_with_nan, lambda: torch.from_numpy(_scipy_with_nan().toarray()), lambda: _scipy_with_nan().toarray(),
     lambda: torch.from_numpy(_scipy_with_nan().toarray()).to_sparse_csr(), _stencil_with_nan],
    ids=["scipy-csr", "torch-dense", "numpy-dense", "torch-csr", "stencil"],
)  # fmt: skip
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_nan_in_a_matrix_is_one_error_naming_a(make, solver):
    with pytest.raises(ValueError, match="^A has NaN or Inf entries: a solve needs a finite matrix$"):
        solver(make(), np.ones(64))


class _BrokenMatrixFree:
    """A matrix-free operator whose product is NaN (nothing stored to check)."""

    shape, dtype = (16, 16), torch.float64

    def matvec(self, x):
        return x * torch.nan


@pytest.mark.parametrize("solver", [cg, fcg, gmres, bicgstab, dcdm], ids=lambda f: f.__name__)
def test_a_matrix_free_operator_giving_nan_is_named(solver):
    with pytest.raises(ValueError, match=re.escape("A gave NaN or Inf for a finite input (A @ 0): check the operator")):
        solver(_BrokenMatrixFree(), np.ones(16))
    with pytest.raises(ValueError, match=re.escape("A gave NaN or Inf for a finite input (A @ x0): check the operator")):
        solver(_BrokenMatrixFree(), np.ones(16), np.ones(16))


@pytest.mark.parametrize("solver", [cg, fcg], ids=lambda f: f.__name__)
def test_nonsymmetric_matrix_is_refused_by_cg_and_fcg_with_a_pointer_to_gmres(solver):
    name = solver.__name__
    expected = (rf"^A is not symmetric \(relative asymmetry \d\.\de-\d\d > 1e-06 on two random vectors\): {name} needs a "
                rf"symmetric positive definite A; {re.escape(NONSYMMETRIC)}$")  # fmt: skip
    with pytest.raises(ValueError, match=expected):
        solver(convection(), np.ones(64))
    with pytest.raises(ValueError, match=r"> 0\.001 on two random vectors"):  # float32: its own tolerance
        solver(convection().astype(np.float32), np.ones(64, dtype=np.float32))
    result = solver(convection(), np.ones(64), check_symmetry=False, maxiter=5)  # runs: the user asked for it
    assert result.iterations == 5 or result.converged
    assert gmres(convection(), np.ones(64), rtol=1e-8).converged  # where the message points


def test_symmetry_probe_accepts_float32_round_off_is_deterministic_and_leaves_the_global_rng():
    rng = np.random.default_rng(3)
    a = torch.from_numpy(np.exp(3 * rng.standard_normal((128, 96))))
    mask = torch.ones(128, 96, dtype=torch.bool)
    mask[40:70, 20:50] = False
    walls = [True, False, False, True]
    stencil = DiffusionStencil((128, 96), a, mask, dirichlet_walls=walls, dtype=torch.float32)
    before = torch.random.get_rng_state()
    for operator in (stencil, as_operator(stencil.to_scipy().astype(np.float32)), DiffusionStencil((3, 3, 3), dtype=torch.float32)):
        check_symmetric(operator, "cg")  # no error: float32 round-off is far below the float32 tolerance
    assert torch.equal(before, torch.random.get_rng_state())
    messages = set()
    for _ in range(2):
        with pytest.raises(ValueError) as error:
            check_symmetric(as_operator(convection()), "cg")
        messages.add(str(error.value))
    assert len(messages) == 1  # a fixed seed: the same probe every time


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_maxiter_zero_is_not_success_unless_x0_already_solves(solver):
    A, b = poisson(), np.ones(64)
    result = solver(A, b, maxiter=0)
    assert (result.info, result.converged, result.iterations) == (1, False, 0)
    assert result.message == "not converged in 0 iterations (maxiter=0)"
    exact = sp.linalg.spsolve(A.tocsc(), b)
    solved = solver(A, b, exact, maxiter=0)
    assert (solved.info, solved.converged, solved.message) == (0, True, "converged")
    batched = solver(A, np.stack([b, np.zeros(64)], 1), maxiter=0)
    assert batched.column_info.tolist() == [1, 0] and batched.info == 1
    with pytest.raises(ValueError, match="^maxiter must be non-negative, got -1$"):
        solver(A, b, maxiter=-1)


@pytest.mark.parametrize("solver", [cg, fcg, dcdm], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "system",
    [lambda: (sp.diags([1.0, 2.0, 0.0]).tocsr(), np.array([0.0, 0.0, 1.0])),
     lambda: (DiffusionStencil((8, 8), dirichlet_walls=False).to_scipy(), np.ones(64)),  # Neumann: constants
     lambda: (DiffusionStencil((8, 8), dirichlet_walls=False), torch.ones(64, dtype=torch.float64))],
    ids=["diagonal", "neumann-csr", "neumann-stencil"],
)  # fmt: skip
def test_b_in_the_null_space_of_a_singular_matrix_is_a_singular_breakdown(solver, system):
    A, b = system()
    result = solver(A, b)
    assert result.info == BREAKDOWN_INDEFINITE and not result.converged
    assert result.message == SINGULAR
    assert bool(np.isfinite(np.asarray(result.x)).all())  # the step along p (pᵀAp = 0) was not taken


def test_an_exactly_solved_column_converges():
    # one CG step solves A = I exactly: r = 0 and rᵀz = 0, which is convergence, not a breakdown
    for solver in (cg, fcg):
        result = solver(sp.eye(5).tocsr(), np.arange(1.0, 6.0))
        assert (result.info, result.converged, result.iterations) == (0, True, 1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
@pytest.mark.parametrize(
    "call",
    [lambda: cg(poisson(), np.ones(64), device="cuda"),
     lambda: gmres(poisson(), np.ones(64), device="cuda"),
     lambda: sor(poisson(), np.ones(64), device="cuda"),
     lambda: DiffusionStencil((8, 8), device="cuda"),
     lambda: DiffusionStencil((8, 8)).to(device="cuda"),
     lambda: GeometricMultigrid(DiffusionStencil((8, 8), device="cuda")),
     lambda: AMG(poisson(), device="cuda"),
     lambda: IncompleteCholesky(poisson(), device="cuda"),
     lambda: SSOR(poisson(), 1.2, device="cuda"),
     lambda: ModulePreconditioner(lambda r: r, 64, device="cuda"),
     lambda: NetworkWrapping(dim=2).build(lambda x: x, torch.ones(8, 8, dtype=torch.bool), device="cuda"),
     lambda: as_operator(poisson(), device="cuda"),
     lambda: normal_device("cuda")],
    ids=["cg", "gmres", "sor", "stencil", "stencil.to", "gmg", "amg", "ic0", "ssor", "module", "network", "as_operator",
         "normal_device"],
)  # fmt: skip
def test_cuda_on_a_machine_without_it_is_one_line(call):
    with pytest.raises(ConfigError, match=f"^{re.escape(NO_CUDA)}$") as error:
        call()
    assert isinstance(error.value, ValueError)


def test_device_index_beyond_the_machine_and_unknown_names(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    message = "device 'cuda:3' asked for, but this machine has 2 CUDA devices (cuda:0 to cuda:1)"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        cg(poisson(), np.ones(64), device="cuda:3")
    with pytest.raises(ConfigError, match=re.escape("device must be cpu, cuda, cuda:<index> or mps, got 'gpu'")):
        cg(poisson(), np.ones(64), device="gpu")
    if not torch.backends.mps.is_available():
        with pytest.raises(ConfigError, match=re.escape("device 'mps' asked for, but this machine has no MPS device")):
            DiffusionStencil((8, 8), device="mps")
    assert normal_device("cpu") == torch.device("cpu")


def _float32_stencil(n: int = 48) -> DiffusionStencil:
    a = torch.from_numpy(np.exp(np.random.default_rng(4).standard_normal((n, n))))
    mask = torch.ones(n, n, dtype=torch.bool)
    mask[10:20, 25:35] = False
    return DiffusionStencil((n, n), a, mask, dtype=torch.float32)


@pytest.mark.parametrize("kind", ["geometric", "neural"])
def test_float32_stencil_and_multigrid_solve_a_float64_b(kind):
    from neuralsolvers.models import NeuralMultigrid

    stencil = _float32_stencil()
    M = GeometricMultigrid(stencil) if kind == "geometric" else NeuralMultigrid(dim=2).preconditioner(stencil)
    assert M.dtype == torch.float32
    b = torch.from_numpy(np.random.default_rng(5).standard_normal(stencil.shape[0])) * stencil.mask.reshape(-1)
    result = cg(stencil, b, rtol=1e-6, M=M)
    assert result.converged and result.info == 0 and result.x.dtype == torch.float64
    true = np.linalg.norm(b.numpy() - stencil.to_scipy() @ result.x.numpy()) / np.linalg.norm(b.numpy())
    assert true <= 1e-6  # the float64 residual: the float32 preconditioner only steers the float64 iteration
    assert fcg(stencil, b, rtol=1e-6, M=M).converged


def test_spacing_must_be_positive_and_finite():
    with pytest.raises(ValueError, match="^spacing must be a positive finite number, got 0.0$"):
        DiffusionStencil((8, 8), spacing=0.0)


def test_fixed_point_checks_x0_and_reports_maxiter_zero():
    from neuralsolvers.solvers import fixed_point

    with pytest.raises(ValueError, match=re.escape("x0 has NaN or Inf entries (1 of 3): a solve needs finite data")):
        fixed_point(lambda x: x / 2, torch.tensor([1.0, torch.nan, 0.0]))
    capped = fixed_point(lambda x: x / 2 + 1, torch.zeros(3), maxiter=0)
    assert (capped.info, capped.converged, capped.iterations) == (1, False, 0)
    assert capped.message == "not converged in 0 iterations (maxiter=0)"


def test_an_operator_the_probe_cannot_apply_is_named_with_the_way_out():
    class OwnBatchOnly:  # symmetric, but takes exactly the three columns of its batch
        shape, dtype = (4, 4), torch.float64

        def matmat(self, x):
            if x.shape[1] != 3:
                raise RuntimeError(f"expected 3 columns, got {x.shape[1]}")
            return 2 * x

        def matvec(self, x):
            return self.matmat(x[:, None])[:, 0]

    b = torch.ones(4, 3, dtype=torch.float64)
    expected = ("the symmetry probe of cg could not apply A to two vectors (RuntimeError: expected 3 columns, got 2); "
                "pass check_symmetry=False to skip it")  # fmt: skip
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        cg(OwnBatchOnly(), b)
    assert bool(cg(OwnBatchOnly(), b, check_symmetry=False).converged.all())
