"""Loss balancing: learning-rate annealing (both variants) and fixed weights against a hand computation."""

import pytest
import torch
from torch import nn

from neuralsolvers.physics import FixedWeights, LearningRateAnnealing


def test_learning_rate_annealing_matches_a_hand_computation():
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0]]))
        model.bias.fill_(0.5)
    w, b = model.weight[0], model.bias[0]

    def losses():
        # ∇L_r = (2w₁, 3, 0) = (2, 3, 0); ∇L_b = (1, 2w₂, 2) = (1, −4, 2)
        return {"residual": w[0] ** 2 + 3 * w[1], "boundary": w[0] + w[1] ** 2 + 2 * b}

    paper = LearningRateAnnealing(alpha=0.9, every=10)
    assert paper.update(losses(), model, step=0)
    # λ̂ = max|∇L_r| / mean|∇L_b| over all parameters = 3 / (7/3) = 9/7; λ = 0.1·1 + 0.9·9/7
    assert paper.weights["boundary"] == pytest.approx(0.1 + 0.9 * 9 / 7)
    assert not paper.update(losses(), model, step=5)  # only every 10 steps
    code = LearningRateAnnealing(alpha=0.1, variant="code", weights={"boundary": 2.0})
    code.update(losses(), model, step=10)
    # weights only: max|∇L_r| = 3; gradient of the weighted term 2·L_b: (2, −8), mean 5 → λ̂ = 0.6
    assert code.weights["boundary"] == pytest.approx(0.9 * 2.0 + 0.1 * 0.6)
    total = FixedWeights({"boundary": 10.0}).total(losses())
    assert float(total) == pytest.approx((1 - 6) + 10 * (1 + 4 + 1))
    with pytest.raises(ValueError, match="alpha"):
        LearningRateAnnealing(alpha=0.0)
    with pytest.raises(ValueError, match="variant"):
        LearningRateAnnealing(variant="other")
