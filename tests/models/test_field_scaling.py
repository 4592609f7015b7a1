"""Per-channel standardization: each channel gets its own statistics, decode inverts the output map."""

import torch

from neuralsolvers.models.field_scaling import FieldScaling


def test_each_channel_is_standardized_on_its_own():
    inputs = torch.stack([torch.rand(20, 8, 8) * 9 + 3, torch.randn(20, 8, 8) * 0.01], dim=1)
    targets = torch.randn(20, 1, 8, 8) * 5 + 2
    scaling = FieldScaling(in_channels=2, out_channels=1)
    scaling.fit(inputs, targets)
    encoded = scaling.encode(inputs)
    torch.testing.assert_close(encoded.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(encoded.std(dim=(0, 2, 3)), torch.ones(2), atol=1e-5, rtol=0)
    standardized = (targets - targets.mean()) / targets.std()
    torch.testing.assert_close(scaling.decode(standardized), targets, atol=1e-4, rtol=0)


def test_single_channel_fields_without_channel_axis():
    scaling = FieldScaling()
    fields = torch.rand(10, 6, 6) * 4 + 1
    scaling.fit(fields, fields)
    assert abs(float(scaling.encode(fields).std()) - 1) < 1e-5
    assert scaling.encode(fields).shape == (10, 6, 6)
