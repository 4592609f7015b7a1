"""Learned incomplete Cholesky (NeuralIF): the untrained network is IC(0); for any weights the
preconditioner is linear and SPD, and plain cg and SciPy's cg agree with it; the sketched loss is
the dense formula and trains; a registry round trip rebuilds it; bad input is refused."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.data_gen.finite_elements import FiniteElementDiffusion, to_systems
from neuralsolvers.models import LearnedIncompleteCholesky
from neuralsolvers.models.registry import build_model, model_spec
from neuralsolvers.solvers import IncompleteCholesky, cg, ic0_factor
from neuralsolvers.solvers.operators import scipy_to_torch_csr

KERSHAW = sp.csr_matrix(np.array([[3, -2, 0, 2], [-2, 3, -2, 0], [0, -2, 3, -2], [2, 0, -2, 3.0]]))


def fe_systems(count: int, refine: int, seed: int = 0) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    """P1 diffusion with log-normal κ (σ = 1.5, four orders of magnitude) on unstructured meshes."""
    generator = FiniteElementDiffusion(
        mesh=["disc", "square", "square_holes"],
        refine=refine,
        coefficients=["lognormal"],
        sigma=1.5,
    )
    return to_systems(generator.generate(count, np.random.default_rng(seed)))


@pytest.fixture(scope="module")
def small():
    return fe_systems(2, refine=3)  # ~100–150 unknowns: dense checks


@pytest.fixture(scope="module")
def medium():
    return fe_systems(5, refine=4)  # ~400–530 unknowns: 3 to train on, 2 held out


def randomized(network: LearnedIncompleteCholesky, seed: int, std: float = 1.0):
    """Every weight drawn at random: the guarantees must not depend on training."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(
                std * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype)
            )
    return network


def as_scipy(L: torch.Tensor) -> sp.csr_matrix:
    parts = (
        L.values().detach().double().numpy(),
        L.col_indices().numpy(),
        L.crow_indices().numpy(),
    )
    return sp.csr_matrix(parts, shape=tuple(L.shape))


def iterations(A, b, M) -> int:
    result = cg(A, b, M=M, rtol=1e-8, maxiter=2000)
    assert result.converged
    return int(result.iterations)


