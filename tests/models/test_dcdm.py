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
