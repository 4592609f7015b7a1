"""``neuralsolvers.load``: rebuilds the network from a checkpoint safely; refuses what it cannot trust."""

import numpy as np
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


def _written_by_fit(path, net):
    """A checkpoint as ``fit`` writes it: the training module's hook records the model and the weights' checksum."""
    from neuralsolvers.train.base import NetworkModule

    checkpoint = {"state_dict": {f"model.{key}": value for key, value in net.state_dict().items()}}
    NetworkModule(net).on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    return path


def test_fit_records_a_checksum_of_the_weights_and_reading_checks_it(tmp_path):
    from neuralsolvers.checkpoints import CHECKSUM_KEY, read_checkpoint, weights_checksum

    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    path = _written_by_fit(tmp_path / "a.ckpt", net)
    checkpoint = read_checkpoint(path)
    assert checkpoint[CHECKSUM_KEY] == weights_checksum(checkpoint["state_dict"])
    assert len(checkpoint[CHECKSUM_KEY]) == 64
    name = next(iter(checkpoint["state_dict"]))
    checkpoint["state_dict"][name] = checkpoint["state_dict"][name] + 1e-7  # re-saved with valid CRCs but other weights
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=r"a\.ckpt: damaged checkpoint: its weights do not match the checksum"):
        neuralsolvers.load(path)
    assert weights_checksum({"w": torch.zeros(3)}) != weights_checksum({"w": torch.zeros(3, dtype=torch.float64)})
    assert weights_checksum({"w": torch.zeros(2, 3)}) != weights_checksum({"w": torch.zeros(3, 2)})


def test_a_truncated_checkpoint_is_refused(tmp_path):
    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    whole = _written_by_fit(tmp_path / "a.ckpt", net).read_bytes()
    for keep in (4, 100, len(whole) // 2, len(whole) - 1):
        (tmp_path / "cut.ckpt").write_bytes(whole[:keep])
        with pytest.raises(CheckpointError, match=r"cut\.ckpt: damaged or truncated checkpoint"):
            neuralsolvers.load(tmp_path / "cut.ckpt")


@pytest.mark.parametrize("damage", ["zeros", "ones", "bit"])
def test_damage_anywhere_in_the_file_is_never_a_silent_load(tmp_path, damage):
    """Bytes damaged at 150 offsets spread over the whole file (weights, pickle, zip headers and
    directory): each read either raises ``CheckpointError`` naming the file or gives exactly the
    original weights (damage to bytes that hold nothing, such as alignment padding)."""
    torch.manual_seed(0)
    net = DeepONet(num_sensors=10, branch_widths=[16], trunk_widths=[16], num_basis=8)
    whole = _written_by_fit(tmp_path / "a.ckpt", net).read_bytes()
    expected = net.state_dict()
    refused = 0
    for offset in np.linspace(0, len(whole) - 1, 150).astype(int):
        chunk = whole[offset : offset + 4]
        bad = {"zeros": bytes(len(chunk)), "ones": b"\xff" * len(chunk), "bit": bytes([chunk[0] ^ 0x10]) + chunk[1:]}[damage]
        if bad == chunk:
            continue
        path = tmp_path / "damaged.ckpt"
        path.write_bytes(whole[:offset] + bad + whole[offset + len(chunk) :])
        try:
            loaded = neuralsolvers.load(path).state_dict()
        except CheckpointError as error:
            assert str(error).startswith(f"{path}: ")
            refused += 1
            continue
        assert loaded.keys() == expected.keys() and all(torch.equal(loaded[key], expected[key]) for key in expected), offset
    assert refused >= 100  # most bytes of the file matter


def test_recorded_arguments_the_model_does_not_take(tmp_path):
    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    path = _checkpoint(tmp_path / "g.ckpt", net)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["neuralsolvers_model"]["init_args"]["widths"] = 3
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=r"g\.ckpt: model 'deeponet' cannot be rebuilt from the arguments it records"):
        neuralsolvers.load(path)


def test_a_device_this_machine_lacks_is_one_line_before_reading(tmp_path, monkeypatch):
    from neuralsolvers.errors import ConfigError
    from neuralsolvers.solvers import DiffusionStencil

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    net = DeepONet(num_sensors=10, branch_widths=[8], trunk_widths=[8], num_basis=4)
    path = _checkpoint(tmp_path / "a.ckpt", net)
    message = "^device 'cuda' asked for, but this machine has no CUDA device$"
    with pytest.raises(ConfigError, match=message):
        neuralsolvers.load(path, map_location="cuda")
    with pytest.raises(ConfigError, match=message):
        neuralsolvers.load_preconditioner(path, DiffusionStencil((8, 8)), device="cuda")


def test_the_trust_of_a_block_is_an_object_that_ends_with_it(tmp_path, capsys):
    """``trusting_checkpoints()`` yields its `CheckpointTrust` (the files it allowed); blocks nest, an
    inner block's allowances are its own and end with it, and outside every block nothing is trusted."""
    import decimal
    import fractions

    from neuralsolvers.checkpoints import CheckpointTrust, read_checkpoint, trusting_checkpoints

    torch.save({"value": fractions.Fraction(1, 3)}, tmp_path / "a.ckpt")
    torch.save({"value": decimal.Decimal("0.5")}, tmp_path / "b.ckpt")
    with trusting_checkpoints() as outer:
        assert isinstance(outer, CheckpointTrust) and outer.files == set()
        read_checkpoint(tmp_path / "a.ckpt")
        with trusting_checkpoints() as inner:
            assert read_checkpoint(tmp_path / "b.ckpt")["value"] == decimal.Decimal("0.5")
        assert inner.files == {(tmp_path / "b.ckpt").resolve()} and outer.files == {(tmp_path / "a.ckpt").resolve()}
        assert read_checkpoint(tmp_path / "a.ckpt")["value"] == fractions.Fraction(1, 3)  # the outer allowance stands
        read_checkpoint(tmp_path / "b.ckpt")  # the inner allowance ended: the outer block allows it anew
        assert outer.files == {(tmp_path / name).resolve() for name in ("a.ckpt", "b.ckpt")}
    err = capsys.readouterr().err
    assert err.count("allowing fractions.Fraction") == 1 and err.count("allowing decimal.Decimal") == 2
    with pytest.raises(CheckpointError, match="refused"):
        read_checkpoint(tmp_path / "a.ckpt")


def test_the_economics_names_moved_to_evaluate_and_still_work_here_with_a_warning():
    import neuralsolvers.checkpoints as checkpoints
    from neuralsolvers.evaluate import economics

    for name in ("break_even", "break_even_cell", "device_hours", "training_time"):
        with pytest.warns(DeprecationWarning, match=f"neuralsolvers.evaluate.economics.{name}"):
            assert getattr(checkpoints, name) is getattr(economics, name)
        assert name not in checkpoints.__all__
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        checkpoints.nothing  # noqa: B018
