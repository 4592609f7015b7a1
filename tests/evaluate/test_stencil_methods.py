"""The strongest classical baselines of the grid evaluations: PyAMG's Ruge–Stüben AMG-PCG beside
smoothed aggregation, and a sparse direct solve, on a high-contrast field; in an evaluation's table."""

import json

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from neuralsolvers import evaluate
from neuralsolvers.data_gen import DiffusionScenes
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.evaluate.stencil_methods import CLASSICAL, NAMES, PCG, StencilSystem, method
from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import DiffusionStencil
from tests.evaluate.test_tables import checkpoint


@pytest.fixture(scope="module")
def high_contrast() -> StencilSystem:
    """A 64² binary field of contrast 1e4 (smooth blobs of high coefficient), Dirichlet walls."""
    rng = np.random.default_rng(3)
    x, y = np.meshgrid(np.linspace(0, 1, 64), np.linspace(0, 1, 64), indexing="ij")
    field = sum(np.sin(2 * np.pi * (i * x + j * y) + rng.uniform(0, 2 * np.pi)) for i, j in rng.integers(1, 4, (6, 2)))
    a = torch.from_numpy(np.where(field > 0, 1e4, 1.0))
    A = DiffusionStencil((64, 64), a, spacing=1 / 64)
    b = torch.from_numpy(rng.standard_normal(64 * 64))
    return StencilSystem(A, b, A.mask, rtol=1e-6, maxiter=2000)


def test_direct_solve_reaches_round_off_with_no_iterations(high_contrast):
    run = method("direct").run(high_contrast, keep_solution=True)
    assert run.label == "direct (SuperLU, CPU)" and run.iterations == 0 and run.converged
    assert run.true_residual < 1e-10 and run.setup_s > 0  # the factorization is the set-up
    reference = spla.spsolve(high_contrast.A.to_scipy().tocsc(), high_contrast.b.numpy())
    np.testing.assert_allclose(run.solution.numpy(), reference, rtol=1e-8, atol=1e-12)


def test_ruge_stueben_holds_at_high_contrast_where_aggregation_degrades(high_contrast):
    rs, sa = method("pyamg_rs").run(high_contrast), method("pyamg").run(high_contrast)
    assert rs.label == "AMG-PCG (PyAMG RS, CPU)" and sa.label == "AMG-PCG (PyAMG SA, CPU)"
    assert rs.converged and rs.true_residual <= 1e-6
    assert rs.iterations <= 25 and rs.iterations < sa.iterations, (rs.iterations, sa.iterations)


def test_black_box_multigrid_solves_a_contrast_of_a_million():
    """``bbmg`` (Galerkin coarse operators, operator-dependent interpolation) on a 16² binary field of
    contrast 1e6: a few iterations to rtol, where the re-discretised ``gmg`` needs many; its options
    can be overridden, its hierarchy cannot."""
    rng = np.random.default_rng(5)
    x, y = np.meshgrid(np.linspace(0, 1, 16), np.linspace(0, 1, 16), indexing="ij")
    field = sum(np.sin(2 * np.pi * (i * x + j * y) + rng.uniform(0, 2 * np.pi)) for i, j in rng.integers(1, 4, (6, 2)))
    A = DiffusionStencil((16, 16), torch.from_numpy(np.where(field > 0, 1e6, 1.0)), spacing=1 / 16)
    system = StencilSystem(A, torch.from_numpy(rng.standard_normal(256)), A.mask, rtol=1e-6, maxiter=500)
    run, gmg = method("bbmg").run(system), method("gmg").run(system)
    assert run.label == "BoxMG-PCG (Galerkin, operator-dependent)" and "bbmg" in NAMES
    assert "bbmg" in {pcg.name for pcg in PCG} and run.label in {classical.label for classical in CLASSICAL}  # a fallback too
    assert run.converged and run.true_residual <= 1e-6 and run.iterations <= 12 < gmg.iterations, (run.iterations, gmg.iterations)
    assert method("bbmg", bbmg={"smoother": "redblack", "sweeps": 1}).run(system).converged
    with pytest.raises(ValueError, match="hierarchy"):
        method("bbmg", bbmg={"coarse_operator": "rediscretize"})


def test_the_new_baselines_are_rows_of_the_neural_multigrid_evaluation(tmp_path):
    generate_split(DiffusionScenes(grid=(24, 24)), tmp_path / "scenes", 2, seed=4)
    nmg = checkpoint(NeuralMultigrid(dim=2), tmp_path / "nmg.ckpt")
    task = evaluate.NeuralMultigridEvaluation([str(tmp_path / "scenes")], nmg, num_scenes=2, device="cpu",
                                              methods=["jacobi", "pyamg", "pyamg_rs", "direct", "gmg", "bbmg", "nmg"])  # fmt: skip
    task.run(tmp_path / "out", use_wandb=False)
    record = json.loads((tmp_path / "out/results.json").read_text())
    rows = {row["method"]: row for row in record["rows"]}
    assert {"Jacobi-PCG", "AMG-PCG (PyAMG SA, CPU)", "AMG-PCG (PyAMG RS, CPU)", "direct (SuperLU, CPU)", "BoxMG-PCG (Galerkin, operator-dependent)"} <= set(rows)
    assert rows["direct (SuperLU, CPU)"]["iterations"] == 0 and rows["direct (SuperLU, CPU)"]["iterations_vs_gmg"] is None
    classical = [row for name, row in rows.items() if not name.startswith("NMG")]
    (comparison,) = record["headline"]
    assert comparison["classical"] == min(classical, key=lambda row: row["total_s"])["method"]  # the fastest of all of them
