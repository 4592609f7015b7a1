"""The learned AMG cycle and model: SPD and linear for any weights, untrained = PyAMG's hierarchy,
Galerkin products against SciPy, the solvers agree, training lowers held-out iterations, checkpoints
round-trip on a SciPy matrix, bad input is one line."""

from __future__ import annotations

import numpy as np
import pyamg
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.fe_elasticity import FiniteElementElasticity, to_elasticity_systems
from neuralsolvers.data_gen.finite_elements import FiniteElementDiffusion, to_systems
from neuralsolvers.models import LearnedAMG
from neuralsolvers.solvers import cg
from neuralsolvers.solvers.multigrid.learned_amg import coarsening_plan
from neuralsolvers.solvers.multigrid.sparse_products import GalerkinPlan, product_plan
from neuralsolvers.solvers.operators import canonical_csr
from neuralsolvers.train.preconditioner.losses import pcg_residual_loss

COARSENINGS = ["smoothed_aggregation", "ruge_stuben"]


def fe_systems(count: int, seed: int, **options) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    """``count`` P1 diffusion systems on unstructured meshes (lognormal κ by default)."""
    settings = {"mesh": ["disc", "square_holes", "delaunay"], "refine": 4, "coefficients": ["lognormal"], **options}
    return to_systems(FiniteElementDiffusion(**settings).generate(count, np.random.default_rng(seed)))


@pytest.fixture(scope="module")
def mesh_2d() -> sp.csr_matrix:
    return fe_systems(1, 0)[0][0]


@pytest.fixture(scope="module")
def mesh_3d() -> sp.csr_matrix:
    return fe_systems(1, 0, mesh=["ball"], refine=2)[0][0]


@pytest.fixture(scope="module")
def elasticity() -> tuple[sp.csr_matrix, np.ndarray]:
    system = to_elasticity_systems(FiniteElementElasticity(mesh=["lshape"], refine=3).generate(1, np.random.default_rng(0)))[0]
    return system.matrix, system.modes


def randomized(coarsening: str, seed: int = 0, scale: float = 1.0) -> LearnedAMG:
    """A float64 network with every weight drawn at random (the heads included, so nothing is classical)."""
    torch.manual_seed(seed)
    net = LearnedAMG(coarsening=coarsening, hidden=8).double()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(scale * torch.randn_like(parameter))
    return net


def dense_cycle(M, n: int) -> torch.Tensor:
    return M.apply(torch.eye(n, dtype=torch.float64))


@pytest.mark.parametrize("coarsening", COARSENINGS)
@pytest.mark.parametrize("mesh", ["mesh_2d", "mesh_3d"])
def test_spd_and_linear_for_random_weights(coarsening: str, mesh: str, request: pytest.FixtureRequest) -> None:
    A = request.getfixturevalue(mesh)
    n = A.shape[0]
    for seed, scale in [(0, 0.3), (1, 3.0)]:  # moderate and saturating weights
        M = randomized(coarsening, seed, scale).preconditioner(A)
        B = dense_cycle(M, n)
        assert torch.allclose(B, B.T, atol=1e-12 * float(B.abs().max()))
        assert torch.linalg.eigvalsh(B).min() > 0
        x, y = torch.randn(n, dtype=torch.float64), torch.randn(n, dtype=torch.float64)
        assert torch.allclose(M.apply(2 * x - 3 * y), 2 * M.apply(x) - 3 * M.apply(y), atol=1e-10)


def test_spd_for_random_weights_on_elasticity(elasticity: tuple[sp.csr_matrix, np.ndarray]) -> None:
    A, modes = elasticity
    M = randomized("smoothed_aggregation", 2).preconditioner(A, near_nullspace=modes)
    B = dense_cycle(M, A.shape[0])
    assert torch.allclose(B, B.T, atol=1e-12 * float(B.abs().max()))
    assert torch.linalg.eigvalsh(B).min() > 0


@pytest.mark.parametrize("coarsening", COARSENINGS)
def test_untrained_network_is_the_classical_hierarchy(coarsening: str, mesh_2d: sp.csr_matrix) -> None:
    net = LearnedAMG(coarsening=coarsening, max_coarse=10).double()
    learned, classical = net.preconditioner(mesh_2d), net.classical_preconditioner(mesh_2d)
    np.random.seed(0)  # noqa: NPY002  PyAMG draws its spectral-radius estimates from NumPy's global generator; the plan seeds it the same way
    reference = {"smoothed_aggregation": pyamg.smoothed_aggregation_solver, "ruge_stuben": pyamg.ruge_stuben_solver}[coarsening](
        mesh_2d, max_coarse=10, presmoother=None, postsmoother=None
    )
    assert len(learned.levels) == len(reference.levels) >= 3
    for ours, theirs in zip(learned.levels[:-1], reference.levels[:-1], strict=True):
        assert np.abs(ours.operator.to_dense().numpy() - theirs.A.toarray()).max() <= 1e-12 * abs(theirs.A).max()
        assert np.abs(ours.prolongation.to_dense().numpy() - theirs.P.toarray()).max() <= 1e-12
    assert np.abs(learned.coarsest_operator.numpy() - reference.levels[-1].A.toarray()).max() <= 1e-12 * abs(mesh_2d).max()
    r = torch.randn(mesh_2d.shape[0], 3, dtype=torch.float64)
    assert torch.allclose(learned.apply(r), classical.apply(r), rtol=0, atol=1e-12 * float(classical.apply(r).abs().max()))


