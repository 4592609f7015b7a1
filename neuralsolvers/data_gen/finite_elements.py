"""Finite-element diffusion systems on unstructured meshes: sparse SPD matrices of any size.

[`FiniteElementDiffusion`][neuralsolvers.data_gen.finite_elements.FiniteElementDiffusion]
assembles P1 or P2 finite elements (scikit-fem) for ``−∇·(κ∇u) = f`` on 2D and 3D simplex
meshes, eliminates the Dirichlet unknowns and stores the condensed SPD matrix ``A`` and load
``b``: data for learned preconditioners of general sparse SPD systems.

Matrices differ in size, but every shard needs fixed per-sample shapes, so they are stored
*padded* like the graphs of `neuralsolvers.data_gen.graphs`: per sample the counts ``n`` and
``nnz`` (int64) and the CSR arrays ``indptr`` ``(max_n + 1,)``, ``indices`` ``(max_nnz,)``
int64 and ``data`` ``(max_nnz,)`` float64, whose entries past ``n + 1`` / ``nnz`` are zero and
meaningless. ``max_n``/``max_nnz`` follow from the constructor parameters only (the unknowns and
sparsity of the full, uncondensed system on the largest mesh family), so all shards of a dataset
agree. [`to_systems`][neuralsolvers.data_gen.finite_elements.to_systems] un-pads a batch;
[`load_matrices`][neuralsolvers.data_gen.finite_elements.load_matrices] and
[`load_systems`][neuralsolvers.data_gen.finite_elements.load_systems] read a dataset directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay
from threadpoolctl import threadpool_limits

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import DatasetError

__all__ = ["BOUNDARIES", "FE_COEFFICIENTS", "FE_MESHES", "FORCINGS", "FiniteElementDiffusion", "check_spd",
           "MeshFamilies", "SYSTEM_KEYS", "condense", "fe_mesh", "load_matrices", "load_systems", "padded_bounds", "side_facets",
           "simplex_element", "to_systems"]  # fmt: skip

FE_MESHES = {"disc": 2, "lshape": 2, "square": 2, "square_holes": 2, "delaunay": 2, "ball": 3, "cube": 3}
FE_COEFFICIENTS = ("lognormal", "binary", "constant", "anisotropic")
BOUNDARIES = ("dirichlet", "mixed")
FORCINGS = ("one", "smooth")
SYSTEM_KEYS = ("n", "nnz", "indptr", "indices", "data", "b")  # the padded-CSR arrays of a stored system (A, b)
_DENSE_CHECK = 1500  # matrices up to this size get a dense Cholesky factorization in `check`
_MODES = 64  # random Fourier modes of the smooth Gaussian fields


def to_systems(arrays: dict[str, np.ndarray]) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    """Un-pad a batch of stored systems into ``(A, b)`` pairs.

    ``arrays`` needs ``n``, ``nnz`` ``(N,)``, ``indptr`` ``(N, max_n + 1)``, ``indices``,
    ``data`` ``(N, max_nnz)`` and ``b`` ``(N, max_n)``; ``A`` is a ``(n, n)`` float64
    ``scipy.sparse.csr_matrix``, ``b`` ``(n,)`` float64.
    """
    missing = [key for key in SYSTEM_KEYS if key not in arrays]
    if missing:
        raise ValueError(f"matrix arrays need {missing}; got {sorted(arrays)}")
    systems = []
    for i, (n, nnz) in enumerate(zip(arrays["n"].tolist(), arrays["nnz"].tolist(), strict=True)):
        parts = (arrays["data"][i, :nnz], arrays["indices"][i, :nnz], arrays["indptr"][i, : n + 1])
        matrix = sp.csr_matrix(tuple(np.array(part) for part in parts), shape=(n, n))
        systems.append((matrix, np.array(arrays["b"][i, :n])))
    return systems


def load_systems(
    directory: str | Path, count: int | None = None, generator: str | None = None, expect: dict[str, Any] | None = None
) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    """The ``(A, b)`` systems of one dataset split directory (``data/<name>/<split>``).

    ``count``: only the first ``count`` samples; ``generator``/``expect``: what the dataset must
    have been made by / with (checked, see
    [`ShardedDataset`][neuralsolvers.data_gen.store.ShardedDataset]).
    """
    dataset = ShardedDataset(directory, expect=expect, generator=generator)
    arrays = dataset.load(list(SYSTEM_KEYS))
    if count is not None:
        arrays = {key: value[:count] for key, value in arrays.items()}
    return to_systems(arrays)


def load_matrices(
    directory: str | Path, count: int | None = None, generator: str | None = None, expect: dict[str, Any] | None = None
) -> list[sp.csr_matrix]:
    """The matrices ``A`` (CSR, float64) of one dataset split directory; arguments as `load_systems`."""
    return [matrix for matrix, _ in load_systems(directory, count, generator, expect)]


def _smooth_field(points: np.ndarray, length_scale: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth, roughly unit-variance Gaussian field at ``points`` ``(m, dim)``: ``(m,)``.

    Random Fourier features of the squared-exponential covariance with correlation length
    ``length_scale`` (in the units of the mesh coordinates).
    """
    frequencies = rng.standard_normal((points.shape[1], _MODES)) / length_scale
    phases = rng.uniform(0.0, 2.0 * np.pi, _MODES)
    return np.sqrt(2.0 / _MODES) * np.cos(points @ frequencies + phases).sum(axis=1)


