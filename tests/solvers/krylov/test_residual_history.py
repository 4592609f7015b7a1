"""The residual history is kept in preallocated blocks (no small tensor per iteration fragmenting the
heap): it holds what a list would, across block boundaries, and the solvers' results do not change."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import neuralsolvers.solvers.result as result
from neuralsolvers.solvers import bicgstab, cg, fcg
from neuralsolvers.solvers.result import ResidualHistory


def test_the_history_holds_every_entry_across_blocks(monkeypatch):
    monkeypatch.setattr(ResidualHistory, "BLOCK", 3)
    entries = [torch.tensor([float(i), -float(i)]) for i in range(8)]
    history = ResidualHistory(entries[0])
    for entry in entries[1:]:
        history.append(entry)
    assert len(history) == 8
    torch.testing.assert_close(history.stacked(), torch.stack(entries))
    torch.testing.assert_close(history[5], entries[5])
    torch.testing.assert_close(history[-1], entries[-1])
    with pytest.raises(IndexError, match="out of range"):
        history[8]


@pytest.mark.parametrize("solver", [cg, fcg, bicgstab])
def test_solves_give_the_same_histories_with_tiny_blocks(solver, monkeypatch):
    n = 400
    A = sp.diags([-np.ones(n - 1), 2.0 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="csr")  # ~n iterations
    b = np.random.default_rng(0).standard_normal((n, 2))
    reference = solver(A, b, rtol=1e-10, maxiter=2000)
    monkeypatch.setattr(result.ResidualHistory, "BLOCK", 7)
    blocked = solver(A, b, rtol=1e-10, maxiter=2000)
    assert reference.iterations.tolist() == blocked.iterations.tolist() and int(reference.iterations.max()) > 7 * 10
    np.testing.assert_allclose(blocked.residuals, reference.residuals, rtol=0, atol=0)
