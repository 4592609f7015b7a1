"""STLSQ recovers a planted sparse polynomial; the library and the printed formulas."""

import pytest
import torch

from neuralsolvers.solvers import formulas, polynomial_library, stlsq


def test_library_terms_and_columns():
    states = torch.tensor([[2.0, 3.0], [1.0, -1.0]], dtype=torch.float64)
    library, terms = polynomial_library(states, ["u1", "u2"], degree=2)
    assert terms == ["1", "u1", "u2", "u1**2", "u1*u2", "u2**2"]
    torch.testing.assert_close(library[0], torch.tensor([1.0, 2.0, 3.0, 4.0, 6.0, 9.0], dtype=torch.float64))
    assert polynomial_library(states, ["u1", "u2"], degree=3, bias=False)[0].shape == (2, 9)
    with pytest.raises(ValueError, match="names"):
        polynomial_library(states, ["u1"], degree=2)


def test_stlsq_recovers_a_planted_expression_from_noisy_samples():
    generator = torch.Generator().manual_seed(0)
    states = 3 * torch.rand(400, 2, generator=generator, dtype=torch.float64)
    u1, u2 = states.T
    target = torch.stack([1.3 * u1 - 0.9 * u1 * u2, 0.8 * u1 * u2 - 1.8 * u2 + 0.5 * u2**2], dim=1)
    noisy = target + 0.01 * target.std(0) * torch.randn(target.shape, generator=generator, dtype=torch.float64)
    library, terms = polynomial_library(states, ["u1", "u2"], degree=3)
    plain = torch.linalg.lstsq(library, noisy).solution
    assert int((plain.abs() > 1e-3).sum()) > 10  # least squares alone keeps every term
    coefficients = stlsq(library, noisy, threshold=0.1)
    found = {t: c for t, c in zip(terms, coefficients[:, 0].tolist(), strict=True) if c != 0}
    assert set(found) == {"u1", "u1*u2"} and found["u1*u2"] == pytest.approx(-0.9, rel=0.02)
    second = {t for t, c in zip(terms, coefficients[:, 1].tolist(), strict=True) if c != 0}
    assert second == {"u2", "u1*u2", "u2**2"}
    expressions = formulas(coefficients, terms, digits=2)
    assert str(expressions[0]) == "-0.9*u1*u2 + 1.3*u1" and str(expressions[1]) == "0.8*u1*u2 + 0.5*u2**2 - 1.8*u2"
    with pytest.raises(ValueError, match="threshold"):
        stlsq(library, noisy, threshold=-1.0)