def _lattice(refine: int) -> np.ndarray:
    """Node coordinates of the unit square's lattice with ``3 · 2^(refine − 1)`` cells a side."""
    return np.linspace(0.0, 1.0, 3 * 2 ** (refine - 1) + 1)


def simplex_element(dim: int, order: int) -> Any:
    """The scalar scikit-fem Lagrange element of ``order`` (1 or 2) on triangles (2D) or tetrahedra (3D)."""
    from skfem import ElementTetP1, ElementTetP2, ElementTriP1, ElementTriP2

    elements = {(2, 1): ElementTriP1, (2, 2): ElementTriP2, (3, 1): ElementTetP1, (3, 2): ElementTetP2}
    return elements[dim, order]()


def _square(refine: int) -> Any:
    from skfem import MeshTri

    return MeshTri.init_tensor(_lattice(refine), _lattice(refine))


def fe_mesh(family: str, refine: int, rng: np.random.Generator | None) -> Any:
    """One scikit-fem mesh of ``family`` (a key of ``FE_MESHES``) at size ``refine``, as described in
    [`FiniteElementDiffusion`][neuralsolvers.data_gen.finite_elements.FiniteElementDiffusion];
    ``rng=None`` gives the deterministic mesh that bounds the family's size (the lattice square for
    ``square_holes`` and ``delaunay``). Only ``square_holes`` and ``delaunay`` draw from ``rng``."""
    from skfem import MeshTet, MeshTri

    r = refine
    if family == "disc":
        return MeshTri.init_circle(r)
    if family == "lshape":
        return MeshTri.init_lshaped().refined(r)
    if family == "ball":
        return MeshTet.init_ball(r)
    if family == "cube":
        side = np.linspace(0.0, 1.0, 2**r + 1)
        return MeshTet.init_tensor(side, side, side)
    if family == "square" or rng is None:  # square_holes and delaunay: at most the square's size
        return _square(r)
    if family == "square_holes":
        return _holes(r, rng)
    if family == "delaunay":
        return _delaunay(r, rng)
    raise ValueError(f"mesh must be one of {list(FE_MESHES)}, got {family!r}")


def _holes(refine: int, rng: np.random.Generator) -> Any:
    """The lattice square minus 1–3 non-overlapping discs (the largest connected piece)."""
    square = _square(refine)
    centres, radii = [], []
    for _ in range(int(rng.integers(1, 4))):
        for _attempt in range(100):
            centre, radius = rng.uniform(0.25, 0.75, 2), rng.uniform(0.08, 0.15)
            if all(np.linalg.norm(centre - c) > radius + s + 0.05 for c, s in zip(centres, radii, strict=True)):
                centres.append(centre)
                radii.append(radius)
                break
    centroids = square.p[:, square.t].mean(axis=1).T  # (elements, 2)
    distance = np.linalg.norm(centroids[:, None] - np.array(centres)[None], axis=-1)
    mesh = square.remove_elements(np.nonzero((distance < np.array(radii)).any(axis=1))[0])
    # keep the largest piece (holes that touch through the lattice could cut off a few triangles)
    t, n = mesh.t, mesh.p.shape[1]
    pairs = np.concatenate([t[[i, j]] for i in range(3) for j in range(3) if i != j], axis=1)
    graph = sp.coo_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    if count > 1:
        largest = np.argmax(np.bincount(label))
        mesh = mesh.remove_elements(np.nonzero(label[t[0]] != largest)[0])
    return mesh


