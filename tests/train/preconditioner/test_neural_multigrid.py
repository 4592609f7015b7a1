"""Neural multigrid training: a few seconds of the unsupervised PCG-residual loss make CG with the
learned cycle need fewer iterations than with the classical geometric multigrid on held-out scenes."""

import numpy as np
import torch

from neuralsolvers.data_gen.diffusion_scenes import DiffusionScenes, scene_operator
from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import GeometricMultigrid, cg
from neuralsolvers.train.preconditioner.losses import pcg_residual_loss


def scenes(count, seed, **options):
    generator = DiffusionScenes(grid=(32, 32), **options)
    arrays = generator.generate(count, np.random.default_rng(seed))
    return [scene_operator(arrays, i, torch.float32) for i in range(count)], arrays


def mean_iterations(make_preconditioner, operators, rhs):
    counts = []
    for A, b in zip(operators, rhs, strict=True):
        A64 = A.to(torch.float64)
        with torch.no_grad():
            result = cg(A64, b, M=make_preconditioner(A64), rtol=1e-6, maxiter=200)
        assert result.converged
        counts.append(result.iterations)
    return float(np.mean(counts))


def test_short_training_beats_the_geometric_multigrid_on_held_out_scenes():
    torch.manual_seed(0)
    training, _ = scenes(16, seed=0, families=["boxes", "spheres", "bunny"], walls=["dirichlet", "neumann", "mixed"])
    held_out, arrays = scenes(6, seed=1, families=["plume", "empty_box"], walls=["open_top", "dirichlet"], inclusions="balls")
    rhs = [torch.as_tensor(arrays["b"][i].reshape(-1), dtype=torch.float64) for i in range(len(held_out))]
    net = NeuralMultigrid(dim=2, hidden=8, stencil=1, coarsest=16)
    untrained = mean_iterations(net.preconditioner, held_out, rhs)
    classical = mean_iterations(lambda A: GeometricMultigrid(A, coarsest=16), held_out, rhs)
    assert untrained == classical  # the untrained network is the classical cycle
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for step in range(150):
        A = training[step % len(training)]
        b = torch.randn(A.shape[0], 4) * A.mask.reshape(-1, 1)
        loss = pcg_residual_loss(A.matmat, net.preconditioner(A, differentiable=True).apply, b, steps=6)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-30:]) < np.mean(losses[:30]) - 0.5  # log-residual after 6 steps down by > 0.5 (×0.6)
    trained = mean_iterations(net.preconditioner, held_out, rhs)
    assert trained <= classical - 0.5, (trained, classical)  # fewer iterations than the classical cycle, on average
