"""``neuralsolvers.load``: rebuilds the network from a checkpoint safely; refuses what it cannot trust."""

import pytest
import torch

import neuralsolvers
from neuralsolvers.errors import CheckpointError
from neuralsolvers.models import DeepONet, model_spec


def _checkpoint(path, net):
    state = {f"model.{key}": value for key, value in net.state_dict().items()}
    torch.save({"state_dict": state, "neuralsolvers_model": model_spec(net)}, path)
    return path


def test_load_rebuilds_the_trained_network(tmp_path):
    torch.manual_seed(0)
    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    net.output_std.fill_(3.0)
    loaded = neuralsolvers.load(_checkpoint(tmp_path / "a.ckpt", net))
    assert isinstance(loaded, DeepONet) and not loaded.training
    u, points = torch.randn(2, 10), torch.rand(5, 1)
    torch.testing.assert_close(loaded(u, points), net(u, points))


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        neuralsolvers.load(tmp_path / "none.ckpt")


def test_checkpoint_of_another_kind(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "b.ckpt")
    with pytest.raises(CheckpointError, match="not a neuralsolvers checkpoint"):
        neuralsolvers.load(tmp_path / "b.ckpt")


def test_weights_that_do_not_fit(tmp_path):
    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    path = _checkpoint(tmp_path / "c.ckpt", net)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["neuralsolvers_model"]["init_args"]["num_basis"] = 5
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        neuralsolvers.load(path)


class Payload:
    pass


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"state_dict": {}, "payload": Payload()}, tmp_path / "d.ckpt")
    with pytest.raises(CheckpointError, match="refused"):
        neuralsolvers.load(tmp_path / "d.ckpt")


def test_garbage_file(tmp_path):
    (tmp_path / "e.ckpt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="e.ckpt"):
        neuralsolvers.load(tmp_path / "e.ckpt")