def _delaunay(refine: int, rng: np.random.Generator) -> Any:
    """Delaunay triangulation of the lattice's boundary nodes and jittered interior nodes."""
    from skfem import MeshTri

    side = _lattice(refine)
    h = side[1] - side[0]
    x, y = np.meshgrid(side, side, indexing="ij")
    points = np.column_stack([x.ravel(), y.ravel()])
    interior = ((points > 0) & (points < 1)).all(axis=1)
    points[interior] += rng.uniform(-0.4 * h, 0.4 * h, (int(interior.sum()), 2))
    triangles = Delaunay(points).simplices
    if len(np.unique(triangles)) != len(points):
        raise DatasetError("delaunay mesh: the Delaunay triangulation left out some points")
    (ux, uy), (vx, vy) = ((points[triangles[:, k]] - points[triangles[:, 0]]).T for k in (1, 2))
    clockwise = ux * vy - uy * vx < 0
    triangles[clockwise] = triangles[clockwise][:, [0, 2, 1]]
    return MeshTri(np.ascontiguousarray(points.T), np.ascontiguousarray(triangles.T))


def padded_bounds(families: Sequence[str], refine: int, element: Any) -> tuple[int, int]:
    """``(max_n, max_nnz)``: unknowns and structural nonzeros of the full (uncondensed) system of
    ``element`` (scalar or ``ElementVector``) on the largest of the mesh ``families`` at ``refine``.

    Removing triangles (holes) only shrinks both; every triangulation of the same points with the
    same boundary (Delaunay) has the same numbers of triangles and edges, so the same P1/P2
    sparsity count as the lattice square."""
    from skfem import Basis

    max_n = max_nnz = 0
    for family in dict.fromkeys("square" if f in ("square_holes", "delaunay") else f for f in families):
        dofs = Basis(fe_mesh(family, refine, None), element).element_dofs  # (per element, elements)
        n = int(dofs.max()) + 1
        rows, cols = np.repeat(dofs, len(dofs), axis=0), np.tile(dofs, (len(dofs), 1))
        pattern = sp.coo_matrix((np.ones(rows.size), (rows.ravel(), cols.ravel())), shape=(n, n)).tocsr()
        max_n, max_nnz = max(max_n, n), max(max_nnz, pattern.nnz)
    return max_n, max_nnz


def side_facets(mesh: Any, rng: np.random.Generator) -> np.ndarray:
    """The boundary facets of ``mesh`` whose midpoint lies on one side of a random line (plane)
    through the centre of its bounding box (draws one standard normal direction)."""
    facets = mesh.boundary_facets()
    direction = rng.standard_normal(mesh.p.shape[0])
    middle = mesh.p[:, mesh.facets[:, facets]].mean(axis=1).T  # (boundary facets, dim)
    centre = 0.5 * (mesh.p.min(axis=1) + mesh.p.max(axis=1))
    return facets[(middle - centre) @ direction < 0]


