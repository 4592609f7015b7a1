"""A learned preconditioner as a SciPy `LinearOperator`: the thread budget of its calls (in force
inside, restored after), the same numbers as its own `apply`, and SciPy's `cg` as fast to converge as
ours."""

from collections.abc import Iterator
from contextlib import nullcontext

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
from threadpoolctl import threadpool_limits

from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import DiffusionStencil, GeometricMultigrid, cg
from neuralsolvers.solvers.preconditioners import ModulePreconditioner, PreconditionerOperator
from neuralsolvers.solvers.threads import blas_threads, single_threaded_blas, torch_thread_budget


def obstacle_stencil(grid: tuple[int, int] = (24, 36)) -> DiffusionStencil:
    """Dirichlet walls and a disc of obstacle cells, float64."""
    y, x = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    mask = (y - grid[0] / 2) ** 2 + (x - grid[1] / 3) ** 2 > (min(grid) / 6) ** 2
    return DiffusionStencil(grid, mask=mask, dirichlet_walls=True)


def right_hand_side(A: DiffusionStencil, seed: int = 0) -> torch.Tensor:
    b = torch.randn(A.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return b * A.mask.reshape(-1)


@pytest.fixture
def two_threads_each() -> Iterator[None]:
    """torch and NumPy's BLAS on two threads each (the tests' default is one), as on a 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threadpool_limits(2, user_api="blas"):
            if blas_threads() != 2:
                pytest.skip("no BLAS pool that threadpoolctl can set")
            yield
    finally:
        torch.set_num_threads(threads)


class Recorder:
    """`r ↦ 2 r`, noting the torch and BLAS threads each call ran with (or raising, if told)."""

    def __init__(self, fail: bool = False):
        self.seen: list[tuple[int, int]] = []
        self.fail = fail

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        self.seen.append((torch.get_num_threads(), blas_threads()))
        if self.fail:
            raise RuntimeError("inside the call")
        return 2 * r


def test_budget_in_force_inside_each_call_and_restored_after(two_threads_each):
    recorder = Recorder()
    op = ModulePreconditioner(recorder, 10, linear_spd=True).as_linear_operator()
    assert isinstance(op, PreconditionerOperator)
    v = np.arange(10.0)
    for _ in range(3):
        np.testing.assert_array_equal(op.matvec(v), 2 * v)
        assert (torch.get_num_threads(), blas_threads()) == (2, 2)  # restored after the call
    op.matmat(np.ones((10, 3)))
    # one BLAS worker may spin on its core: torch gets the other one, BLAS is left as the user set it
    assert recorder.seen == [(1, 2)] * 4


def test_context_manager_runs_blas_on_one_thread_and_torch_on_all(two_threads_each):
    recorder = Recorder()
    M = ModulePreconditioner(recorder, 10, linear_spd=True)
    with M.as_linear_operator() as op:
        assert blas_threads() == 1
        op.matvec(np.ones(10))
        with op:  # re-entrant
            op.matvec(np.ones(10))
        assert blas_threads() == 1
    assert recorder.seen == [(2, 1)] * 2
    assert (torch.get_num_threads(), blas_threads()) == (2, 2)


def test_budget_restored_after_a_failing_call(two_threads_each):
    op = ModulePreconditioner(Recorder(fail=True), 10, linear_spd=True).as_linear_operator()
    with pytest.raises(RuntimeError, match="inside the call"), op:
        op.matvec(np.ones(10))
    assert (torch.get_num_threads(), blas_threads()) == (2, 2)


def test_thread_helpers_restore_their_settings(two_threads_each):
    with torch_thread_budget(3) as budget:
        assert budget == torch.get_num_threads() == 3
    with torch_thread_budget() as budget:  # two torch threads less one BLAS worker
        assert budget == torch.get_num_threads() == 1
    with single_threaded_blas():
        assert blas_threads() == 1
        with torch_thread_budget() as budget:
            assert budget == 2
    assert (torch.get_num_threads(), blas_threads()) == (2, 2)


@pytest.mark.parametrize("kind", ["neural", "geometric"])
def test_linear_operator_equals_apply(kind):
    A = obstacle_stencil()
    M = NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1, sweeps=2).preconditioner(A) if kind == "neural" else GeometricMultigrid(A)
    op = M.as_linear_operator()
    rng = np.random.default_rng(0)
    v, V = rng.standard_normal(A.shape[0]), rng.standard_normal((A.shape[0], 3))
    np.testing.assert_allclose(op.matvec(v), M.apply(torch.from_numpy(v)).numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(op.matmat(V), M.apply(torch.from_numpy(V)).numpy(), rtol=0, atol=1e-12)
    with op:
        np.testing.assert_allclose(op @ v, M.apply(torch.from_numpy(v)).numpy(), rtol=0, atol=1e-12)


def test_scipy_cg_iterations_match_ours(two_threads_each):
    A = obstacle_stencil((48, 72))
    b = right_hand_side(A)
    M = NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1, sweeps=2).preconditioner(A)
    ours = cg(A, b, M=M, rtol=1e-6)
    for scoped in (False, True):
        iterates: list[np.ndarray] = []
        op = M.as_linear_operator()
        with op if scoped else nullcontext():
            x, info = spla.cg(A.to_scipy(), b.numpy(), M=op, rtol=1e-6, callback=iterates.append)
        assert info == 0 and ours.converged
        assert abs(len(iterates) - ours.iterations) <= 1
        np.testing.assert_allclose(x, ours.x.numpy(), rtol=0, atol=1e-5 * np.abs(ours.x.numpy()).max())
