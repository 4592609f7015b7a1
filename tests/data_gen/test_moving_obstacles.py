"""Moving-obstacle sequences: deterministic per seed, obstacles that move every frame, smooth
right-hand sides on fluid cells only, 2D and 3D."""

import numpy as np
import pytest

from neuralsolvers.data_gen import MovingObstacles
from neuralsolvers.errors import DatasetError


@pytest.mark.parametrize(("grid", "walls"), [((48, 40), "dirichlet"), ((16, 14, 12), "open_top")])
def test_sequences_move_and_are_deterministic(grid, walls):
    generator = MovingObstacles(grid=grid, frames=6, walls=walls)
    arrays = generator.generate(2, np.random.default_rng(0))
    again = generator.generate(2, np.random.default_rng(0))
    assert arrays["mask"].shape == (2, 6, *grid) and arrays["b"].shape == (2, 6, *grid)
    np.testing.assert_array_equal(arrays["mask"], again["mask"])
    masks = arrays["mask"].astype(bool)
    changed = (masks[:, 1:] != masks[:, :-1]).reshape(2, 5, -1).mean(-1)
    assert (changed > 0).all() and (changed < 0.2).all()  # every frame a new geometry, but a nearby one
    assert 0.5 < masks.mean() < 1.0
    assert np.all(arrays["b"][~masks] == 0) and np.all(np.abs(arrays["b"][masks]) > 0)
    generator.check(arrays)
    # consecutive right-hand sides are close: a warm start from the previous frame helps
    b = arrays["b"].reshape(2, 6, -1)
    assert np.all(np.linalg.norm(b[:, 1:] - b[:, :-1], axis=-1) < 0.5 * np.linalg.norm(b[:, 1:], axis=-1))
    operator = generator.operator(masks[0, 0])
    assert operator.grid == tuple(grid) and operator.walls == tuple(generator.dirichlet_walls())


def test_bad_parameters_and_a_still_sequence_are_refused():
    with pytest.raises(ValueError, match="grid"):
        MovingObstacles(grid=(2, 2))
    with pytest.raises(ValueError, match="walls"):
        MovingObstacles(grid=(16, 16), walls="periodic")
    still = MovingObstacles(grid=(16, 16), frames=3, speed=0.0, spin=0.0)
    arrays = still.generate(1, np.random.default_rng(0))
    MovingObstacles(grid=(16, 16), frames=3, speed=0.0, spin=0.0).check(arrays)  # not moving is what it was asked
    moving = MovingObstacles(grid=(16, 16), frames=3)
    with pytest.raises(DatasetError, match="did not move"):
        moving.check(arrays)
