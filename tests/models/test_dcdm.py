"""The DCDM network: the paper's size, any grid (odd sizes included), 2D and 3D, checkpoints."""

import pytest
import torch

from neuralsolvers.models import DCDMNet, build_model, model_spec


def test_paper_3d_model_has_the_published_parameter_count():
    assert sum(p.numel() for p in DCDMNet().parameters()) == 97_457  # 15 convs 3×3×3 + 1×1×1 output


@pytest.mark.parametrize(("dim", "grid"), [(2, (17, 32)), (2, (8, 9)), (3, (9, 8, 7))])
def test_fully_convolutional_at_any_size(dim, grid):
    net = DCDMNet(dim=dim, in_channels=2, channels=4, blocks=(1, 1, 1))
    assert net(torch.randn(2, 2, *grid)).shape == (2, 1, *grid)


def test_rebuilds_from_its_spec():
    net = DCDMNet(dim=2, channels=6, blocks=(1, 2, 0))
    spec = model_spec(net)
    rebuilt = build_model(spec["name"], spec["init_args"])
    rebuilt.load_state_dict(net.state_dict())
    x = torch.randn(1, 1, 12, 12)
    torch.testing.assert_close(rebuilt(x), net(x))
    with pytest.raises(ValueError, match="dim"):
        DCDMNet(dim=1)


def test_multilevel_net_shares_its_weights_and_reaches_further():
    """``levels="auto"`` pools until a few cells are left, with the one-level net's parameters."""
    one, auto = DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)), DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1), levels="auto")
    auto.load_state_dict(one.state_dict())  # the same parameters
    torch.manual_seed(0)
    x = torch.ones(1, 2, 64, 64)
    source = x.clone()
    source[0, 1, 0, 0] = 2.0  # one cell of the residual changed, in a corner
    with torch.no_grad():
        near = torch.count_nonzero(one(source) - one(x))
        far = torch.count_nonzero(auto(source) - auto(x))
    assert auto(x).shape == (1, 1, 64, 64)
    assert far > 4 * near  # the change reaches much further through the deeper hierarchy
    with pytest.raises(ValueError, match="levels"):
        DCDMNet(dim=2, levels=0)
