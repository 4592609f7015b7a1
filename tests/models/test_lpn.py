"""LPN: f = ∇ψ with ψ convex: non-negativity kept by the projection, a symmetric PSD Jacobian
(float64), convexity along lines, the learned regularizer through the inverse, clear errors."""

import pytest
import torch

from neuralsolvers.models import LPN, build_model, model_spec
from neuralsolvers.models.lpn import learned_regularizer


def perturbed(model: LPN) -> LPN:
    """Constrained weights moved off their tiny initialization so ψ has curvature worth testing."""
    with torch.no_grad():
        for weight in model.constrained():
            weight.uniform_(0.0, 0.5)
    return model


@pytest.mark.parametrize(("kind", "shape"), [("dense", (3, 5)), ("conv", (2, 1, 16, 16))])
def test_jacobian_is_symmetric_positive_semidefinite(kind, shape):
    torch.manual_seed(0)
    model = perturbed(LPN(kind=kind, in_features=shape[1], hidden=8, image_size=16, beta=5.0, alpha=0.01)).double()
    for point in torch.randn(*shape, dtype=torch.float64):
        jacobian = torch.autograd.functional.jacobian(lambda v: model(v[None])[0], point).reshape(point.numel(), -1)
        torch.testing.assert_close(jacobian, jacobian.T, rtol=1e-9, atol=1e-10)
        # ψ ≥ α‖x‖²-strongly convex: eigenvalues ≥ 2α
        assert float(torch.linalg.eigvalsh(jacobian).min()) >= 2 * 0.01 - 1e-9


def test_potential_is_convex_along_random_lines():
    torch.manual_seed(1)
    model = perturbed(LPN(kind="dense", in_features=4, hidden=16, layers=3, beta=2.0)).double()
    a, b = torch.randn(2, 50, 4, dtype=torch.float64)
    t = torch.rand(50, 1, dtype=torch.float64)
    mixed = model.potential(t * a + (1 - t) * b)
    assert bool((mixed <= t[:, 0] * model.potential(a) + (1 - t[:, 0]) * model.potential(b) + 1e-12).all())


def test_projection_keeps_weights_non_negative_after_steps():
    torch.manual_seed(2)
    model = LPN(kind="dense", in_features=2, hidden=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)
    x = torch.randn(32, 2)
    for _ in range(3):
        optimizer.zero_grad()
        (model(x) - 5 * x).square().mean().backward()  # a large step drives some weights negative
        optimizer.step()
        assert any(bool((w < 0).any()) for w in model.constrained())
        model.project()
        assert all(bool((w >= 0).all()) for w in model.constrained())
    free = LPN(kind="dense", in_features=2, hidden=8, convex=False)  # the contrast: projection is a no-op
    with torch.no_grad():
        free.constrained()[0].fill_(-1.0)
    free.project()
    assert bool((free.constrained()[0] == -1.0).all())


def test_learned_regularizer_inverts_the_prox():
    """At x = f(y) for known y the inversion must find y back (strong convexity: it is unique) and
    give R(x) = ⟨y, x⟩ − ½‖x‖² − ψ(y)."""
    torch.manual_seed(3)
    model = perturbed(LPN(kind="dense", in_features=3, hidden=8, alpha=0.05)).double()
    y = torch.randn(6, 3, dtype=torch.float64)
    with torch.no_grad():
        x = model(y)
        expected = (y * x).sum(1) - 0.5 * x.square().sum(1) - model.potential(y)
    values, residual = learned_regularizer(model, x, tolerance=1e-10)
    assert float(residual.max()) < 1e-6
    torch.testing.assert_close(values, expected, rtol=1e-6, atol=1e-6)


def test_rebuild_and_bad_inputs():
    model = LPN(kind="conv", in_features=1, hidden=4, image_size=16)
    rebuilt = build_model(**model_spec(model))
    rebuilt.load_state_dict(model.state_dict())
    x = torch.rand(2, 1, 16, 16)
    torch.testing.assert_close(rebuilt(x), model(x))
    with torch.no_grad():
        assert model(x).shape == x.shape and not model(x).requires_grad
    with pytest.raises(ValueError, match=r"images \(B, 1, 16, 16\)"):
        model(torch.rand(2, 1, 8, 8))
    with pytest.raises(RuntimeError, match="inference mode"), torch.inference_mode():
        model(x)
    with pytest.raises(ValueError, match="multiple of 8"):
        LPN(kind="conv", image_size=20)
