"""Loss functions against their definitions."""

import pytest
import torch

from neuralsolvers.train.losses import OperatorLoss, relative_l2


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