def test_galerkin_products_against_scipy(mesh_2d: sp.csr_matrix) -> None:
    plan = coarsening_plan(mesh_2d, "smoothed_aggregation")
    A, P = plan.matrices[0], plan.prolongations[0]
    P_random = P.copy()
    P_random.data = np.random.default_rng(0).standard_normal(P.nnz)
    galerkin = GalerkinPlan(A, P_random)
    values = galerkin.values(torch.from_numpy(A.data), torch.from_numpy(P_random.data))
    ours = sp.csr_matrix((values.numpy(), galerkin.coarse.indices.numpy(), galerkin.coarse.indptr.numpy()), shape=galerkin.coarse.shape)
    assert abs(ours - P_random.T @ A @ P_random).max() <= 1e-12 * abs(P_random.T @ A @ P_random).max()
    product = product_plan(A, P_random)
    assert abs(sp.csr_matrix((product.values(torch.from_numpy(A.data), torch.from_numpy(P_random.data)).numpy(), product.indices.numpy(),
                              product.indptr.numpy()), shape=product.shape) - A @ P_random).max() <= 1e-12 * abs(A @ P_random).max()  # fmt: skip


def test_differentiable_cycle_equals_the_plain_one_and_has_gradients(mesh_2d: sp.csr_matrix) -> None:
    net = randomized("ruge_stuben", 3, 0.3)
    A = torch.from_numpy(mesh_2d.toarray()).to_sparse_csr()
    r = torch.randn(mesh_2d.shape[0], 2, dtype=torch.float64)
    trained = net.preconditioner(A, differentiable=True)
    z = trained.apply(r)
    assert torch.allclose(z, net.preconditioner(A).apply(r), atol=1e-12 * float(z.detach().abs().max()))
    z.square().sum().backward()
    assert all(parameter.grad is not None and parameter.grad.abs().sum() > 0 for parameter in net.parameters())


@pytest.mark.parametrize("coarsening", COARSENINGS)
def test_cg_and_scipy_cg_agree(coarsening: str, mesh_2d: sp.csr_matrix) -> None:
    M = randomized(coarsening, 4, 0.3).preconditioner(mesh_2d)
    b = np.random.default_rng(1).standard_normal(mesh_2d.shape[0])
    ours = cg(mesh_2d, torch.from_numpy(b), M=M, rtol=1e-8, maxiter=500)
    count = []
    x, info = spla.cg(mesh_2d, b, rtol=1e-8, maxiter=500, M=M.as_linear_operator(), callback=lambda _: count.append(1))
    assert ours.converged and info == 0
    assert abs(ours.iterations - len(count)) <= 2
    assert np.linalg.norm(b - mesh_2d @ x) <= 1e-8 * np.linalg.norm(b) * 1.01


def test_pyamg_krylov_solvers_take_it(mesh_2d: sp.csr_matrix) -> None:
    from pyamg.krylov import cg as pyamg_cg

    M = randomized("ruge_stuben", 6, 0.3).preconditioner(mesh_2d)
    b = np.random.default_rng(2).standard_normal(mesh_2d.shape[0])
    residuals: list[float] = []
    x, info = pyamg_cg(mesh_2d, b, M=M.as_linear_operator(), tol=1e-8, maxiter=200, residuals=residuals)
    assert info == 0 and np.linalg.norm(b - mesh_2d @ x) <= 1e-7 * np.linalg.norm(b)
    assert abs(len(residuals) - 1 - cg(mesh_2d, torch.from_numpy(b), M=M, rtol=1e-8).iterations) <= 2


def test_set_up_in_parts_and_level_table(mesh_2d: sp.csr_matrix) -> None:
    M = LearnedAMG().preconditioner(mesh_2d)
    assert set(M.setup_seconds) == {"coarsening", "network", "Galerkin products", "coarsest factorization"}
    table = repr(M)
    assert "Operator Complexity" in table and "Set-up:" in table and "ℓ1-Jacobi" in table
    assert M.hierarchy.operator_complexity() > 1


