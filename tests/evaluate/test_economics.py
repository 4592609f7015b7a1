"""Training economics: the clock a checkpoint records, read with its network in one read; device-hours
and the break-even of a row."""

import torch

from neuralsolvers.evaluate.economics import (
    break_even,
    break_even_cell,
    device_hours,
    trained_network,
    training_cost,
    training_time,
)
from neuralsolvers.models import DeepONet, model_spec

CLOCK = {"seconds": 7200.0, "device": "cpu", "num_devices": 2, "steps": 10}


def test_the_network_and_its_clock_come_from_one_read(tmp_path, monkeypatch):
    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    path = tmp_path / "a.ckpt"
    state = {f"model.{key}": value for key, value in net.state_dict().items()}
    torch.save({"neuralsolvers_model": model_spec(net), "state_dict": state, "training_time": CLOCK}, path)
    reads, load = [], torch.load
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: reads.append(args[0]) or load(*args, **kwargs))
    network, clock = trained_network(path)
    assert reads == [path] and clock == CLOCK and type(network) is DeepONet and not network.training
    assert training_time(path) == CLOCK and training_time({"state_dict": {}}) is None


def test_device_hours_and_break_even():
    assert device_hours(CLOCK) == 4.0 and device_hours(None) is None
    assert break_even(100.0, learned_seconds=1.0, classical_seconds=3.0) == 50.0
    assert break_even(100.0, learned_seconds=3.0, classical_seconds=3.0) is None
    assert break_even_cell(CLOCK, 1.0, 3.0) == "3.6e+03" and break_even_cell(CLOCK, 3.0, 1.0) == "never"
    assert break_even_cell(None, 1.0, 3.0) is None and break_even_cell(CLOCK, 1.0, None) is None
    assert training_cost(CLOCK, 1.0, 3.0, unit="graphs") == {"training_device_h": 4.0, "break_even_graphs": "3.6e+03"}
    assert training_cost(None, 1.0, 3.0) == {"training_device_h": None, "break_even_solves": None}  # a classical row

