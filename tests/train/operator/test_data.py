"""The operator data module on 2D fields: exact subsampling, stacked input channels, flattened grids."""

import numpy as np
import pytest

from neuralsolvers.data_gen import Darcy2D
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import ConfigError
from neuralsolvers.train import OperatorDataModule


@pytest.fixture(scope="module")
def darcy_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("darcy") / "train"
    generate_split(Darcy2D(resolution=17, random_forcing=True, workers=1), directory, num_samples=12, seed=0)
    return directory


def test_stride_and_stacked_channels(darcy_dir):
    data = OperatorDataModule(str(darcy_dir), input_key=["a", "f"], target_key="u", points_key=None, stride=2, val_fraction=0.25)
    data.setup("fit")
    x, y, points = data.train_tensors()
    assert x.shape == (9, 2, 9, 9) and y.shape == (9, 1, 9, 9) and points is None
    full = OperatorDataModule(str(darcy_dir), input_key="a", target_key="u", points_key=None, val_fraction=0.25)
    full.setup("fit")
    np.testing.assert_array_equal(x[:, 0].numpy(), full.train_tensors()[0][:, ::2, ::2].numpy())
    with pytest.raises(ConfigError, match="stride"):
        OperatorDataModule(str(darcy_dir), input_key="a", target_key="u", points_key=None, stride=3).setup("fit")


def test_flattened_grid_for_point_models(darcy_dir):
    data = OperatorDataModule(str(darcy_dir), input_key="a", target_key="u", stride=4, flatten_grid=True, val_fraction=0.25)
    data.setup("fit")
    x, y, points = data.train_tensors()
    assert x.shape == (9, 25) and y.shape == (9, 25) and points.shape == (25, 2)
    assert float(points[1, 1]) == pytest.approx(0.25) and float(points[5, 0]) == pytest.approx(0.25)  # ij order
