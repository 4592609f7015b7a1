"""Loss functions against their definitions."""

import pytest
import torch

from neuralsolvers.physics.losses import OperatorLoss, dcdm_loss, relative_l2


def test_relative_l2_per_sample():
    target = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    prediction = torch.tensor([[3.0, 4.5], [0.0, 0.0]])
    torch.testing.assert_close(relative_l2(prediction, target), torch.tensor([0.1, 1.0]))


@pytest.mark.parametrize("spatial_dims", [1, 2])
def test_neuralop_relative_l2_is_batch_mean_of_per_sample_errors(spatial_dims):
    torch.manual_seed(0)
    shape = (6, 10) if spatial_dims == 1 else (6, 1, 8, 8)
    target, prediction = torch.randn(shape), torch.randn(shape)
    loss = OperatorLoss("rel_l2", spatial_dims)(prediction, target)
    torch.testing.assert_close(loss, relative_l2(prediction, target).mean(), rtol=1e-5, atol=1e-7)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss"):
        OperatorLoss("l3")


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
