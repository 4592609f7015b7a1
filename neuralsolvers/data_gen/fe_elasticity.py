"""Finite-element linear elasticity on unstructured meshes: sparse SPD block systems with their near-null space.

[`FiniteElementElasticity`][neuralsolvers.data_gen.fe_elasticity.FiniteElementElasticity]
assembles vector P1 or P2 elements (scikit-fem) for isotropic linear elasticity
``−∇·σ(u) = f``, ``σ = 2μ ε(u) + λ tr ε(u) I``, on the 2D and 3D meshes of
[`FiniteElementDiffusion`][neuralsolvers.data_gen.finite_elements.FiniteElementDiffusion],
clamps part of the boundary and stores the condensed SPD matrix, the load and the rigid-body modes
restricted to the free DOFs (what smoothed-aggregation AMG takes as near-null space ``B``).

The CSR is stored padded with the same keys as ``fe_diffusion`` (``n``, ``nnz``, ``indptr``,
``indices``, ``data``, ``b``, ``coordinates``), so
[`load_systems`][neuralsolvers.data_gen.finite_elements.load_systems] and
[`load_matrices`][neuralsolvers.data_gen.finite_elements.load_matrices] read these datasets
unchanged; [`load_elasticity`][neuralsolvers.data_gen.fe_elasticity.load_elasticity] also returns
the block size and the modes:

```python
from neuralsolvers.data_gen.fe_elasticity import load_elasticity
import pyamg, scipy.sparse as sp

for A, b, modes, block in load_elasticity("data/fe_elasticity_2d/train", count=4):
    ml = pyamg.smoothed_aggregation_solver(sp.bsr_matrix(A, blocksize=(block, block)), B=modes)
    x = ml.solve(b, tol=1e-8, accel="cg")
```
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.finite_elements import (
    FE_MESHES,
    SYSTEM_KEYS,
    MeshFamilies,
    _smooth_field,
    check_spd,
    condense,
    fe_mesh,
    side_facets,
    simplex_element,
    to_systems,
)
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import DatasetError

__all__ = [
    "ELASTIC_BOUNDARIES",
    "ELASTIC_FORCINGS",
    "ELASTIC_MODULI",
    "ElasticitySystem",
    "FiniteElementElasticity",
    "elasticity_matrix",
    "load_elasticity",
    "rigid_body_modes",
    "to_elasticity_systems",
]

ELASTIC_MODULI = ("lognormal", "binary", "constant")
ELASTIC_BOUNDARIES = ("clamped", "side", "end")
ELASTIC_FORCINGS = ("gravity", "smooth")
_END = (
    0.2  # ``end`` clamps the boundary facets within this fraction of the extent along a direction
)
_KEYS = (*SYSTEM_KEYS, "rigid_body_modes", "block_size")


class ElasticitySystem(NamedTuple):
    """One stored elasticity system: ``A`` ``(n, n)`` CSR float64, ``b`` ``(n,)``, ``modes``
    ``(n, 3)`` (2D) or ``(n, 6)`` (3D) rigid-body modes and the ``block_size`` (2 or 3: DOFs
    ``block·k … block·k + block − 1`` are the components of one node)."""

    matrix: sp.csr_matrix
    b: np.ndarray
    modes: np.ndarray
    block_size: int


def rigid_body_modes(points: np.ndarray) -> np.ndarray:
    """The rigid motions at nodes ``points`` ``(nodes, dim)``, node-major: ``(nodes · dim, k)``.

    2D (``k = 3``): translations in x and y, the rotation ``(−y, x)``; 3D (``k = 6``):
    translations in x, y, z and the rotations ``(0, −z, y)``, ``(z, 0, −x)``, ``(−y, x, 0)``
    (about the coordinate origin). Row ``dim · i + c`` is component ``c`` at node ``i``.
    """
    nodes, dim = points.shape
    if dim not in (2, 3):
        raise ValueError(f"points must be (nodes, 2) or (nodes, 3), got shape {points.shape}")
    x, y = points[:, 0], points[:, 1]
    zero, one = np.zeros(nodes), np.ones(nodes)
    if dim == 2:
        columns = [(one, zero), (zero, one), (-y, x)]
    else:
        z = points[:, 2]
        columns = [(one, zero, zero), (zero, one, zero), (zero, zero, one),
                   (zero, -z, y), (z, zero, -x), (-y, x, zero)]  # fmt: skip
    return np.stack([np.stack(column, axis=1).reshape(-1) for column in columns], axis=1)


def elasticity_matrix(basis: Any, young: np.ndarray, poisson: float) -> sp.csr_matrix:
    """The unconstrained stiffness matrix of isotropic linear elasticity on a vector ``basis``
    (scikit-fem ``Basis`` of an ``ElementVector``), Young's modulus ``young`` per element
    ``(elements,)`` and Poisson ratio ``poisson``; 2D is plane strain. Singular: the rigid-body
    modes are its null space."""
    from skfem import BilinearForm
    from skfem.helpers import ddot, div, sym_grad

    lam = young * poisson / ((1.0 + poisson) * (1.0 - 2.0 * poisson))
    mu = young / (2.0 * (1.0 + poisson))
    points = basis.X.shape[-1]  # quadrature points per element

    @BilinearForm
    def stiffness(u: Any, v: Any, w: Any) -> Any:
        return 2.0 * w.mu * ddot(sym_grad(u), sym_grad(v)) + w.lam * div(u) * div(v)

    return stiffness.assemble(
        basis, lam=np.repeat(lam[:, None], points, 1), mu=np.repeat(mu[:, None], points, 1)
    ).tocsr()


def to_elasticity_systems(arrays: dict[str, np.ndarray]) -> list[ElasticitySystem]:
    """Un-pad a batch of stored elasticity systems (the keys of
    [`to_systems`][neuralsolvers.data_gen.finite_elements.to_systems] plus ``rigid_body_modes``
    ``(N, max_n, k)`` and ``block_size`` ``(N,)``)."""
    missing = [key for key in ("rigid_body_modes", "block_size") if key not in arrays]
    if missing:
        raise ValueError(f"elasticity arrays need {missing}; got {sorted(arrays)}")
    return [
        ElasticitySystem(
            matrix,
            b,
            np.array(arrays["rigid_body_modes"][i, : len(b)]),
            int(arrays["block_size"][i]),
        )
        for i, (matrix, b) in enumerate(to_systems(arrays))
    ]


def load_elasticity(
    directory: str | Path, count: int | None = None, expect: dict[str, Any] | None = None
) -> list[ElasticitySystem]:
    """The ``(A, b, modes, block_size)`` systems of one ``fe_elasticity`` dataset split directory
    (``data/<name>/<split>``); ``count``: only the first ``count``; ``expect``: parameters the
    dataset must have been made with (see [`ShardedDataset`][neuralsolvers.data_gen.store.ShardedDataset])."""
    dataset = ShardedDataset(directory, expect=expect, generator=FiniteElementElasticity.name)
    arrays = dataset.load(list(_KEYS))
    if count is not None:
        arrays = {key: value[:count] for key, value in arrays.items()}
    return to_elasticity_systems(arrays)


class FiniteElementElasticity(MeshFamilies, Generator):
    """Condensed P1/P2 finite-element systems of isotropic linear elasticity on random meshes.

    Per sample it draws a mesh family from ``mesh`` (the families, sizes and ``refine`` of
    [`FiniteElementDiffusion`][neuralsolvers.data_gen.finite_elements.FiniteElementDiffusion]),
    a Young's-modulus family from ``coefficients``, a Poisson ratio ``ν`` uniformly in
    ``poisson_ratio``, a clamped boundary from ``boundary`` and a body force from ``forcing``,
    assembles vector Lagrange elements with scikit-fem (2D: plane strain) and eliminates the
    clamped DOFs (``u = 0``; traction-free elsewhere), so ``A`` is symmetric positive definite.
    There are ``dim`` unknowns per node (P1) or per node and edge midpoint (P2).

    Young's modulus, one value per element (as ``κ`` of ``fe_diffusion``; ``g`` a smooth, roughly
    unit-variance Gaussian field of correlation length ``length_scale``): ``lognormal``
    ``E = exp(sigma · g)``; ``binary`` ``E = 10^contrast`` where ``g > 0`` and 1 elsewhere;
    ``constant`` ``E = 1``. Lamé parameters ``λ = Eν / ((1 + ν)(1 − 2ν))``, ``μ = E / (2(1 + ν))``.

    Boundary (all components clamped on the chosen boundary facets): ``clamped``: all of them;
    ``side``: those whose midpoint lies on one side of a random line (plane) through the centre of
    the bounding box; ``end``: those within 20% of the extent of the lowest end along a random
    direction (a cantilever: few constraints, the hardest case for AMG).
    Forcing: ``gravity``: ``f = −e_dim`` (unit weight along the last axis); ``smooth``: that plus an
    independent smooth field per component.

    Args:
        mesh: mesh families to draw from (all 2D or all 3D; see ``FE_MESHES``).
        refine: mesh size (1–8), as for ``fe_diffusion``.
        order: 1 (P1) or 2 (P2) vector Lagrange elements.
        coefficients: Young's-modulus families to draw from.
        poisson_ratio: ``[low, high]`` range of ``ν`` (``0 ≤ low ≤ high < 0.5``).
        boundary: clamped-boundary kinds to draw from.
        forcing: body forces to draw from.
        sigma: log-normal strength (> 0).
        contrast: binary modulus jump, ``10^contrast`` (0–12).
        length_scale: correlation length of the random fields (> 0, mesh units).
        tolerance: largest allowed relative asymmetry ``max|A − Aᵀ| / max|A|`` and rigid-body
            residual (the self-check).

    Arrays (padded to ``M = max_n`` unknowns and ``Z = max_nnz`` entries, floats float64): ``n``,
    ``nnz`` ``(N,)`` int64; ``indptr`` ``(N, M + 1)``, ``indices`` ``(N, Z)`` int64 and ``data``
    ``(N, Z)`` the CSR of ``A`` (rows and columns: the free DOFs, node-major — the ``dim``
    components of a node are consecutive, so ``A`` converts to BSR with blocks ``dim × dim`` —,
    sorted column indices, exact zeros dropped); ``b`` ``(N, M)`` the load; ``coordinates``
    ``(N, M, dim)`` the node of each free DOF; ``rigid_body_modes`` ``(N, M, 3)`` (2D) or
    ``(N, M, 6)`` (3D), [`rigid_body_modes`][neuralsolvers.data_gen.fe_elasticity.rigid_body_modes]
    of the free nodes; ``block_size`` ``(N,)`` int64 (``dim``); ``poisson_ratio`` ``(N,)``;
    ``mesh_index``, ``coefficient_index``, ``boundary_index``, ``forcing_index`` ``(N,)`` int64,
    what was drawn (positions in the parameter lists).

    The self-check requires valid CSR, symmetry and a positive diagonal (a dense Cholesky
    factorization up to 1,500 unknowns), whole node blocks, modes equal to the rigid motions of the
    stored coordinates and ``A @ modes = 0`` (relative to the row's ``|A| |modes|``, within
    ``tolerance``) on every row that does not couple to a clamped DOF.
    """

    name = "fe_elasticity"

    def __init__(
        self,
        mesh: Sequence[str] = ("disc", "lshape", "square_holes", "delaunay"),
        refine: int = 4,
        order: int = 1,
        coefficients: Sequence[str] = ("lognormal", "binary", "constant"),
        poisson_ratio: Sequence[float] = (0.2, 0.45),
        boundary: Sequence[str] = ("side", "end"),
        forcing: Sequence[str] = ("gravity", "smooth"),
        sigma: float = 1.0,
        contrast: float = 3.0,
        length_scale: float = 0.2,
        tolerance: float = 1e-12,
    ):
        for what, given, allowed in [
            ("mesh", mesh, tuple(FE_MESHES)),
            ("coefficients", coefficients, ELASTIC_MODULI),
            ("boundary", boundary, ELASTIC_BOUNDARIES),
            ("forcing", forcing, ELASTIC_FORCINGS),
        ]:
            if isinstance(given, str) or not given or any(name not in allowed for name in given):
                raise ValueError(
                    f"{what} must be a list of one or more of {list(allowed)}, got {given!r}"
                )
        if len({FE_MESHES[name] for name in mesh}) != 1:
            raise ValueError(f"mesh families must be all 2D or all 3D, got {list(mesh)}")
        if not (isinstance(refine, int | np.integer) and 1 <= refine <= 8):
            raise ValueError(f"refine must be an integer in [1, 8], got {refine!r}")
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        if (
            isinstance(poisson_ratio, str)
            or len(poisson_ratio) != 2
            or not 0 <= poisson_ratio[0] <= poisson_ratio[1] < 0.5
        ):
            raise ValueError(
                f"poisson_ratio must be a range [low, high] with 0 <= low <= high < 0.5, got {poisson_ratio!r}"
            )
        if not 0 < sigma <= 10:
            raise ValueError(f"sigma must lie in (0, 10], got {sigma}")
        if not 0 <= contrast <= 12:
            raise ValueError(f"contrast must lie in [0, 12], got {contrast}")
        if not length_scale > 0:
            raise ValueError(f"length_scale must be positive, got {length_scale}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {tolerance}")
        self.mesh, self.refine, self.order = list(mesh), int(refine), int(order)
        self.coefficients, self.poisson_ratio = (
            list(coefficients),
            [float(value) for value in poisson_ratio],
        )
        self.boundary, self.forcing = list(boundary), list(forcing)
        self.sigma, self.contrast = float(sigma), float(contrast)
        self.length_scale, self.tolerance = float(length_scale), float(tolerance)

    @property
    def num_modes(self) -> int:
        """Rigid-body modes: 3 in 2D, 6 in 3D."""
        return 3 if self.dim == 2 else 6

    def element(self) -> Any:
        """The scikit-fem vector element (``ElementVector`` of P1 or P2)."""
        from skfem import ElementVector

        return ElementVector(simplex_element(self.dim, self.order))

    def _clamped(self, mesh: Any, boundary: str, rng: np.random.Generator) -> np.ndarray:
        """The clamped boundary facets of one mesh."""
        if boundary == "clamped":
            facets = mesh.boundary_facets()
        elif boundary == "side":
            facets = side_facets(mesh, rng)
        else:
            facets = mesh.boundary_facets()
            direction = rng.standard_normal(self.dim)
            middle = mesh.p[:, mesh.facets[:, facets]].mean(axis=1).T  # (boundary facets, dim)
            reach = mesh.p.T @ direction
            facets = facets[middle @ direction <= reach.min() + _END * (reach.max() - reach.min())]
        if not len(facets):
            raise DatasetError(
                f"{self.name}: a {boundary} boundary came out without clamped facets"
            )
        return facets

    def _system(
        self, draws: tuple[int, ...], poisson: float, rng: np.random.Generator
    ) -> dict[str, Any]:
        """One condensed system: ``A``, ``b``, free-DOF ``coordinates`` and ``modes``, and ``interior``
        (the free rows that couple to no clamped DOF)."""
        from skfem import Basis, LinearForm
        from skfem.helpers import dot

        family, coefficient, boundary, forcing = (names[k] for names, k in zip(
            (self.mesh, self.coefficients, self.boundary, self.forcing), draws, strict=True))  # fmt: skip
        mesh = fe_mesh(family, self.refine, rng)
        basis = Basis(mesh, self.element())
        dim = self.dim
        # scikit-fem numbers vector DOFs entity by entity, components innermost (node-major); rely on it
        component = np.empty(basis.N, np.int64)
        for local, dofs in enumerate(basis.element_dofs):
            component[dofs] = local % dim
        locations = basis.doflocs.T  # (DOFs, dim)
        if (
            basis.N % dim
            or (component != np.arange(basis.N) % dim).any()
            or not all(np.array_equal(locations[c::dim], locations[::dim]) for c in range(1, dim))
        ):
            raise DatasetError(f"{self.name}: scikit-fem's vector DOFs are not node-major")

        centroids = mesh.p[:, mesh.t].mean(axis=1).T  # (elements, dim)
        if coefficient == "lognormal":
            young = np.exp(self.sigma * _smooth_field(centroids, self.length_scale, rng))
        elif coefficient == "binary":
            young = np.where(
                _smooth_field(centroids, self.length_scale, rng) > 0, 10.0**self.contrast, 1.0
            )
        else:
            young = np.ones(len(centroids))
        load = np.zeros((dim, len(centroids)))
        load[-1] = -1.0
        if forcing == "smooth":
            load += np.stack([_smooth_field(centroids, self.length_scale, rng) for _ in range(dim)])

        @LinearForm
        def rhs(v: Any, w: Any) -> Any:
            return dot(w.f, v)

        matrix = elasticity_matrix(basis, young, poisson)
        vector = rhs.assemble(basis, f=np.repeat(load[..., None], basis.X.shape[-1], -1))
        fixed = basis.get_dofs(self._clamped(mesh, boundary, rng)).all()
        condensed, free = condense(matrix, fixed)
        if (
            len(free) % dim
            or (free[::dim] % dim).any()
            or (free.reshape(-1, dim) - free[::dim, None] != np.arange(dim)).any()
        ):
            raise DatasetError(f"{self.name}: the clamped DOFs did not come in whole node blocks")
        interior = ~(abs(matrix[free][:, fixed]).sum(axis=1).A1 > 0)
        return {"matrix": condensed, "b": vector[free], "coordinates": locations[free],
                "modes": rigid_body_modes(locations[free][::dim]), "interior": interior}  # fmt: skip

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        arrays = self._padded_arrays(num_samples)
        arrays["rigid_body_modes"] = np.zeros((num_samples, self.max_n, self.num_modes))
        arrays["block_size"] = np.full(num_samples, self.dim, np.int64)
        arrays["_interior"] = np.zeros((num_samples, self.max_n), bool)  # handed to check, not stored
        keys = self._draw_families(arrays, rng)
        arrays["poisson_ratio"] = rng.uniform(*self.poisson_ratio, size=num_samples)
        for i in range(num_samples):  # one mesh and one assembly per sample
            draws = tuple(int(arrays[key][i]) for key in keys)
            system = self._system(draws, float(arrays["poisson_ratio"][i]), rng)
            n = self._store_system(arrays, i, system["matrix"], system["b"], system["coordinates"])
            arrays["rigid_body_modes"][i, :n], arrays["_interior"][i, :n] = system["modes"], system["interior"]
        return arrays

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Each stored matrix must be valid CSR, symmetric (``max|A − Aᵀ| / max|A| ≤ tolerance``),
        have a positive diagonal and, up to 1,500 unknowns, a dense Cholesky factorization; its
        unknowns must be whole node blocks, ``rigid_body_modes`` the rigid motions of the stored
        coordinates and, on the rows that couple to no clamped DOF (the ``_interior`` mask, when
        given), ``max_k |A @ modes|_ik ≤ tolerance · max_k (|A| |modes|)_ik`` per row ``i``."""
        systems = to_elasticity_systems(arrays)
        structure, asymmetry, indefinite = check_spd(
            [s.matrix for s in systems], [s.b for s in systems]
        )
        modes_error, residual = np.zeros(len(systems)), np.zeros(len(systems))
        for i, system in enumerate(systems):
            n, block = len(system.b), system.block_size
            points = arrays["coordinates"][i, :n]
            if (
                n % block
                or block != self.dim
                or (points.reshape(-1, block, block) != points[::block, None]).any()
            ):
                modes_error[i] = np.inf
                continue
            modes_error[i] = np.abs(system.modes - rigid_body_modes(points[::block])).max()
            if "_interior" in arrays and not structure[i]:
                interior = arrays["_interior"][i, :n]
                scale = (abs(system.matrix) @ np.abs(system.modes)).max(axis=1)[interior]  # per row
                rows = np.abs(system.matrix @ system.modes).max(axis=1)[interior]
                residual[i] = (rows / np.maximum(scale, np.finfo(np.float64).tiny)).max(initial=0.0)
        return max(
            self._bounded(structure, "malformed CSR or non-finite load (1 = yes):", 0.0),
            self._bounded(asymmetry, "relative asymmetry", self.tolerance),
            self._bounded(indefinite, "not positive definite (1 = yes):", 0.0),
            self._bounded(
                modes_error, "rigid-body modes off the coordinates' rigid motions by", 0.0
            ),
            self._bounded(
                residual,
                "relative rigid-body residual A @ modes away from the clamp",
                self.tolerance,
            ),
        )
