"""The learned preconditioners' losses against their definitions."""

import torch

from neuralsolvers.train.preconditioner.losses import dcdm_loss


def test_dcdm_loss_is_scale_invariant_and_zero_at_the_inverse():
    torch.manual_seed(0)
    Q = torch.randn(12, 12, dtype=torch.float64)
    A = Q @ Q.T + 12 * torch.eye(12, dtype=torch.float64)
    b = torch.randn(5, 12, dtype=torch.float64)
    f = torch.randn(5, 12, dtype=torch.float64)
    apply_A = lambda x: x @ A  # noqa: E731 (A is symmetric)
    loss = dcdm_loss(f, b, apply_A)
    torch.testing.assert_close(dcdm_loss(3 * f, b, apply_A), loss)
    torch.testing.assert_close(dcdm_loss(-0.5 * f, b, apply_A), loss)
    exact = torch.linalg.solve(A, b.T).T
    assert float(dcdm_loss(7 * exact, b, apply_A)) < 1e-20 < float(loss)


def test_cycle_energy_loss_is_the_log_contraction_of_the_error_propagation():
    """On eigenvectors of ``D⁻¹A`` Jacobi's ``E = I − ωD⁻¹A`` contracts by exactly ``|1 − ωλ|`` per
    application; on random errors many powers approach the largest such factor (the A-norm of E)."""
    from neuralsolvers.train.preconditioner.losses import cycle_energy_loss

    torch.manual_seed(0)
    Q = torch.randn(12, 12, dtype=torch.float64)
    A = Q @ Q.T + 12 * torch.eye(12, dtype=torch.float64)
    d = A.diagonal()
    omega = 0.6
    apply_A, apply_M = (lambda x: A @ x), (lambda r: omega * r / d[:, None])  # noqa: E731
    scaled = A / d.sqrt()[:, None] / d.sqrt()[None, :]  # D^-1/2 A D^-1/2: the same eigenvalues as D⁻¹A
    eigenvalues, vectors = torch.linalg.eigh(scaled)
    errors = vectors / d.sqrt()[:, None]  # eigenvectors of D⁻¹A
    factors = (1 - omega * eigenvalues).abs()
    for k in (1, 3):
        for column in range(12):
            loss = cycle_energy_loss(apply_A, apply_M, errors[:, column : column + 1], powers=k)
            torch.testing.assert_close(loss, torch.log(factors[column]), rtol=1e-9, atol=1e-9)
    long_run = cycle_energy_loss(apply_A, apply_M, torch.randn(12, 4, dtype=torch.float64), powers=200)
    assert abs(float(long_run) - float(torch.log(factors.max()))) < 0.02
