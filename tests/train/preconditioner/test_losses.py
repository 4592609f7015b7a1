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
