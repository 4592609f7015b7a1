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
    assert type(loaded) is DeepONet and not loaded.training
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


def test_trusted_checkpoints_allow_only_their_own_globals(tmp_path, capsys):
    import fractions

    from neuralsolvers.checkpoints import read_checkpoint, trusting_checkpoints

    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    path = _checkpoint(tmp_path / "f.ckpt", net)
    checkpoint = torch.load(path, weights_only=True)
    torch.save({**checkpoint, "ratio": fractions.Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError, match="--trust-checkpoint"):
        read_checkpoint(path)
    with trusting_checkpoints():
        assert read_checkpoint(path)["ratio"] == fractions.Fraction(1, 3)
        u, points = torch.randn(2, 10), torch.rand(5, 1)
        torch.testing.assert_close(neuralsolvers.load(path)(u, points), net(u, points), rtol=0, atol=0)
    assert capsys.readouterr().err.count("allowing fractions.Fraction") == 1  # once per file
    with pytest.raises(CheckpointError, match="refused"):  # the allowance ends with the context
        read_checkpoint(path)
    torch.save({"state_dict": {}, "payload": fractions.Fraction}, tmp_path / "g.ckpt")  # a class beyond torch's allowlist
    with trusting_checkpoints():
        assert read_checkpoint(tmp_path / "g.ckpt")["payload"] is fractions.Fraction


def test_a_trusted_checkpoint_naming_what_cannot_be_imported_is_refused(tmp_path, monkeypatch):
    import importlib
    import sys

    from neuralsolvers.checkpoints import read_checkpoint, trusting_checkpoints

    (tmp_path / "ghost_module.py").write_text("class Ghost:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.save({"payload": importlib.import_module("ghost_module").Ghost()}, tmp_path / "h.ckpt")
    (tmp_path / "ghost_module.py").unlink()
    monkeypatch.delitem(sys.modules, "ghost_module")
    with trusting_checkpoints(), pytest.raises(CheckpointError, match="ghost_module.Ghost, which cannot be imported"):
        read_checkpoint(tmp_path / "h.ckpt")
