"""The relative errors of fields against their definitions; the old names of the losses that moved
to ``neuralsolvers.train`` still resolve, with a warning, without loading Lightning."""

import subprocess
import sys

import pytest
import torch

from neuralsolvers.physics.losses import OperatorLoss, relative_l2


def test_relative_l2_per_sample():
    target = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    prediction = torch.tensor([[3.0, 4.5], [0.0, 0.0]])
    torch.testing.assert_close(relative_l2(prediction, target), torch.tensor([0.1, 1.0]))


@pytest.mark.parametrize("spatial_dims", [1, 2])
def test_neuralop_relative_l2_is_batch_mean_of_per_sample_errors(spatial_dims):
    torch.manual_seed(0)
    shape = (6, 10) if spatial_dims == 1 else (6, 1, 8, 8)
    target, prediction = torch.randn(shape), torch.randn(shape)
    loss = OperatorLoss("rel_l2", spatial_dims)(prediction, target)
    torch.testing.assert_close(loss, relative_l2(prediction, target).mean(), rtol=1e-5, atol=1e-7)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss"):
        OperatorLoss("l3")


@pytest.mark.parametrize(
    ("name", "home"),
    [("dcdm_loss", "preconditioner"), ("pcg_residual_loss", "preconditioner"), ("proximal_matching_loss", "proximal")],
)
def test_the_moved_losses_old_names_warn_and_give_the_new_functions(name, home):
    import importlib

    import neuralsolvers.physics.losses as old

    new = getattr(importlib.import_module(f"neuralsolvers.train.{home}.losses"), name)
    with pytest.warns(DeprecationWarning, match=f"import it from neuralsolvers.train.{home}.losses"):
        assert getattr(old, name) is new
    assert name not in old.__all__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        old.nope  # noqa: B018


def test_the_old_names_load_no_lightning():
    code = ("import sys, warnings; warnings.simplefilter('ignore')\n"
            "from neuralsolvers.physics import dcdm_loss, proximal_matching_loss\n"
            "from neuralsolvers.physics.losses import pcg_residual_loss\n"
            "print(sorted(m for m in ('pytorch_lightning', 'lightning', 'wandb') if m in sys.modules))")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()[-1] == "[]"
