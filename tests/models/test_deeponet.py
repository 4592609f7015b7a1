"""DeepONet: both evaluation forms, shapes, normalization, rebuilding from its recorded arguments."""

import pytest
import torch

from neuralsolvers.models import DeepONet, build_model, model_spec


@pytest.fixture
def net() -> DeepONet:
    torch.manual_seed(0)
    return DeepONet(num_sensors=12, coord_dim=2, branch_widths=[16], trunk_widths=[16, 16], num_basis=8)


def test_cartesian_form_shape(net):
    assert net(torch.randn(5, 12), torch.rand(7, 2)).shape == (5, 7)


def test_aligned_form_matches_cartesian(net):
    u, points = torch.randn(5, 12), torch.rand(7, 2)
    cartesian = net(u, points)
    aligned = net(u, points.expand(5, 7, 2))
    torch.testing.assert_close(aligned, cartesian, rtol=1e-5, atol=1e-6)


def test_triple_form_is_one_point_per_function(net):
    u, points = torch.randn(5, 12), torch.rand(5, 1, 2)
    out = net(u, points)
    assert out.shape == (5, 1)
    torch.testing.assert_close(out[2, 0], net(u[2:3], points[2])[0, 0], rtol=1e-5, atol=1e-6)


def test_one_dimensional_points_may_be_flat():
    net = DeepONet(num_sensors=4, num_basis=3, branch_widths=[8], trunk_widths=[8])
    assert net(torch.randn(2, 4), torch.linspace(0, 1, 9)).shape == (2, 9)


@pytest.mark.parametrize(
    ("u_shape", "points_shape"),
    [((5, 11), (7, 2)), ((5, 12), (7, 3)), ((5, 12), (4, 7, 2)), ((12,), (7, 2))],
)
def test_bad_shapes_raise_clear_errors(net, u_shape, points_shape):
    with pytest.raises(ValueError, match="DeepONet|aligned"):
        net(torch.randn(*u_shape), torch.rand(*points_shape))


def test_normalization_maps_outputs_to_physical_units(net):
    u = 50 + 10 * torch.randn(64, 12)
    targets = 1000 + 5 * torch.randn(64, 7)
    points = 3 + torch.rand(7, 2)
    net.fit_normalization(u, targets, points)
    assert torch.isclose(net.output_mean, targets.mean())
    assert torch.isclose(net.input_std, u.std())
    out = net(u, points)
    # an untrained net predicts standardized values of order one: outputs land near the data's scale
    assert (out - 1000).abs().max() < 100


def test_rebuilt_from_spec_gives_same_outputs(net):
    spec = model_spec(net)
    assert spec["name"] == "deeponet"
    assert spec["init_args"]["branch_widths"] == [16]
    clone = build_model(spec["name"], spec["init_args"])
    clone.load_state_dict(net.state_dict())
    u, points = torch.randn(3, 12), torch.rand(4, 2)
    torch.testing.assert_close(clone(u, points), net(u, points))
