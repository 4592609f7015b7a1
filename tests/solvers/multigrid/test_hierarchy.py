"""The multigrid family's one public hierarchy: complexities against hand counts (2D, 3D, obstacles)
and against PyAMG's own, the level table in every ``repr``, the neural cycle's learned stencils as
arrays equal to what its cycle applies, the guard on the directly solved coarsest level, and cycles
unchanged by building the hierarchy."""

import itertools
import re

import pytest
import torch
import torch.nn.functional as F

from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import (
    AMG,
    DiffusionStencil,
    GeometricMultigrid,
    Level,
    MultilevelHierarchy,
)
from neuralsolvers.solvers.multigrid.hierarchy import MAX_COARSE_DIRECT, check_coarsest
from neuralsolvers.solvers.multigrid.neural import NeuralMultigridPreconditioner
from tests.models.test_neural_multigrid import randomized
from tests.solvers.multigrid.test_geometric_multigrid import NEUMANN_2D, NEUMANN_3D, scene


def test_complexities_by_hand_2d_with_an_obstacle():
    mask = torch.ones(4, 3, dtype=torch.bool)
    mask[0, 0] = False
    M = GeometricMultigrid(DiffusionStencil((4, 3), mask=mask), coarsest=4)
    # fine: 11 fluid cells, 17 − 2 couplings (the obstacle's two are gone): 11 + 2·15 = 41 entries;
    # coarse 2×2: the obstacle's block is an obstacle, 3 cells, 2 couplings: 3 + 2·2 = 7
    assert [(level.unknowns, level.nonzeros, level.grid) for level in M.levels] == [(11, 41, (4, 3)), (3, 7, (2, 2))]
    assert M.hierarchy.operator_complexity() == pytest.approx(48 / 41, abs=1e-14)
    assert M.hierarchy.grid_complexity() == pytest.approx(14 / 11, abs=1e-14)
    for level in M.levels:  # the assembled matrix adds one identity row per obstacle cell
        obstacles = int((~level.operator.mask).sum())
        assert level.operator.to_scipy().nnz == level.nonzeros + obstacles


def test_complexities_by_hand_3d():
    M = GeometricMultigrid(DiffusionStencil((4, 4, 4)), coarsest=8)
    # 64 cells, 3·(3·4·4) = 144 couplings: 64 + 288; coarse 2×2×2: 8 cells, 12 couplings: 8 + 24
    assert [(level.unknowns, level.nonzeros) for level in M.levels] == [(64, 352), (8, 32)]
    assert len(M.hierarchy) == 2 and M.hierarchy[1] is M.levels[1]
    assert M.hierarchy.operator_complexity() == pytest.approx(384 / 352, abs=1e-14)
    assert M.hierarchy.grid_complexity() == pytest.approx(72 / 64, abs=1e-14)
    assert M.levels[0].restriction.shape == (4, 4, 4) and float(M.levels[0].restriction.sum()) == pytest.approx(1.0)
    assert torch.equal(M.levels[0].prolongation, 8 * M.levels[0].restriction)
    assert M.levels[-1].smoother == "direct" and M.levels[-1].smoother_weights is None and M.levels[-1].prolongation is None


@pytest.mark.parametrize("method", ["smoothed_aggregation", "ruge_stuben"])
def test_amg_complexities_are_pyamgs(method):
    A = scene((24, 21), walls=NEUMANN_2D).to_scipy()
    M = AMG(A, method=method)
    assert len(M.levels) == len(M.pyamg.levels) >= 3
    assert abs(M.hierarchy.operator_complexity() - M.pyamg.operator_complexity()) < 1e-12
    assert abs(M.hierarchy.grid_complexity() - M.pyamg.grid_complexity()) < 1e-12
    for level, source in zip(M.levels, M.pyamg.levels, strict=True):
        assert (level.unknowns, level.nonzeros) == (source.A.shape[0], source.A.nnz)
    fine = M.levels[0]
    assert fine.prolongation.shape == M.pyamg.levels[0].P.shape and fine.restriction.shape == M.pyamg.levels[0].R.shape
    assert fine.smoother_weights.shape == (A.shape[0],)


