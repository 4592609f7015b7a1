"""Diffusion scenes: the coefficient families (2D and 3D), and the default scenes unchanged by them."""

import hashlib

import numpy as np
import pytest

from neuralsolvers.data_gen.diffusion_scenes import COEFFICIENT_FAMILIES, DiffusionScenes

GRIDS = [(16, 16), (8, 8, 8)]
BINARY = ["blobs", "channels", "layers"]
# fraction of high cells per sample, at these tiny grids (channels in 3D are thin tubes)
HIGH_FRACTION = {"blobs": (0.2, 0.8), "channels": (0.01, 0.5), "layers": (0.05, 0.95)}


def digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {
                "grid": (16, 16),
                "families": ("boxes", "spheres", "bunny"),
                "walls": ("dirichlet", "neumann", "mixed"),
                "jump_probability": 0.75,
            },
            "33652fe994c2db0c4cbf27d6337827698b21a6ffcaa0b5be87fc00289ed734b6",
        ),
        (
            {
                "grid": (8, 8, 8),
                "families": ("plume", "empty_box", "spheres"),
                "walls": ("open_top", "mixed"),
                "inclusions": "balls",
                "jump_probability": 0.75,
            },
            "2e9e05e1243c6e8acbbfb3a761c924422ff91f0678dca7f4daed615c835dae7d",
        ),
    ],
)
def test_default_coefficients_are_bit_identical_to_the_scenes_before_families(kwargs, expected):
    # sha256 of the arrays (sorted by name) as the generator made them before coefficient families
    # existed: with the single default family no extra random number may be drawn
    arrays = DiffusionScenes(**kwargs).generate(6, np.random.default_rng(5))
    assert len(np.unique(arrays["coefficient"])) > 2  # inclusions did occur
    assert digest(arrays) == expected
    explicit = DiffusionScenes(**kwargs, coefficients=["inclusions"]).generate(
        6, np.random.default_rng(5)
    )
    assert digest(explicit) == expected


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("family", COEFFICIENT_FAMILIES)
def test_each_family_is_positive_and_deterministic(family, grid):
    generator = DiffusionScenes(
        grid=grid,
        families=["boxes"],
        coefficients=[family],
        contrast=3.0,
        sigma=2.0,
        jump_probability=1.0,
    )
    arrays = generator.generate(3, np.random.default_rng(7))
    again = generator.generate(3, np.random.default_rng(7))
    assert digest(arrays) == digest(again)
    assert arrays["coefficient"].shape == arrays["mask"].shape == arrays["b"].shape == (3, *grid)
    assert arrays["coefficient"].dtype == np.float32 and arrays["walls"].shape == (3, 2 * len(grid))
    assert np.isfinite(arrays["coefficient"]).all() and (arrays["coefficient"] > 0).all()
    assert (arrays["coefficient"] != 1).any()


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("family", BINARY)
def test_binary_families_take_one_and_ten_to_the_contrast(family, grid):
    arrays = DiffusionScenes(grid=grid, coefficients=[family], contrast=6.0).generate(
        8, np.random.default_rng(11)
    )
    coefficient = arrays["coefficient"].reshape(8, -1)
    assert set(np.unique(coefficient)) == {np.float32(1.0), np.float32(1e6)}
    low, high = HIGH_FRACTION[family]
    fraction = (coefficient == np.float32(1e6)).mean(axis=1)
    assert ((fraction >= low) & (fraction <= high)).all(), fraction


def test_lognormal_log_has_standard_deviation_sigma():
    # 8 fields of 64², pooled: the log's standard deviation within 15% of sigma, its mean within 0.5
    arrays = DiffusionScenes(grid=(64, 64), coefficients=["lognormal"], sigma=2.0).generate(
        8, np.random.default_rng(0)
    )
    log = np.log(arrays["coefficient"].astype(np.float64))
    assert abs(log.std() / 2.0 - 1.0) < 0.15
    assert abs(log.mean()) < 0.5
    assert np.abs(np.diff(log, axis=1)).mean() < 0.5 * log.std()  # smooth: neighbours correlated


@pytest.mark.parametrize("grid", GRIDS)
def test_layers_vary_along_one_axis_only(grid):
    arrays = DiffusionScenes(grid=grid, coefficients=["layers"], contrast=2.0).generate(
        6, np.random.default_rng(2)
    )
    for coefficient in arrays["coefficient"]:
        varying = [
            axis for axis in range(len(grid)) if (np.diff(coefficient, axis=axis) != 0).any()
        ]
        assert len(varying) == 1


def test_families_are_drawn_per_sample():
    arrays = DiffusionScenes(grid=(16, 16), coefficients=["lognormal", "layers"]).generate(
        12, np.random.default_rng(0)
    )
    binary = [len(np.unique(c)) == 2 for c in arrays["coefficient"]]
    assert any(binary) and not all(binary)


@pytest.mark.parametrize(
    "kwargs",
    [{"coefficients": ["blobs", "marble"]}, {"coefficients": []}, {"sigma": -0.1}, {"sigma": 5.5}],
)
def test_bad_coefficient_options_are_rejected(kwargs):
    with pytest.raises(
        ValueError,
        match="sigma"
        if "sigma" in kwargs
        else r"one or more of \('inclusions', 'lognormal', 'blobs', 'channels', 'layers'\)",
    ):
        DiffusionScenes(**kwargs)