def test_untrained_factor_is_ic0(small, medium):
    torch.manual_seed(0)
    net = LearnedIncompleteCholesky()
    for A, _ in [*small, *medium]:
        expected = ic0_factor(A)
        for given in (A, scipy_to_torch_csr(A)):
            L = net.factor(given)
            assert L.layout == torch.sparse_csr and L.dtype == torch.float64 and L.requires_grad
            difference = as_scipy(L) - expected
            assert abs(difference).max() <= 1e-12 * abs(expected).max()
            assert (as_scipy(L) != 0).nnz == sp.tril(A).nnz
        single = net.factor(scipy_to_torch_csr(A, torch.float32))
        assert single.dtype == torch.float32
        assert abs(as_scipy(single) - expected).max() <= 1e-5 * abs(expected).max()
        r = torch.randn(A.shape[0], 3, dtype=torch.float64)
        M, classical = net.preconditioner(A), net.classical_preconditioner(A)
        assert isinstance(classical, IncompleteCholesky)
        torch.testing.assert_close(M.apply(r), classical.apply(r), rtol=1e-10, atol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_weights_give_linear_symmetric_positive_definite_preconditioners(small, seed):
    net = randomized(LearnedIncompleteCholesky(), seed)
    for A, _ in small:
        n = A.shape[0]
        L = as_scipy(net.factor(A))
        assert sp.triu(L, k=1).nnz == 0 and L.diagonal().min() > 0
        assert not np.allclose(L.toarray(), ic0_factor(A).toarray())  # the weights act
        M = net.preconditioner(scipy_to_torch_csr(A))
        assert M.linear and M.linear_spd and M.shape == (n, n) and M.dtype == torch.float64
        dense = M.apply(torch.eye(n, dtype=torch.float64))
        assert torch.allclose(dense, dense.T, rtol=0, atol=1e-10 * dense.abs().max())
        eigenvalues = torch.linalg.eigvalsh((dense + dense.T) / 2)
        assert eigenvalues.min() > 0, (seed, eigenvalues.min())
        x, y = torch.randn(n, 2, dtype=torch.float64).unbind(1)
        assert M.apply(x).shape == (n,)
        torch.testing.assert_close(
            M.apply(2 * x - 3 * y),
            2 * M.apply(x) - 3 * M.apply(y),
            rtol=0,
            atol=1e-10 * dense.abs().max(),
        )
        # M⁻¹ = L Lᵀ exactly: the solves invert the factor
        torch.testing.assert_close(
            dense, torch.linalg.inv(torch.as_tensor((L @ L.T).toarray())), rtol=1e-8, atol=1e-12
        )


@pytest.mark.parametrize("seed", [None, 0])
def test_cg_converges_and_agrees_with_scipy(medium, seed):
    net = LearnedIncompleteCholesky()
    if seed is not None:
        randomized(net, seed, std=0.3)
    A, b = medium[0]
    M = net.preconditioner(A)
    ours = iterations(A, b, M)
    count = []
    with M.as_linear_operator() as op:
        x, info = spla.cg(A, b, M=op, rtol=1e-8, maxiter=2000, callback=lambda _: count.append(1))
    assert info == 0 and np.linalg.norm(b - A @ x) <= 1e-8 * np.linalg.norm(b) * 1.01
    assert abs(ours - len(count)) <= 2, (ours, len(count))


def test_training_loss_is_the_dense_sketched_frobenius_error(small):
    A, _ = small[0]
    net = randomized(LearnedIncompleteCholesky(), 3, std=0.3).double()
    probes = torch.randn(A.shape[0], 5, dtype=torch.float64)
    loss = net.training_loss(scipy_to_torch_csr(A), probes)
    root = np.sqrt(A.diagonal())
    scaling = np.diag(1 / root)
    L_hat = scaling @ as_scipy(net.factor(A)).toarray()
    A_hat = torch.as_tensor(scaling @ A.toarray() @ scaling)
    error = torch.as_tensor(L_hat @ L_hat.T) - A_hat
    expected = ((error @ probes).square().sum(0) / (A_hat @ probes).square().sum(0)).mean()
    torch.testing.assert_close(loss.detach(), expected, rtol=1e-10, atol=0)
    loss.backward()
    assert (
        net.lower_out.weight.grad.abs().sum() > 0 and net.diagonal_out.weight.grad.abs().sum() > 0
    )
    # a vector probe is one column; the estimate is unbiased: many probes approach the exact ratio
    torch.testing.assert_close(
        net.training_loss(A, probes[:, 0]), net.training_loss(A, probes[:, :1])
    )
    many = net.training_loss(
        A,
        torch.randn(
            A.shape[0], 4000, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        ),
    )
    exact = error.square().sum() / A_hat.square().sum()
    assert abs(many.item() / exact.item() - 1) < 0.1


def test_short_training_lowers_the_loss_and_keeps_held_out_iterations_near_ic0(medium):
    """Measured (30 Adam steps, lr 3e-3, 4 probes a step): the loss on fixed probes drops by
    17% (ratio 0.83–0.84 for seeds 0–3); held-out CG iterations (rtol 1e-8) go from IC(0)'s
    [37, 45] to [38, 47] (seed 0; [38, 46] for seeds 1–3): the Frobenius proxy buys no CG
    iterations on these matrices, it costs one or two."""
    train, held_out = medium[:3], medium[3:]
    torch.manual_seed(0)
    net = LearnedIncompleteCholesky()
    classical = [iterations(A, b, net.classical_preconditioner(A)) for A, b in held_out]
    probes = [
        torch.randn(A.shape[0], 32, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
        for A, _ in train
    ]

    def fixed_loss() -> float:
        with torch.no_grad():
            return float(
                sum(net.training_loss(A, W) for (A, _), W in zip(train, probes, strict=True))
            ) / len(train)

    before = fixed_loss()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(30):
        optimizer.zero_grad()
        loss = sum(
            net.training_loss(A, torch.randn(A.shape[0], 4, generator=generator)) for A, _ in train
        ) / len(train)
        loss.backward()
        optimizer.step()
    after = fixed_loss()
    assert after < 0.9 * before, (before, after)
    learned = [iterations(A, b, net.preconditioner(A)) for A, b in held_out]
    assert all(ours <= theirs + 2 for ours, theirs in zip(learned, classical, strict=True)), (
        learned,
        classical,
    )


def test_registry_round_trip_gives_the_same_factor(small):
    A, _ = small[0]
    net = randomized(LearnedIncompleteCholesky(hidden=8, layers=3, correction=1.5), 4, std=0.3)
    spec = model_spec(net)
    assert spec == {
        "name": "learned_ic",
        "init_args": {"hidden": 8, "layers": 3, "correction": 1.5},
    }
    rebuilt = build_model(spec["name"], spec["init_args"])
    rebuilt.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(
            rebuilt.factor(A).values(), net.factor(A).values(), rtol=0, atol=0
        )


def test_ic0_breakdown_starts_from_symmetric_gauss_seidel():
    net = LearnedIncompleteCholesky()
    with pytest.raises(ValueError, match="breaks down"):
        net.classical_preconditioner(KERSHAW)
    L = as_scipy(net.factor(KERSHAW)).toarray()
    d = np.sqrt(KERSHAW.diagonal())
    expected = d[:, None] * (np.eye(4) + np.tril(KERSHAW.toarray() / np.outer(d, d), k=-1))
    np.testing.assert_allclose(L, expected, rtol=1e-14)
    dense = randomized(net, 0).preconditioner(KERSHAW).apply(torch.eye(4, dtype=torch.float64))
    assert torch.linalg.eigvalsh((dense + dense.T) / 2).min() > 0


BAD = {
    "square": (sp.csr_matrix(np.ones((3, 4))), "square"),
    "symmetric": (sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 2.0]])), "not symmetric"),
    "finite": (sp.csr_matrix(np.array([[2.0, np.nan], [np.nan, 2.0]])), "non-finite"),
    "diagonal": (sp.csr_matrix(np.array([[2.0, 1.0], [1.0, -1.0]])), "not positive definite: its diagonal"),
    "torch_square": (None, "square"),  # a torch CSR (2, 3), made in the test
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused(case):
    A, message = BAD[case]
    if A is None:
        A = scipy_to_torch_csr(sp.csr_matrix(np.ones((2, 3))))
    net = LearnedIncompleteCholesky()
    for call in (
        net.factor,
        net.preconditioner,
        net.classical_preconditioner,
        lambda A: net.training_loss(A, torch.ones(2, 1)),
    ):
        with pytest.raises(ValueError, match=message):
            call(A)


def test_other_misuse_is_refused(small):
    A, _ = small[0]
    net = LearnedIncompleteCholesky()
    with pytest.raises(ValueError, match="not differentiable"):
        net.preconditioner(A, differentiable=True)
    with pytest.raises(ValueError, match=r"probes must be \(n, k\)"):
        net.training_loss(A, torch.ones(A.shape[0] + 1, 2))
    with pytest.raises(TypeError, match="sparse"):
        net.factor(torch.eye(3))
    with pytest.raises(ValueError, match="lower triangular"):
        IncompleteCholesky.from_factor(sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0]])))
    with pytest.raises(ValueError, match="positive diagonal"):
        IncompleteCholesky.from_factor(sp.csr_matrix(np.array([[1.0, 0.0], [1.0, -1.0]])))
