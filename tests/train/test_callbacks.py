"""Training callbacks: a non-finite loss stops the run with a clear message."""

import time

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


def test_training_clock_accumulates_over_resumed_runs_and_lands_in_checkpoints():
    from types import SimpleNamespace

    from neuralsolvers.train.callbacks import TrainingClock

    clock = TrainingClock()
    clock.on_train_start(None, None)
    time.sleep(0.05)
    clock.on_train_end(None, None)
    first = clock.state_dict()["seconds"]
    assert 0.04 < first < 1.0
    resumed = TrainingClock()
    resumed.load_state_dict(clock.state_dict())
    resumed.on_train_start(None, None)
    checkpoint = {}
    module = SimpleNamespace(device=torch.device("cpu"))
    resumed.on_save_checkpoint(SimpleNamespace(num_devices=1, global_step=7), module, checkpoint)
    assert checkpoint["training_time"]["seconds"] >= first and checkpoint["training_time"]["steps"] == 7


def test_break_even_counts_solves_until_training_pays():
    from neuralsolvers.checkpoints import break_even

    assert break_even(100.0, learned_seconds=1.0, classical_seconds=3.0) == 50.0
    assert break_even(100.0, learned_seconds=3.0, classical_seconds=3.0) is None