def condense(matrix: Any, fixed: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """``A`` restricted to the rows and columns not in ``fixed`` (sorted CSR, exact zeros dropped)
    and the kept indices ``free``."""
    free = np.setdiff1d(np.arange(matrix.shape[0]), fixed)
    condensed = sp.csr_matrix(matrix)[free][:, free].tocsr()
    condensed.sum_duplicates()
    condensed.eliminate_zeros()
    condensed.sort_indices()
    return condensed, free


def check_spd(matrices: Sequence[sp.csr_matrix], vectors: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per system: malformed CSR or non-finite load (1 = yes), relative asymmetry
    ``max|A − Aᵀ| / max|A|``, and not positive definite (1 = yes: a non-positive diagonal entry or,
    up to 1,500 unknowns, a failed dense Cholesky factorization)."""
    size = len(matrices)
    asymmetry, structure, indefinite = np.zeros(size), np.zeros(size), np.zeros(size)
    for i, (matrix, vector) in enumerate(zip(matrices, vectors, strict=True)):
        n = matrix.shape[0]
        indptr = matrix.indptr
        valid = (n > 0 and indptr[0] == 0 and indptr[-1] == matrix.nnz and (np.diff(indptr) >= 0).all()
                 and (matrix.indices < n).all() and (matrix.indices >= 0).all() and np.isfinite(vector).all())  # fmt: skip
        structure[i] = 0.0 if valid else 1.0
        if not valid:
            continue
        scale = max(abs(matrix).max(), np.finfo(np.float64).tiny)
        asymmetry[i] = abs(matrix - matrix.T).max() / scale if matrix.nnz else 0.0
        indefinite[i] = float(not (matrix.diagonal() > 0).all())
        if n <= _DENSE_CHECK and not indefinite[i]:
            try:
                with threadpool_limits(1):  # threads only slow a small factorization down
                    np.linalg.cholesky(matrix.toarray())
            except np.linalg.LinAlgError:
                indefinite[i] = 1.0
    return structure, asymmetry, indefinite


class MeshFamilies:
    """What the finite-element generators share: the dimension of their mesh families and the padded
    sizes of their stored systems (``max_n``, ``max_nnz``, from `padded_bounds` with the generator's
    ``element()``). Needs ``mesh``, ``refine`` and ``element()``."""

    mesh: list[str]
    refine: int

    def element(self) -> Any:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Spatial dimension of the meshes (2 or 3)."""
        return FE_MESHES[self.mesh[0]]

    @cached_property
    def _bounds(self) -> tuple[int, int]:
        """``(max_n, max_nnz)``: see `padded_bounds`."""
        return padded_bounds(self.mesh, self.refine, self.element())

    @property
    def max_n(self) -> int:
        """Padded number of unknowns."""
        return self._bounds[0]

    @property
    def max_nnz(self) -> int:
        """Padded number of stored matrix entries."""
        return self._bounds[1]

    def _padded_arrays(self, size: int) -> dict[str, np.ndarray]:
        """Zeroed arrays of ``size`` systems: counts, padded CSR, loads, coordinates."""
        m, z = self.max_n, self.max_nnz
        return {"n": np.zeros(size, np.int64), "nnz": np.zeros(size, np.int64), "indptr": np.zeros((size, m + 1), np.int64),
                "indices": np.zeros((size, z), np.int64), "data": np.zeros((size, z)), "b": np.zeros((size, m)),
                "coordinates": np.zeros((size, m, self.dim))}  # fmt: skip

    def _draw_families(self, arrays: dict[str, np.ndarray], rng: np.random.Generator) -> list[str]:
        """Draw each system's mesh, coefficient, boundary and forcing index into ``arrays``; their keys."""
        lists = {"mesh_index": self.mesh, "coefficient_index": self.coefficients,
                 "boundary_index": self.boundary, "forcing_index": self.forcing}  # fmt: skip
        size = len(arrays["n"])
        for key, names in lists.items():
            arrays[key] = rng.integers(len(names), size=size).astype(np.int64)
        return list(lists)

    def _store_system(self, arrays: dict[str, np.ndarray], i: int, matrix: sp.csr_matrix, load: np.ndarray, coordinates: np.ndarray) -> int:
        """Write system ``i`` into the padded arrays (its size checked against the bounds); its unknowns."""
        n, nnz = matrix.shape[0], matrix.nnz
        if n > self.max_n or nnz > self.max_nnz:
            raise DatasetError(f"{self.name}: a system of {n} unknowns, {nnz} entries exceeds the bound {self.max_n}, {self.max_nnz}")
        arrays["n"][i], arrays["nnz"][i] = n, nnz
        arrays["indptr"][i, : n + 1] = matrix.indptr
        arrays["indices"][i, :nnz], arrays["data"][i, :nnz] = matrix.indices, matrix.data
        arrays["b"][i, :n], arrays["coordinates"][i, :n] = load, coordinates
        return n


class FiniteElementDiffusion(MeshFamilies, Generator):
    """Condensed P1/P2 finite-element systems of ``−∇·(κ∇u) = f`` on random unstructured meshes.

    Per sample it draws a mesh family from ``mesh``, a coefficient family from ``coefficients``,
    a boundary kind from ``boundary`` and a load from ``forcing``, assembles with scikit-fem and
    eliminates the Dirichlet unknowns (homogeneous Dirichlet data), so ``A`` is symmetric
    positive definite.

    Meshes (``refine`` sets the size; unknowns are the P1 nodes before removing the Dirichlet
    ones, P2 has about 4× (2D) or 8× (3D) as many):

    * ``disc``: the unit disc (centre 0), ``MeshTri.init_circle(refine)``: 545 nodes at 4,
      8,321 at 6.
    * ``lshape``: ``[−1, 1]²`` minus the quadrant ``(0, 1]²`` (scikit-fem's L-shape) refined
      ``refine`` times: 833 nodes at 4, 12,545 at 6.
    * ``square``: the unit square, a structured triangle lattice with ``3·2^(refine−1)`` cells a
      side: 625 nodes at 4, 9,409 at 6.
    * ``square_holes``: the same with 1–3 non-overlapping circular holes (radius 0.08–0.15,
      centres in ``[0.25, 0.75]²``) cut out by removing the triangles whose centroid lies in a
      hole (so hole boundaries are jagged).
    * ``delaunay``: the Delaunay triangulation (SciPy) of a random point cloud in the unit square:
      the lattice's boundary nodes plus its interior nodes each moved uniformly within ±0.4 of a
      cell, so triangles are irregular but never degenerate (as many nodes as ``square``).
    * ``ball`` (3D): the unit ball, ``MeshTet.init_ball(refine)``: 833 nodes at 3, 6,017 at 4.
    * ``cube`` (3D): the unit cube, a tetrahedral lattice with ``2^refine`` cells a side: 729
      nodes at 3, 4,913 at 4.

    Coefficients, one value per element (evaluated at its centroid; ``g`` is a smooth,
    roughly unit-variance Gaussian field with correlation length ``length_scale``, a sum of
    random Fourier modes): ``lognormal`` ``κ = exp(sigma · g)``; ``binary`` ``κ = 10^contrast``
    where ``g > 0`` and 1 elsewhere; ``constant`` ``κ = 1``; ``anisotropic`` the SPD tensor
    ``κ = ε I + (1 − ε) d dᵀ`` (in 2D the rotation of ``diag(1, ε)`` to the direction ``d``; in 3D
    fibres, ``diag(1, ε, ε)``) with ``ε`` log-uniform in ``anisotropy`` per sample and ``d`` the
    normalized ``d₀ + direction_spread · (g₁, …, g_dim)``: a uniformly random unit vector ``d₀``
    per sample plus independent smooth fields (``direction_spread = 0``: one direction per sample).

    Boundary: ``dirichlet``: ``u = 0`` on all boundary facets (hole boundaries included);
    ``mixed``: ``u = 0`` on the boundary facets whose midpoint lies on one side of a random line
    (plane) through the centre of the mesh's bounding box, ``κ ∂u/∂n = 0`` on the others.
    Forcing: ``one``: ``f = 1``; ``smooth``: ``f = 1 + g`` with an independent field ``g``
    (piecewise constant, at element centroids).

    Args:
        mesh: mesh families to draw from (all 2D or all 3D).
        refine: mesh size, see above (1–9: 2D P1 up to ~590k unknowns on the L-shape at 9, generated in
            ~16 s and 1.7 GB on 2 cores; 3D grows 8× per step).
        order: 1 (P1) or 2 (P2) Lagrange elements.
        coefficients: coefficient families to draw from.
        boundary: boundary kinds to draw from.
        forcing: loads to draw from.
        sigma: log-normal strength (> 0).
        contrast: binary coefficient jump, ``10^contrast`` (0–12).
        length_scale: correlation length of the random fields (> 0, mesh units).
        tolerance: largest allowed relative asymmetry ``max|A − Aᵀ| / max|A|`` (the self-check).
        anisotropy: ``[low, high]`` range of the ``anisotropic`` coefficient's weak-direction
            ratio ``ε`` (``0 < low ≤ high ≤ 1``, drawn log-uniformly).
        direction_spread: how far the ``anisotropic`` direction turns across the mesh (≥ 0).
            These two are recorded in the parameters only when ``anisotropic`` is drawn from.

    Arrays (padded to ``M = max_n`` unknowns and ``Z = max_nnz`` entries; lengths in mesh units,
    floats float64): ``n``, ``nnz`` ``(N,)`` int64; ``indptr`` ``(N, M + 1)``, ``indices``
    ``(N, Z)`` int64 and ``data`` ``(N, Z)`` the CSR of ``A`` (rows and columns: the free DOFs in
    scikit-fem's order, sorted column indices, exact zeros dropped as scikit-fem's assembly does:
    on lattice meshes some neighbours do not couple); ``b`` ``(N, M)`` the assembled load; ``coordinates`` ``(N, M, dim)`` the
    location of each free DOF (the vertex for vertex DOFs, the edge midpoint for P2 edge DOFs);
    ``mesh_index``, ``coefficient_index``, ``boundary_index``, ``forcing_index`` ``(N,)`` int64,
    what was drawn (positions in the parameter lists).
    """

    name = "fe_diffusion"

    def __init__(
        self,
        mesh: Sequence[str] = ("disc", "lshape", "square_holes", "delaunay"),
        refine: int = 4,
        order: int = 1,
        coefficients: Sequence[str] = ("lognormal", "binary", "constant"),
        boundary: Sequence[str] = ("dirichlet", "mixed"),
        forcing: Sequence[str] = ("one", "smooth"),
        sigma: float = 1.0,
        contrast: float = 3.0,
        length_scale: float = 0.2,
        tolerance: float = 1e-12,
        anisotropy: Sequence[float] = (1e-3, 1e-1),
        direction_spread: float = 0.5,
    ):
        for what, given, allowed in [("mesh", mesh, tuple(FE_MESHES)), ("coefficients", coefficients, FE_COEFFICIENTS),
                                     ("boundary", boundary, BOUNDARIES), ("forcing", forcing, FORCINGS)]:  # fmt: skip
            if isinstance(given, str) or not given or any(name not in allowed for name in given):
                raise ValueError(f"{what} must be a list of one or more of {list(allowed)}, got {given!r}")
        if len({FE_MESHES[name] for name in mesh}) != 1:
            raise ValueError(f"mesh families must be all 2D or all 3D, got {list(mesh)}")
        if not (isinstance(refine, int | np.integer) and 1 <= refine <= 9):
            raise ValueError(f"refine must be an integer in [1, 9], got {refine!r}")
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        if not 0 < sigma <= 10:
            raise ValueError(f"sigma must lie in (0, 10], got {sigma}")
        if not 0 <= contrast <= 12:
            raise ValueError(f"contrast must lie in [0, 12], got {contrast}")
        if not length_scale > 0:
            raise ValueError(f"length_scale must be positive, got {length_scale}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {tolerance}")
        if isinstance(anisotropy, str) or len(anisotropy) != 2 or not 0 < anisotropy[0] <= anisotropy[1] <= 1:
            raise ValueError(f"anisotropy must be a range [low, high] with 0 < low <= high <= 1, got {anisotropy!r}")
        if not direction_spread >= 0:
            raise ValueError(f"direction_spread must be non-negative, got {direction_spread}")
        self.mesh, self.refine, self.order = list(mesh), int(refine), int(order)
        self.coefficients, self.boundary, self.forcing = list(coefficients), list(boundary), list(forcing)
        self.sigma, self.contrast = float(sigma), float(contrast)
        self.length_scale, self.tolerance = float(length_scale), float(tolerance)
        self.anisotropy, self.direction_spread = [float(value) for value in anisotropy], float(direction_spread)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments by name; ``anisotropy`` and ``direction_spread`` only when
        ``anisotropic`` is among the coefficients, so datasets made before they existed still match."""
        params = super().get_params()
        if "anisotropic" not in self.coefficients:
            del params["anisotropy"], params["direction_spread"]
        return params

    def element(self) -> Any:
        """The scikit-fem element (P1 or P2 on triangles or tetrahedra)."""
        return simplex_element(self.dim, self.order)

    def _system(self, draws: tuple[int, int, int, int], rng: np.random.Generator) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """One condensed system: ``A`` ``(n, n)`` CSR, ``b`` ``(n,)``, free-DOF coordinates ``(n, dim)``."""
        from skfem import Basis, BilinearForm, LinearForm
        from skfem.helpers import dot, grad, mul

        family, coefficient, boundary, forcing = (names[k] for names, k in zip(
            (self.mesh, self.coefficients, self.boundary, self.forcing), draws, strict=True))  # fmt: skip
        mesh = fe_mesh(family, self.refine, rng)
        basis = Basis(mesh, self.element())
        centroids = mesh.p[:, mesh.t].mean(axis=1).T  # (elements, dim)
        tensor = None
        if coefficient == "lognormal":
            kappa = np.exp(self.sigma * _smooth_field(centroids, self.length_scale, rng))
        elif coefficient == "binary":
            kappa = np.where(_smooth_field(centroids, self.length_scale, rng) > 0, 10.0**self.contrast, 1.0)
        elif coefficient == "anisotropic":
            tensor = self._anisotropic(centroids, rng)  # (dim, dim, elements)
        else:
            kappa = np.ones(len(centroids))
        load = np.ones(len(centroids))
        if forcing == "smooth":
            load = load + _smooth_field(centroids, self.length_scale, rng)
        points = basis.X.shape[-1]  # quadrature points per element

        @BilinearForm
        def stiffness(u: Any, v: Any, w: Any) -> Any:
            return w.kappa * dot(grad(u), grad(v))

        @BilinearForm
        def tensor_stiffness(u: Any, v: Any, w: Any) -> Any:
            return dot(mul(w.kappa, grad(u)), grad(v))

        @LinearForm
        def rhs(v: Any, w: Any) -> Any:
            return w.f * v

        if tensor is None:
            matrix = stiffness.assemble(basis, kappa=np.repeat(kappa[:, None], points, 1))
        else:
            matrix = tensor_stiffness.assemble(basis, kappa=np.repeat(tensor[..., None], points, -1))
        vector = rhs.assemble(basis, f=np.repeat(load[:, None], points, 1))

        facets = mesh.boundary_facets()
        if boundary == "mixed":
            facets = side_facets(mesh, rng)
            if not len(facets):
                raise DatasetError(f"{self.name}: a mixed boundary came out without Dirichlet facets")
        condensed, free = condense(matrix, basis.get_dofs(facets).all())
        return condensed, vector[free], basis.doflocs[:, free].T

    def _anisotropic(self, centroids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per-element tensors ``ε I + (1 − ε) d dᵀ`` ``(dim, dim, elements)``: ``ε`` log-uniform in
        ``anisotropy``, ``d`` a random unit vector plus ``direction_spread`` times smooth fields, normalized."""
        low, high = self.anisotropy
        epsilon = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        base = rng.standard_normal(self.dim)
        base /= np.linalg.norm(base)
        direction = np.repeat(base[:, None], len(centroids), 1)  # (dim, elements)
        if self.direction_spread > 0:
            fields = np.stack([_smooth_field(centroids, self.length_scale, rng) for _ in range(self.dim)])
            direction = direction + self.direction_spread * fields
        norm = np.linalg.norm(direction, axis=0)
        direction = np.where(norm > 1e-12, direction / np.maximum(norm, 1e-300), base[:, None])
        identity = np.eye(self.dim)[:, :, None]
        return epsilon * identity + (1.0 - epsilon) * direction[:, None] * direction[None, :]

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        arrays = self._padded_arrays(num_samples)
        keys = self._draw_families(arrays, rng)
        for i in range(num_samples):  # one mesh and one assembly per sample
            draws = tuple(int(arrays[key][i]) for key in keys)
            self._store_system(arrays, i, *self._system(draws, rng))  # type: ignore[arg-type]
        return arrays

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Each stored matrix must be valid CSR, symmetric (``max|A − Aᵀ| / max|A| ≤ tolerance``),
        have a positive diagonal and, up to 1,500 unknowns, a dense Cholesky factorization."""
        systems = to_systems(arrays)
        structure, asymmetry, indefinite = check_spd([a for a, _ in systems], [b for _, b in systems])
        return max(
            self._bounded(structure, "malformed CSR or non-finite load (1 = yes):", 0.0),
            self._bounded(asymmetry, "relative asymmetry", self.tolerance),
            self._bounded(indefinite, "not positive definite (1 = yes):", 0.0),
        )
