"""Training callbacks: a non-finite loss stops the run with a clear message."""

import pytest
import torch

from neuralsolvers.train.callbacks import NonFiniteLossStop, TrainingDiverged


class FakeTrainer:
    current_epoch, global_step = 3, 120


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_loss_stops_with_a_message(value):
    with pytest.raises(TrainingDiverged, match="epoch 3, step 120"):
        NonFiniteLossStop().on_train_batch_end(FakeTrainer(), None, {"loss": torch.tensor(value)}, None, 0)


def test_finite_loss_goes_on():
    NonFiniteLossStop().on_train_batch_end(FakeTrainer(), None, torch.tensor(0.5), None, 0)
