"""Reference systems built with SciPy/PyAMG: Poisson, anisotropic and jump-coefficient diffusion."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from pyamg.gallery import poisson, stencil_grid
from pyamg.gallery.diffusion import diffusion_stencil_2d

from neuralsolvers.solvers import DiffusionStencil


def jump_coefficient(n: int) -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    a = np.where(rng.random((n, n)) > 0.5, 100.0, 1.0)
    return DiffusionStencil((n, n), torch.from_numpy(a)).to_scipy()


SYSTEMS = {
    "poisson2d": lambda: poisson((24, 24), format="csr"),
    "poisson3d": lambda: poisson((9, 8, 7), format="csr"),
    "anisotropic": lambda: stencil_grid(diffusion_stencil_2d(epsilon=0.01, theta=np.pi / 6, type="FD"), (24, 24), format="csr"),
    "jump": lambda: jump_coefficient(20),
}


@pytest.fixture(params=sorted(SYSTEMS))
def system(request):
    A = SYSTEMS[request.param]()
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    return request.param, A, b


@pytest.fixture
def one_thread():
    """Tiny convolutions: intra-op threads only add overhead (×20 on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def darcy_system():
    """``build(resolution, seed)`` → (stencil, SciPy CSC matrix, b = 1) of a piecewise 12/3 Darcy
    system on the interior of a ``resolution²`` node grid (no solve)."""
    from neuralsolvers.data_gen.darcy import Darcy2D, darcy_operator

    def build(resolution: int, seed: int):
        rng = np.random.default_rng(seed)
        a = Darcy2D(resolution=resolution, workers=1).coefficients(1, rng)[0].astype(np.float64)
        stencil = darcy_operator(a)
        return stencil, stencil.to_scipy().tocsc(), torch.ones(stencil.shape[0], dtype=torch.float64)

    return build
