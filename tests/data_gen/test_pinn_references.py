"""PINN references satisfy their PDEs by finite differences and match published benchmark values."""

import math

import numpy as np
import pytest

from neuralsolvers.data_gen.pinn_references import (
    BurgersReference,
    CavityReference,
    ConvectionReference,
    HelmholtzReference,
    KleinGordonReference,
    burgers_cole_hopf,
)
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError, DatasetError


def fields(generator):
    arrays = generator.generate(1, None)
    generator.check(arrays)
    first, second = generator.grid()
    return {k: v[0] for k, v in arrays.items() if not k.startswith("_")}, first[1] - first[0], second[1] - second[0]


def laplacian(u, h):
    return (u[1:-1, 2:] + u[1:-1, :-2] + u[2:, 1:-1] + u[:-2, 1:-1] - 4 * u[1:-1, 1:-1]) / h**2


def test_helmholtz_satisfies_its_pde_and_boundary_values():
    f, h, _ = fields(HelmholtzReference(resolution=401))
    residual = laplacian(f["u"], h) + f["u"][1:-1, 1:-1] - f["q"][1:-1, 1:-1]
    # O(h²) differences: ((a₁π)⁴ + (a₂π)⁴)h²/12 ≈ 5.2e-2 for h = 1/200 (measured 5.2e-2), |q| up to 167
    assert np.abs(residual).max() < 0.1 and np.abs(f["q"]).max() > 150
    assert np.abs(f["u"][[0, -1]]).max() < 1e-12 and np.abs(f["u"][:, [0, -1]]).max() < 1e-12


def test_klein_gordon_satisfies_its_pde():
    f, h, k = fields(KleinGordonReference(resolution=401))
    u = f["u"]  # rows t, columns x
    u_tt = (u[2:, 1:-1] - 2 * u[1:-1, 1:-1] + u[:-2, 1:-1]) / k**2
    u_xx = (u[1:-1, 2:] - 2 * u[1:-1, 1:-1] + u[1:-1, :-2]) / h**2
    residual = u_tt - u_xx + u[1:-1, 1:-1] ** 3 - f["f"][1:-1, 1:-1]
    assert np.abs(residual).max() < 0.1  # O(h², k²) differences: measured 3.2e-2, |f| up to 250


def test_convection_is_transported_at_speed_beta():
    f, h, k = fields(ConvectionReference(beta=50.0, num_x=2048, num_t=4001))
    u = f["u"]
    u_t = (u[2:] - u[:-2]) / (2 * k)
    u_x = (np.roll(u, -1, axis=1) - np.roll(u, 1, axis=1))[1:-1] / (2 * h)
    assert np.abs(u_t + 50.0 * u_x).max() < 0.05  # O(β³k² + βh²), measured 2.2e-2, |u_t| up to 50


def test_burgers_matches_its_pde_and_the_published_maximum_slope():
    x, t = np.linspace(-1, 1, 401), np.linspace(0, 0.25, 101)  # before the shock steepens
    u = burgers_cole_hopf(x, t)
    h, k, nu = x[1] - x[0], t[1] - t[0], 0.01 / math.pi
    u_t = (u[2:, 1:-1] - u[:-2, 1:-1]) / (2 * k)
    u_x = (u[1:-1, 2:] - u[1:-1, :-2]) / (2 * h)
    u_xx = (u[1:-1, 2:] - 2 * u[1:-1, 1:-1] + u[1:-1, :-2]) / h**2
    # O(h², k²) differences where |u u_x| reaches ~3: measured 4.3e-3 (1.1e-3 at half h and k)
    assert np.abs(u_t + u[1:-1, 1:-1] * u_x - nu * u_xx).max() < 1e-2
    assert np.abs(u[:, [0, -1]]).max() < 1e-12 and np.allclose(u, -u[:, ::-1], atol=1e-12)
    # Basdevant et al. (1986): max |u_x| = 152.00516 at x = 0, t = 1.6037/π
    pair = burgers_cole_hopf(np.array([-1e-5, 1e-5]), np.array([1.6037 / math.pi]))
    assert abs(-(pair[0, 1] - pair[0, 0]) / 2e-5 - 152.00516) < 0.05
    generator = BurgersReference(num_x=65, num_t=11)
    assert generator.check(generator.generate(1, None)) < 1e-10


def test_cavity_matches_ghia_and_solves_its_equations():
    f, h, _ = fields(CavityReference(resolution=129))
    psi, omega, u = f["psi"], f["omega"], f["u"]
    assert np.abs(laplacian(psi, h) + omega[1:-1, 1:-1]).max() < 1e-8
    # Ghia, Ghia & Shin (1982), Re = 100, 129² grid: ψ_min = −0.103423 at (0.6172, 0.7344),
    # u_min on the vertical centreline −0.21090 at y = 0.4531 (their own error is ~2e-3)
    row, column = np.unravel_index(psi.argmin(), psi.shape)
    assert abs(psi.min() + 0.103423) < 1e-3 and abs(column * h - 0.6172) < 0.02 and abs(row * h - 0.7344) < 0.02
    assert abs(u[:, 64].min() + 0.21090) < 5e-3 and abs(np.argmin(u[:, 64]) * h - 0.4531) < 0.03
    assert np.all(u[-1, 1:-1] == 1.0) and np.all(f["v"][0] == 0.0)


def test_reference_generators_write_one_sample(tmp_path):
    generator = ConvectionReference(num_x=16, num_t=5)
    assert generator.shared()["points"].shape == (80, 2)
    generate_split(generator, tmp_path / "reference", num_samples=1, seed=0)
    data = ShardedDataset(tmp_path / "reference", generator="convection_reference")
    assert data.load()["u"].shape == (1, 5, 16) and data.shared["t"].shape == (5,)
    with pytest.raises(ConfigError, match="num_samples: 1"):
        generator.generate(3, None)
    with pytest.raises(DatasetError, match="quadrature"):
        BurgersReference().check({"u": np.zeros(3), "_error": np.array([1e-3])})
