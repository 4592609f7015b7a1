"""The neuraloperator FNO adapter: field conventions, normalization and a checkpoint round trip."""

import torch

from neuralsolvers.checkpoints import load
from neuralsolvers.models import FNO, model_spec


def test_fields_with_and_without_channel_axis():
    model = FNO(n_modes=(8, 8), hidden_channels=8, n_layers=2)
    assert model(torch.randn(2, 16, 16)).shape == (2, 16, 16)
    assert model(torch.randn(2, 1, 24, 24)).shape == (2, 1, 24, 24)  # another resolution, same weights
    tfno = FNO(n_modes=(8, 8), hidden_channels=8, n_layers=1, factorization="tucker", rank=0.2)
    assert sum(p.numel() for p in tfno.parameters()) < sum(p.numel() for p in FNO(n_modes=(8, 8), hidden_channels=8, n_layers=1).parameters())


def test_checkpoint_round_trip(tmp_path):
    model = FNO(n_modes=(6, 6), hidden_channels=8, n_layers=2)
    model.fit_normalization(torch.rand(4, 12, 12) * 9 + 3, torch.rand(4, 12, 12) * 0.01)
    path = tmp_path / "fno.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "neuralsolvers_model": model_spec(model)}, path)
    x = torch.rand(3, 12, 12) * 9 + 3
    expected = model.eval()(x)
    rebuilt = load(path)
    torch.testing.assert_close(rebuilt(x), expected)
    assert float(rebuilt.scaling.output_std) < 0.01
