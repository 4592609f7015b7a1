"""PINN networks: shapes, parameter counts, the modified MLP's gating, standardization, bad arguments."""

import math

import pytest
import torch

from neuralsolvers.models import LagrangianNet, PINNNet, build_model, model_spec


def test_shapes_and_parameter_counts():
    x = torch.rand(7, 2)
    plain = PINNNet(in_features=2, out_features=3, hidden=50, layers=3)
    modified = PINNNet(in_features=2, out_features=3, hidden=50, layers=3, architecture="modified_mlp")
    assert plain(x).shape == modified(x).shape == (7, 3)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(plain) == (2 * 50 + 50) + 2 * (50 * 50 + 50) + (50 * 3 + 3)
    # two encoders U, V (2 → 50) on top of the same gate layers and output
    assert count(modified) == count(plain) + 2 * (2 * 50 + 50)


def test_modified_mlp_hidden_states_are_convex_combinations_of_the_encoders():
    torch.manual_seed(0)
    net = PINNNet(in_features=2, hidden=8, layers=2, architecture="modified_mlp").net
    x = torch.rand(5, 2)
    u, v = torch.tanh(net.encoder_u(x)), torch.tanh(net.encoder_v(x))
    h = x
    for gate in net.gates:
        z = torch.tanh(gate(h))
        h = (1 - z) * u + z * v
    torch.testing.assert_close(net.output(h), net(x))


def test_standardization_and_rebuild():
    net = PINNNet(in_features=2, hidden=4, layers=1, center=[1.0, 0.5], scale=[2.0, 0.25])
    x = torch.rand(3, 2)
    torch.testing.assert_close(net(x), net.net((x - torch.tensor([1.0, 0.5])) / torch.tensor([2.0, 0.25])))
    name, args = model_spec(net)["name"], model_spec(net)["init_args"]
    rebuilt = build_model(name, args)
    rebuilt.load_state_dict(net.state_dict())
    torch.testing.assert_close(rebuilt(x), net(x))


def test_lagrangian_net_is_periodic_in_the_starting_position():
    net = LagrangianNet(hidden=8, state_layers=2, curve_layers=1)
    t = torch.rand(5, 1)
    left, right = net(torch.cat([torch.zeros(5, 1), t], 1)), net(torch.cat([torch.full((5, 1), 2 * math.pi), t], 1))
    assert left.shape == (5, 2)
    torch.testing.assert_close(right[:, 0], left[:, 0], atol=1e-5, rtol=0)  # same state
    torch.testing.assert_close(right[:, 1] - left[:, 1], torch.full((5,), 2 * math.pi), atol=1e-5, rtol=0)  # X = x₀ + D


def test_bad_arguments():
    with pytest.raises(ValueError, match="architecture"):
        PINNNet(architecture="resnet")
    with pytest.raises(ValueError, match="scale"):
        PINNNet(in_features=2, scale=[1.0, 0.0])
    with pytest.raises(ValueError, match="coordinates"):
        PINNNet(in_features=2)(torch.rand(4, 3))
