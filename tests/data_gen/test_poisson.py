"""Obstacle Poisson systems: scenes, SPD operators (singular cases fixed), solutions that solve them."""

import numpy as np
import pytest

from neuralsolvers.data_gen.poisson import (
    SCENES,
    PoissonObstacles,
    fix_singular_regions,
    scene_mask,
)


@pytest.mark.parametrize("scene", SCENES)
@pytest.mark.parametrize("grid", [(24, 20), (12, 10, 14)])
def test_scenes_are_deterministic_and_have_obstacles(scene, grid):
    a = scene_mask(grid, scene, np.random.default_rng(3))
    b = scene_mask(grid, scene, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == grid and a.dtype == bool and a.any()
    assert a.all() == (scene == "empty_box")


@pytest.mark.parametrize("walls", ["dirichlet", "neumann", "open_top"])
def test_stored_solutions_solve_their_own_systems(walls):
    generator = PoissonObstacles(grid=(20, 18), scene="spheres", walls=walls, tolerance=1e-9)
    arrays = generator.generate(3, np.random.default_rng(0))
    assert generator.check(arrays) <= 1e-9
    for mask, b, x in zip(arrays["mask"], arrays["b"], arrays["x"], strict=True):
        A = generator.operator(mask).to_scipy()
        rhs = b.reshape(-1).astype(np.float64)
        assert np.linalg.norm(rhs - A @ x.reshape(-1)) <= 1e-9 * np.linalg.norm(rhs) * 1.001
        assert np.abs(b[mask == 0]).max(initial=0) == 0


def test_floating_neumann_region_is_pinned_and_spd():
    fluid = np.ones((6, 5), dtype=bool)
    walls = [False] * 4
    fixed = fix_singular_regions(fluid, walls)
    assert (~fixed).sum() == 1
    A = PoissonObstacles(grid=(6, 5), walls="neumann").operator(fixed.astype(np.uint8)).to_scipy()
    assert np.linalg.eigvalsh(A.toarray()).min() > 0
    # two regions separated by a wall of obstacles, one touching a Dirichlet top: only one pinned
    fluid[:, 2] = False
    fixed = fix_singular_regions(fluid, [False, False, False, True])
    assert (~fixed).sum() == 6  # the dividing wall of 6 cells; both regions touch it (an obstacle)


def test_bad_parameters():
    with pytest.raises(ValueError, match="scene"):
        PoissonObstacles(scene="teapot")
    with pytest.raises(ValueError, match="walls"):
        PoissonObstacles(walls="periodic")