def test_repr_prints_the_level_table():
    A = scene((17, 13), walls=NEUMANN_2D)
    net = randomized(NeuralMultigrid(dim=2, coarsest=8).double(), 0)
    for M in (GeometricMultigrid(A, coarsest=8), AMG(A.to_scipy()), NeuralMultigridPreconditioner(A, net, net.layout, coarsest=8)):
        text = repr(M)
        assert text.startswith(type(M).__name__)
        assert f"Number of Levels:     {len(M.levels)}" in text
        assert f"Operator Complexity:  {M.hierarchy.operator_complexity():6.3f}" in text
        assert f"Grid Complexity:      {M.hierarchy.grid_complexity():6.3f}" in text
        assert "Coarse Solver:" in text and "level   unknowns     nonzeros" in text
        total = sum(level.nonzeros for level in M.levels)
        for index, level in enumerate(M.levels):
            share = re.escape(f"[{100 * level.nonzeros / total:2.2f}%]")
            assert re.search(rf"^\s+{index}\s+{level.unknowns}\s+{level.nonzeros}\s+{share}", text, re.M), (index, text)
    assert repr(M.hierarchy).startswith("MultilevelHierarchy\n")


def _apply_stencil(array: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``Σ_o array[o](i) v(i + o)`` over the lexicographic offsets of the box (zero past the edge)."""
    dim = v.dim() - 1
    width = round(array.shape[0] ** (1 / dim))
    offsets = list(itertools.product(*[range(-(width // 2), width // 2 + 1)] * dim))
    padded = F.pad(v, (1, 1) * dim)
    y = torch.zeros_like(v)
    for channel, o in enumerate(offsets):
        window = (slice(None),) + tuple(slice(1 + c, 1 + c + n) for c, n in zip(o, v.shape[1:], strict=True))
        y = y + array[channel] * padded[window]
    return y


CASES = {
    "2d-stencil3": ((14, 11), NEUMANN_2D, {"stencil": 3}, 9, 9),
    "2d-stencil1": ((14, 11), NEUMANN_2D, {"stencil": 1}, 1, 1),
    "2d-no-transfer": ((13, 12), True, {"stencil": 3, "transfer": False}, 9, None),
    "3d-stencil3": ((6, 7, 5), NEUMANN_3D, {"stencil": 3}, 27, 27),
}


@pytest.mark.parametrize("case", list(CASES))
def test_learned_stencils_are_arrays_equal_to_what_the_cycle_applies(case):
    grid, walls, options, smoother_channels, transfer_channels = CASES[case]
    A = scene(grid, walls=walls)
    net = randomized(NeuralMultigrid(dim=len(grid), coarsest=8, **options).double(), 1)
    M = NeuralMultigridPreconditioner(A, net, net.layout)
    generator = torch.Generator().manual_seed(0)
    assert len(M.levels) >= 2
    for level, internal in zip(M.levels[:-1], M._levels[:-1], strict=True):
        assert level.smoother_weights.shape == (smoother_channels, *level.grid)
        assert level.smoother_weights.device.type == "cpu" and not level.smoother_weights.requires_grad
        v = torch.randn(1, *level.grid, generator=generator, dtype=torch.float64)
        torch.testing.assert_close(_apply_stencil(level.smoother_weights, v), internal.pre[0](None, v), rtol=0, atol=1e-14)
        if transfer_channels is None:
            assert level.prolongation is None and internal.lift is None
        else:
            assert level.prolongation.shape == (transfer_channels, *level.grid)
            torch.testing.assert_close(_apply_stencil(level.prolongation, v), internal.lift(v), rtol=0, atol=1e-14)
        assert level.restriction is None
    assert M.levels[-1].smoother_weights is None and M.levels[-1].smoother == "direct"


def test_the_guard_on_the_coarsest_level_raises_one_clear_line():
    check_coarsest(MAX_COARSE_DIRECT)  # at the limit: fine
    with pytest.raises(ValueError, match="coarsest level has 10001 unknowns, more than max_coarse_direct=10000") as error:
        check_coarsest(MAX_COARSE_DIRECT + 1)
    assert "\n" not in str(error.value)
    A = scene((17, 13), walls=NEUMANN_2D)
    with pytest.raises(ValueError, match="coarsest level has 221 unknowns, more than max_coarse_direct=100") as error:
        GeometricMultigrid(A, max_levels=1, max_coarse_direct=100)
    assert "\n" not in str(error.value)
    net = NeuralMultigrid(dim=2).double()
    with pytest.raises(ValueError, match="more than max_coarse_direct=100"):
        NeuralMultigridPreconditioner(A, net, net.layout, max_levels=1, max_coarse_direct=100)
    with pytest.raises(ValueError, match="coarsest level has 221 unknowns, more than max_coarse_direct=100"):
        AMG(A.to_scipy(), max_levels=1, max_coarse_direct=100)
    with pytest.raises(ValueError, match="max_coarse_direct ≥ 1"):
        GeometricMultigrid(A, max_coarse_direct=0)
    assert len(GeometricMultigrid(A, max_levels=1, max_coarse_direct=221).levels) == 1


@pytest.mark.parametrize("grid, walls", [((17, 13), NEUMANN_2D), ((6, 7, 5), NEUMANN_3D)])
def test_the_cycles_are_unchanged_by_the_hierarchy(grid, walls):
    A = scene(grid, walls=walls)
    n = A.shape[0]
    net = randomized(NeuralMultigrid(dim=len(grid), coarsest=8).double(), 2)
    preconditioners = [
        GeometricMultigrid(A, coarsest=8), GeometricMultigrid(A, coarsest=8, smoother="redblack", boundary_sweeps=2),
        AMG(A.to_scipy()), AMG(A.to_scipy(), method="ruge_stuben"), NeuralMultigridPreconditioner(A, net, net.layout, coarsest=8),
    ]  # fmt: skip
    r = torch.randn(n, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for M in preconditioners:
        expected = M.apply(r).clone()
        assert isinstance(M.hierarchy, MultilevelHierarchy) and all(isinstance(level, Level) for level in M.levels)
        assert M.hierarchy is M.hierarchy and M.levels is M.hierarchy.levels
        repr(M)
        torch.testing.assert_close(M.apply(r), expected, rtol=0, atol=1e-14)
        torch.testing.assert_close(M.apply(r[:, 0]), expected[:, 0], rtol=0, atol=1e-14)


def test_the_setup_is_reported_in_parts():
    """Set-up seconds per part, exclusive, summing to at most the wall time of the constructor; the
    neural cycle adds its network passes; the level table prints them."""
    import time

    from neuralsolvers.solvers.multigrid.hierarchy import SetupClock

    A = scene((32, 24), walls=NEUMANN_2D)
    start = time.perf_counter()
    M = GeometricMultigrid(A, coarsest=8, coarse_operator="galerkin", interpolation="operator_dependent")
    wall = time.perf_counter() - start
    assert list(M.setup_seconds) == ["levels", "interpolation", "coarse operators", "coarsest factorization"]
    assert all(seconds >= 0 for seconds in M.setup_seconds.values()) and sum(M.setup_seconds.values()) <= wall
    assert "Set-up:" in repr(M) and "coarse operators" in repr(M)
    net = NeuralMultigrid(dim=2, coarsest=8, galerkin=True).double()
    assert "network" in net.preconditioner(A).setup_seconds
    clock = SetupClock(torch.device("cpu"))
    with clock.part("outer"), clock.part("inner"):
        time.sleep(0.02)
    assert clock.seconds["inner"] >= 0.02 and clock.seconds["outer"] < 0.01


def test_pyamg_hierarchies_are_seeded_so_a_matrix_gets_one():
    """PyAMG draws random vectors for its spectral-radius estimates (ω/ρ of the Jacobi smoother, the
    smoothed prolongation): seeded, two builds of the same matrix agree, and the caller's NumPy state
    is left as it was."""
    import numpy as np
    import pyamg

    from neuralsolvers.solvers.multigrid.amg import AMG

    A = pyamg.gallery.poisson((40, 40), format="csr")
    np.random.seed(123)  # noqa: NPY002
    before = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    first, second = AMG(A), AMG(A)
    assert np.random.random() == before  # noqa: NPY002
    for one, other in zip(first.pyamg.levels, second.pyamg.levels, strict=True):
        assert (abs(one.A - other.A)).max() == 0
        if hasattr(one, "P"):
            assert (abs(one.P - other.P)).max() == 0
            assert one.presmoother.keywords["omega"] == other.presmoother.keywords["omega"]