def test_short_training_lowers_held_out_iterations() -> None:
    train, held_out = fe_systems(4, 10), fe_systems(2, 11, mesh=["lshape"], refine=5, coefficients=["binary"], contrast=3)
    torch.manual_seed(0)
    net = LearnedAMG(coarsening="ruge_stuben", omega=1.3, sweeps=2)
    matrices = [torch.from_numpy(A.toarray()).float().to_sparse_csr() for A, _ in train]

    def iterations(build) -> list[int]:
        return [cg(A, torch.from_numpy(b), M=build(A), rtol=1e-8, maxiter=500).iterations for A, b in held_out]

    with torch.no_grad():
        classical = iterations(net.classical_preconditioner)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for step in range(STEPS):
        A = matrices[step % len(matrices)]
        loss = pcg_residual_loss(lambda x, A=A: A @ x, net.preconditioner(A, differentiable=True).apply, torch.randn(A.shape[0], 4, generator=generator), 8)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        learned = iterations(net.preconditioner)
    print("classical", classical, "learned", learned)
    assert sum(learned) < sum(classical)


STEPS = 40


def test_load_preconditioner_round_trip_on_a_scipy_matrix(tmp_path, mesh_2d: sp.csr_matrix) -> None:
    import neuralsolvers
    from neuralsolvers.checkpoints import weights_checksum
    from neuralsolvers.models.registry import model_spec
    from neuralsolvers.solvers.learned import MATRIX_RECORD

    net = randomized("smoothed_aggregation", 5, 0.3).float()
    state = {f"model.{key}": value for key, value in net.state_dict().items()}
    path = tmp_path / "learned_amg.ckpt"
    torch.save({"state_dict": state, "neuralsolvers_model": model_spec(net), "neuralsolvers_preconditioner": dict(MATRIX_RECORD),
                "neuralsolvers_weights_sha256": weights_checksum(state)}, path)  # fmt: skip
    M = neuralsolvers.load_preconditioner(path, mesh_2d)
    r = torch.randn(mesh_2d.shape[0], dtype=torch.float64)
    expected = net.preconditioner(mesh_2d).apply(r)  # the same float32 network, the float64 hierarchy
    torch.testing.assert_close(M.apply(r), expected, rtol=0, atol=1e-12 * float(expected.abs().max()))
    assert cg(mesh_2d, r, M=M, rtol=1e-8).converged


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (sp.csr_matrix(np.ones((3, 4))), "must be square"),
        (sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 2.0]])), "not symmetric"),
        (sp.csr_matrix(np.array([[np.nan, 0.0], [0.0, 1.0]])), "non-finite"),
        (sp.csr_matrix(np.array([[-1.0, 0.0], [0.0, 1.0]])), "not positive definite"),
    ],
)
def test_bad_matrices_are_one_line(matrix: sp.csr_matrix, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        LearnedAMG().preconditioner(matrix)
    assert "\n" not in str(error.value)


def test_bad_options_are_one_line() -> None:
    for options, message in [({"coarsening": "geometric"}, "coarsening must be one of"), ({"omega": 2.0}, "omega"), ({"hidden": 0}, "positive"),
                             ({"learn_smoother": False, "learn_interpolation": False}, "both are off"), ({"interpolation_range": 1.0}, "interpolation_range")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            LearnedAMG(**options)
    with pytest.raises(ValueError, match="smoothed aggregation only"):
        coarsening_plan(sp.identity(4, format="csr") * 2.0, "ruge_stuben", near_nullspace=np.ones((4, 1)))
    with pytest.raises(ValueError, match="precision"):
        LearnedAMG().preconditioner(sp.identity(4, format="csr") * 2.0, precision="half")


def test_canonical_csr_sums_duplicates() -> None:
    matrix = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([1, 0, 0]), np.array([0, 3, 3])), shape=(2, 2))
    assert canonical_csr(matrix).nnz == 2 and matrix.nnz == 3


def test_non_finite_interpolation_from_pyamg_is_one_line(monkeypatch, mesh_2d: sp.csr_matrix) -> None:
    """PyAMG's Ruge–Stüben interpolation divides by zero on some matrices (a 3D cube with mixed walls and
    binary κ at 342k unknowns: ``inf`` in P, NaN below): the plan refuses it instead of a NaN cycle."""
    import neuralsolvers.solvers.multigrid.learned_amg as learned_amg

    real = learned_amg.COARSENINGS["ruge_stuben"]

    def broken(A, **options):
        solver = real(A, **options)
        solver.levels[0].P = solver.levels[0].P.tolil()
        solver.levels[0].P[3, 0] = np.inf
        solver.levels[0].P = solver.levels[0].P.tocsr()
        return solver

    monkeypatch.setitem(learned_amg.COARSENINGS, "ruge_stuben", broken)
    with pytest.raises(ValueError, match=r"^PyAMG's ruge_stuben coarsening gave non-finite interpolation weights on level 0 .*coarsening='smoothed_aggregation'$"):
        LearnedAMG(coarsening="ruge_stuben").preconditioner(mesh_2d)
