"""The SPD matrices that ship with PyAMG as a small, fixed, external set of finite-element systems.

[`PyAMGExamples`][neuralsolvers.data_gen.pyamg_examples.PyAMGExamples] stores the symmetric
positive definite examples of ``pyamg.gallery.load_example`` (MATLAB files inside the installed
``pyamg`` package, a dependency: nothing is downloaded) exactly as PyAMG gives them, with a random
right-hand side each: systems assembled by other people's codes, for checking the learned
preconditioners of [`FiniteElementDiffusion`][neuralsolvers.data_gen.finite_elements.FiniteElementDiffusion]
data on matrices they were not made from. The store has the padded-CSR keys of ``fe_diffusion``
(``n``, ``nnz``, ``indptr``, ``indices``, ``data``, ``b``, ``coordinates``), so
[`load_systems`][neuralsolvers.data_gen.finite_elements.load_systems] and ``MatrixDataset`` read it
unchanged; [`load_pyamg_examples`][neuralsolvers.data_gen.pyamg_examples.load_pyamg_examples] also
returns the near-null space where one is stored:

```python
from neuralsolvers.data_gen.pyamg_examples import load_pyamg_examples
import pyamg

for A, b, B in load_pyamg_examples("data/pyamg_examples/test"):
    x = pyamg.smoothed_aggregation_solver(A, B=B).solve(b, tol=1e-8, accel="cg")
```
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.finite_elements import SYSTEM_KEYS, MeshFamilies, check_spd, to_systems
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError, DatasetError
from neuralsolvers.solvers.operators import canonical_csr

__all__ = ["PYAMG_EXAMPLES", "PYAMG_EXCLUDED", "PyAMGExample", "PyAMGExamples", "load_pyamg_examples", "pyamg_example"]

# the SPD examples of pyamg.gallery.load_example, in PyAMG's (alphabetical) order
PYAMG_EXAMPLES = ("airfoil", "bar", "knot", "local_disc_galerkin_diffusion", "unit_cube")
PYAMG_EXCLUDED = {  # PyAMG's other examples, and why they are not SPD
    "helmholtz_2D": "complex-valued and indefinite (a Helmholtz operator)",
    "recirc_flow": "not symmetric (recirculating convection–diffusion, max|A − Aᵀ| ≈ 0.95 max|A|)",
    "unit_square": "singular (a pure-Neumann Laplacian, A·1 = 0: λ_min/λ_max ≈ 1e-16; a dense Cholesky passes only by rounding)",
}
_BLOCKS = {1: 1, 3: 2, 6: 3}  # columns of B → unknowns per node (constants; 2D / 3D rigid-body modes)
_SINGULAR = 1e-12  # λ_min / λ_max of the symmetric part at or below this counts as singular


class PyAMGExample(NamedTuple):
    """One PyAMG example: ``matrix`` ``(n, n)`` CSR float64 (PyAMG's entries, sorted column indices),
    ``modes`` ``(n, k)`` float64 its near-null space ``B`` (``k = 1``: the constants; ``bar``: the six
    3D rigid-body modes), ``coordinates`` ``(n, dim)`` the vertex of each unknown (mesh units) and
    ``block_size`` (unknowns per vertex: 1, or 3 for ``bar``, node-major)."""

    matrix: sp.csr_matrix
    modes: np.ndarray
    coordinates: np.ndarray
    block_size: int


def _validated(examples: Sequence[str]) -> list[str]:
    """``examples`` as a list of SPD example names; one ``ConfigError`` line otherwise."""
    if isinstance(examples, str) or not examples:
        raise ConfigError(f"examples must be a list of one or more of {list(PYAMG_EXAMPLES)}, got {examples!r}")
    for name in examples:
        if name in PYAMG_EXCLUDED:
            raise ConfigError(f"PyAMG example {name!r} is {PYAMG_EXCLUDED[name]}, not SPD; examples must be among {list(PYAMG_EXAMPLES)}")
        if name not in PYAMG_EXAMPLES:
            raise ConfigError(f"no SPD PyAMG example named {name!r}; examples must be among {list(PYAMG_EXAMPLES)}")
    if len(set(examples)) != len(examples):
        raise ConfigError(f"examples must be distinct names among {list(PYAMG_EXAMPLES)}, got {list(examples)}")
    return list(examples)


def pyamg_example(name: str) -> PyAMGExample:
    """The SPD PyAMG example ``name`` (one of ``PYAMG_EXAMPLES``) from ``pyamg.gallery.load_example``.

    The unknowns are PyAMG's free DOFs, whose vertices come first in its ``vertices`` (the Dirichlet
    ones follow), so unknown ``i`` sits at vertex ``i // block_size``."""
    from pyamg.gallery import load_example

    raw = load_example(_validated([name])[0])
    matrix = canonical_csr(sp.csr_matrix(raw["A"], dtype=np.float64))
    modes = np.asarray(raw["B"], dtype=np.float64)
    vertices = np.asarray(raw["vertices"], dtype=np.float64)
    n, k = modes.shape
    block = _BLOCKS.get(k, 0)
    if not block or n != matrix.shape[0] or n % block or len(vertices) < n // block:
        raise DatasetError(f"PyAMG example {name!r}: A {matrix.shape}, B {modes.shape} and vertices {vertices.shape} do not fit together")
    return PyAMGExample(matrix, modes, np.repeat(vertices[: n // block], block, axis=0), block)


def load_pyamg_examples(directory: str | Path, count: int | None = None) -> list[tuple[sp.csr_matrix, np.ndarray, np.ndarray | None]]:
    """The ``(A, b, B)`` systems of a ``pyamg_examples`` split directory (``data/<name>/<split>``):
    ``A`` ``(n, n)`` CSR float64, ``b`` ``(n,)`` float64, ``B`` the stored ``rigid_body_modes``
    ``(n, k)`` or None where the store has none (smoothed aggregation then takes the constants);
    ``count``: only the first ``count``."""
    dataset = ShardedDataset(directory, generator=PyAMGExamples.name)
    with_modes = "rigid_body_modes" in dataset.metadata["shapes"]
    arrays = dataset.load([*SYSTEM_KEYS] + ["rigid_body_modes"] * with_modes)
    if count is not None:
        arrays = {key: value[:count] for key, value in arrays.items()}
    return [(A, b, np.array(arrays["rigid_body_modes"][i, : len(b)]) if with_modes else None)
            for i, (A, b) in enumerate(to_systems(arrays))]  # fmt: skip


class PyAMGExamples(MeshFamilies, Generator):
    """PyAMG's SPD example matrices, one sample each, in the order of ``examples``.

    The examples (``pyamg.gallery.load_example``; Dirichlet unknowns already removed by PyAMG):

    * ``airfoil``: 2D P1 Laplacian on a triangulation around an airfoil, 260 unknowns, 1,682 entries.
    * ``bar``: 3D linear elasticity of a bar (trilinear hexahedra), 600 unknowns (200 nodes × 3,
      node-major), 23,402 entries, six rigid-body modes as ``B``.
    * ``knot``: graph Laplacian of a triangulated knot-shaped surface in 3D, one vertex grounded,
      239 unknowns, 1,667 entries.
    * ``local_disc_galerkin_diffusion``: a local discontinuous Galerkin (degree 5, 46 triangles of 21
      DOFs) diffusion matrix in 2D, 966 unknowns, 35,338 entries; symmetric to 4e-14 relative (stored
      as PyAMG gives it, not symmetrized).
    * ``unit_cube``: a 3D operator on a tetrahedral 5 × 5 × 5 lattice of the unit cube, 125
      unknowns, 1,473 entries.

    Left out, not SPD: ``recirc_flow`` (non-symmetric convection–diffusion), ``helmholtz_2D``
    (complex-valued, indefinite) and ``unit_square`` (a pure-Neumann Laplacian: singular, its
    constants in the null space); see ``PYAMG_EXCLUDED``.

    Samples: a split holds every chosen example once, in order, in one shard: ``num_samples`` must
    be ``len(examples)`` and ``shard_size`` at least that (the generator cannot tell which part of a
    fixed list a later shard would be; anything else is one ``ConfigError``). The right-hand side of
    each is standard normal, drawn in order from the shard's seed (so determined by the split's
    ``seed`` and ``examples``).

    Args:
        examples: example names, a subset of ``PYAMG_EXAMPLES`` (default: all of them).
        tolerance: largest allowed relative asymmetry ``max|A − Aᵀ| / max|A|`` (the self-check).

    Arrays (padded to ``M = max_n`` unknowns and ``Z = max_nnz`` entries, the largest chosen
    example's; floats float64): ``n``, ``nnz`` ``(N,)`` int64; ``indptr`` ``(N, M + 1)``,
    ``indices`` ``(N, Z)`` int64 and ``data`` ``(N, Z)`` the CSR of ``A``, PyAMG's matrix exactly
    (sorted column indices); ``b`` ``(N, M)``; ``coordinates`` ``(N, M, dim)`` the vertex of each
    unknown, ``dim`` the largest dimension among the examples (a 2D example lies in the plane
    ``z = 0`` when 3D ones are chosen too); ``block_size`` ``(N,)`` int64 (1, ``bar``: 3);
    ``example_index`` ``(N,)`` int64, the position in ``examples``; and ``rigid_body_modes``
    ``(N, M, k)``, PyAMG's ``B``, only when every chosen example's ``B`` has the same ``k > 1``
    columns (of the shipped ones: ``examples: [bar]``, ``k = 6``). A mixed choice stores no modes
    rather than padding with zero columns, which ``MatrixDataset`` would hand on as a near-null
    space: zero columns of ``B`` give smoothed aggregation empty coarse unknowns (zero rows that a
    coarse-level smoother divides by). Without stored modes, smoothed aggregation takes the
    constants, also for ``bar``.

    The self-check requires valid CSR, symmetry within ``tolerance``, a positive diagonal, a dense
    Cholesky factorization and ``λ_min > 1e-12 · λ_max`` of the symmetric part (not singular).
    """

    name = "pyamg_examples"

    def __init__(self, examples: Sequence[str] = PYAMG_EXAMPLES, tolerance: float = 1e-12):
        if not tolerance > 0:
            raise ConfigError(f"tolerance must be positive, got {tolerance}")
        self.examples, self.tolerance = _validated(examples), float(tolerance)

    @cached_property
    def _loaded(self) -> list[PyAMGExample]:
        """The chosen examples, in order."""
        return [pyamg_example(name) for name in self.examples]

    @cached_property
    def _bounds(self) -> tuple[int, int]:
        """``(max_n, max_nnz)``: the largest chosen example's unknowns and entries."""
        return max(e.matrix.shape[0] for e in self._loaded), max(e.matrix.nnz for e in self._loaded)

    @property
    def dim(self) -> int:
        """Coordinates per unknown: the largest dimension among the chosen examples (2 or 3)."""
        return max(e.coordinates.shape[1] for e in self._loaded)

    @property
    def num_modes(self) -> int:
        """Columns of the stored ``rigid_body_modes``: the examples' common ``k > 1``, else 0 (none stored)."""
        counts = {e.modes.shape[1] for e in self._loaded}
        return counts.pop() if len(counts) == 1 and min(counts) > 1 else 0

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        count = len(self.examples)
        if num_samples != count:
            raise ConfigError(f"{self.name} stores its {count} examples {self.examples} once each, in order, in one shard: "
                              f"use num_samples: {count} and shard_size >= {count}, not a shard of {num_samples}")  # fmt: skip
        arrays = self._padded_arrays(count)
        arrays["block_size"] = np.array([e.block_size for e in self._loaded], np.int64)
        arrays["example_index"] = np.arange(count, dtype=np.int64)
        if self.num_modes:
            arrays["rigid_body_modes"] = np.zeros((count, self.max_n, self.num_modes))
        for i, example in enumerate(self._loaded):
            n, dim = example.coordinates.shape
            points = np.pad(example.coordinates, ((0, 0), (0, self.dim - dim)))  # a 2D example in the plane z = 0
            self._store_system(arrays, i, example.matrix, rng.standard_normal(n), points)
            if self.num_modes:
                arrays["rigid_body_modes"][i, :n] = example.modes
        return arrays

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Each stored matrix must be valid CSR, symmetric (``max|A − Aᵀ| / max|A| ≤ tolerance``),
        have a positive diagonal, a dense Cholesky factorization and ``λ_min > 1e-12 · λ_max`` of its
        symmetric part; stored modes must be finite."""
        systems = to_systems(arrays)
        structure, asymmetry, indefinite = check_spd([a for a, _ in systems], [b for _, b in systems])
        singular = np.zeros(len(systems))
        for i, (matrix, _) in enumerate(systems):
            if not (structure[i] or indefinite[i]):
                with threadpool_limits(1):
                    dense = matrix.toarray()
                    eigenvalues = np.linalg.eigvalsh(0.5 * (dense + dense.T))
                singular[i] = float(eigenvalues[0] <= _SINGULAR * eigenvalues[-1])
        modes = arrays.get("rigid_body_modes", np.zeros(0))
        return max(
            self._bounded(structure, "malformed CSR or non-finite load (1 = yes):", 0.0),
            self._bounded(asymmetry, "relative asymmetry", self.tolerance),
            self._bounded(indefinite, "not positive definite (1 = yes):", 0.0),
            self._bounded(singular, "singular, λ_min ≤ 1e-12 λ_max (1 = yes):", 0.0),
            self._bounded(np.array([0.0 if np.isfinite(modes).all() else 1.0]), "non-finite rigid_body_modes (1 = yes):", 0.0),
        )
