"""Graph systems for the convergent graph solver (CGS): pore-network flow and graph value iteration.

Graphs differ in size, but every shard needs fixed per-sample shapes, so graphs are stored
*padded*: per sample ``num_nodes`` and ``num_edges`` (int64), node arrays ``(max_nodes, ...)``,
``edge_index`` ``(2, max_edges)`` int64 and edge arrays ``(max_edges, ...)`` whose entries past
the counts are zero and meaningless. Edges are directed (PyG convention: an undirected throat is
two edges). Arrays named ``edge_*`` are edge-level, other arrays with a per-sample axis are
node-level; [`to_pyg`][neuralsolvers.data_gen.graphs.to_pyg] un-pads a batch into ``torch_geometric.data.Data`` objects and
[`load_graphs`][neuralsolvers.data_gen.graphs.load_graphs] does so for a dataset directory. ``max_nodes``/``max_edges`` follow from the
constructor parameters only, so all shards of a dataset agree.
[`load_graph_systems`][neuralsolvers.data_gen.graphs.load_graph_systems] reads a pore-network store as sparse SPD systems
``(A, b)`` instead: each network's weighted Laplacian grounded at its boundary pores
(`interior_system`), training data for the learned preconditioners of matrices (``MatrixDataModule``).

* [`PoreNetwork`][neuralsolvers.data_gen.graphs.PoreNetwork]: steady Stokes flow through random 2D Delaunay pore networks (a weighted
  graph Laplacian with Dirichlet inlet/outlet pressures).
* [`ValueIteration`][neuralsolvers.data_gen.graphs.ValueIteration]: optimal values of random sparse MDPs (states are nodes, each edge
  ``s → s'`` carries ``P(s'|s, a)`` for every action).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import DatasetError
from neuralsolvers.solvers.operators import canonical_csr

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["PORE_EDGE_FEATURES", "PORE_NODE_FEATURES", "PoreNetwork", "ValueIteration",
           "interior_solve", "interior_system", "laplacian_matrix", "load_graph_systems", "load_graphs", "to_pyg"]  # fmt: skip

PORE_NODE_FEATURES = ("x", "y", "boundary", "masked_pressure", "diameter")
PORE_EDGE_FEATURES = ("throat_diameter", "throat_length", "conductance")
_COUNTS = ("num_nodes", "num_edges")
_TINY = np.finfo(np.float64).tiny


def to_pyg(arrays: dict[str, np.ndarray]) -> list[Data]:
    """Un-pad a batch of graph arrays (as made by the generators here) into PyG ``Data`` objects.

    ``arrays`` needs ``num_nodes`` ``(N,)``, ``num_edges`` ``(N,)`` and ``edge_index``
    ``(N, 2, max_edges)``. Other arrays: ``edge_*`` ``(N, max_edges, ...)`` → first ``num_edges``
    rows; ``(N, max_nodes, ...)`` → first ``num_nodes`` rows; ``(N,)`` → a graph attribute of
    shape ``(1,)``. Keys starting with ``_`` are skipped. Dtypes are kept (float64 stays float64).
    """
    from torch_geometric.data import Data

    missing = [key for key in (*_COUNTS, "edge_index") if key not in arrays]
    if missing:
        raise ValueError(f"graph arrays need {missing}; got {sorted(arrays)}")
    graphs = []
    counts = zip(arrays["num_nodes"].tolist(), arrays["num_edges"].tolist(), strict=True)
    for i, (n, e) in enumerate(counts):
        fields = {}
        for key, value in arrays.items():
            if key in _COUNTS or key.startswith("_"):
                continue
            if key == "edge_index":
                part = value[i, :, :e]
            elif key.startswith("edge_"):
                part = value[i, :e]
            elif value.ndim >= 2:
                part = value[i, :n]
            else:
                part = value[i : i + 1]
            fields[key] = torch.from_numpy(np.ascontiguousarray(part))
        graphs.append(Data(num_nodes=n, **fields))
    return graphs


def load_graphs(
    directory: str | Path, generator: str | None = None, expect: dict[str, Any] | None = None, dtype: torch.dtype | None = None
) -> list[Data]:
    """All graphs of one dataset split directory (``data/<name>/<split>``) as PyG ``Data``.

    ``generator``/``expect``: what the dataset must have been made by / with (checked, see
    [`ShardedDataset`][neuralsolvers.data_gen.store.ShardedDataset]); ``dtype``: cast floating arrays to it
    (e.g. ``torch.float32`` for training), else they stay float64.
    """
    graphs = to_pyg(ShardedDataset(directory, expect=expect, generator=generator).load())
    if dtype is not None:
        for graph in graphs:
            for key, value in graph.items():
                if torch.is_tensor(value) and value.is_floating_point():
                    graph[key] = value.to(dtype)
    return graphs


def interior_system(laplacian: sp.spmatrix, boundary: np.ndarray, values: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The Dirichlet-condensed system ``L_II u_I = −L_IB u_B`` of the non-boundary nodes ``I``:
    ``A = L_II`` ``(n_I, n_I)`` CSR float64 (canonical: sorted indices, no duplicates) and
    ``b = −L_IB values_B`` ``(n_I,)`` float64; ``boundary`` ``(n,)`` bool, ``values`` ``(n,)``
    (read on ``boundary`` only). ``A`` is SPD when every connected part of the interior has an
    edge of positive weight to a boundary node (always so on a connected graph)."""
    laplacian, interior = sp.csr_matrix(laplacian, dtype=np.float64), ~boundary
    rows = laplacian[interior]
    return canonical_csr(rows[:, interior]), -(rows[:, boundary] @ np.asarray(values, dtype=np.float64)[boundary])


def interior_solve(laplacian: sp.spmatrix, boundary: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Solve ``(L u)_I = 0`` on the non-boundary nodes ``I`` with ``u = values`` on ``boundary``
    (`interior_system`, SciPy's sparse direct solver); ``(n,)`` with the boundary values kept."""
    u = np.where(boundary, values, 0.0).astype(np.float64)
    if (~boundary).any():
        matrix, rhs = interior_system(laplacian, boundary, u)
        u[~boundary] = spla.spsolve(matrix.tocsc(), rhs)
    return u


def load_graph_systems(
    directory: str | Path, count: int | None = None, expect: dict[str, Any] | None = None
) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    """The interior (grounded) systems ``L_II p_I = −L_IB p_B`` of a `PoreNetwork` dataset split
    directory (``data/<name>/<split>``): sparse SPD matrices for learned preconditioners of matrices.

    Per network, from the stored conductances, boundary flags and boundary pressures
    (`laplacian_matrix`, `interior_system`): ``A`` ``(n_I, n_I)`` CSR float64 (canonical) in units
    of conductance, ``b`` ``(n_I,)`` float64 the boundary inflow; the solution is the stored
    interior pressures ``y[~boundary]``. ``count``: only the first ``count`` networks; ``expect``:
    generator parameters the data must have been made with (see `ShardedDataset`).

    Raises:
        DatasetError: the store is not ``pore_network``'s, or a network has no interior pore or a
            part of its interior that no throat of positive conductance joins to the boundary (``A``
            singular). The generator makes neither from its defaults: its networks are connected
            (checked) with positive conductances, so every interior part reaches the boundary; only
            a network of a few pores (``min_pores`` < 10, say) can fall wholly into the inlet and
            outlet strips.
    """
    dataset = ShardedDataset(directory, expect=expect, generator=PoreNetwork.name)
    arrays = {key: value[:count] for key, value in dataset.load([*_COUNTS, "edge_index", "edge_attr", "x"]).items()}
    systems = []
    for i, (n, e) in enumerate(zip(arrays["num_nodes"].tolist(), arrays["num_edges"].tolist(), strict=True)):
        (sources, targets), conductance = arrays["edge_index"][i, :, :e], arrays["edge_attr"][i, :e, 2]
        boundary, joined = arrays["x"][i, :n, 2] > 0.5, conductance > 0
        throats = laplacian_matrix(n, sources[joined], targets[joined], conductance[joined])
        parts = connected_components(throats, directed=False)[1]
        if boundary.all() or not np.isin(parts[~boundary], parts[boundary]).all():
            problem = "no interior pore" if boundary.all() else "interior pores that no throat joins to the boundary (a singular A)"
            raise DatasetError(f"{directory}: network {i} has {problem}; its grounded Laplacian is no SPD system")
        laplacian = laplacian_matrix(n, sources, targets, conductance)
        systems.append(interior_system(laplacian, boundary, arrays["x"][i, :n, 3]))
    return systems


def _edge_mask(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """``(N, max_edges)`` bool: which padded edge slots hold edges."""
    return np.arange(arrays["edge_index"].shape[-1]) < arrays["num_edges"][:, None]


class PoreNetwork(Generator):
    """Random 2D Delaunay pore networks with steady pressures from inlet (left) to outlet (right).

    Pores are uniform random points in the unit square; throats are the edges of their Delaunay
    triangulation (connected, at most ``3n − 6`` throats: ``max_edges = 2 (3 max_pores − 6)``).
    Only 2D: a 3D Delaunay triangulation has no useful deterministic bound on its edge count.

    * pore diameter ``d_i = ρ_i δ_i``, ``ρ_i ~ U(min_diameter_fraction, max_diameter_fraction)``
      and ``δ_i`` the distance to the nearest pore, so pores never overlap;
    * throat diameter ``d_ij = 0.5 · min(d_i, d_j)``;
    * throat length ``L_ij = |x_i − x_j| − (d_i + d_j)/2``, which is at least
      ``(1 − max_diameter_fraction) |x_i − x_j| > 0``;
    * conductance (Hagen–Poiseuille, viscosity μ = 1) ``g_ij = π d_ij⁴ / (128 μ L_ij)``.

    Inlet pores have ``x < boundary_fraction`` (always including the leftmost pore) and pressure
    ``p = 1``; outlet pores ``x > 1 − boundary_fraction`` (always including the rightmost pore)
    and ``p = 0``. Interior pressures solve ``(L p)_i = Σ_j g_ij (p_i − p_j) = 0`` (mass
    conservation; SciPy's sparse direct solver), so ``0 ≤ p ≤ 1`` (maximum principle).

    Args:
        min_pores: the number of pores ``n`` is uniform in ``[min_pores, max_pores]``.
        max_pores: see `min_pores`.
        min_diameter_fraction: range of ``ρ`` (``0 < min ≤ max < 1``).
        max_diameter_fraction: see `min_diameter_fraction`.
        boundary_fraction: width of the inlet and outlet strips (in ``(0, 0.5)``).
        tolerance: largest allowed relative residual of the interior equations (the self-check).

    Arrays (padded to ``M = max_pores`` nodes, ``E = 2 (3M − 6)`` edges; lengths in units of the
    square's side, all floats float64): ``num_nodes``, ``num_edges`` ``(N,)`` int64; ``x``
    ``(N, M, 5)`` node features `PORE_NODE_FEATURES` (coordinates, boundary flag 0/1, known
    pressure on boundary pores and 0 elsewhere, pore diameter); ``edge_index`` ``(N, 2, E)``
    int64 (source, target); ``edge_attr`` ``(N, E, 3)`` `PORE_EDGE_FEATURES`; ``y``
    ``(N, M)`` pressures.
    """

    name = "pore_network"

    def __init__(
        self,
        min_pores: int = 50,
        max_pores: int = 200,
        min_diameter_fraction: float = 0.2,
        max_diameter_fraction: float = 0.8,
        boundary_fraction: float = 0.1,
        tolerance: float = 1e-10,
    ):
        if not 3 <= min_pores <= max_pores:
            raise ValueError(f"need 3 ≤ min_pores ≤ max_pores, got {min_pores} and {max_pores}")
        if not 0 < min_diameter_fraction <= max_diameter_fraction < 1:
            raise ValueError(
                "need 0 < min_diameter_fraction ≤ max_diameter_fraction < 1 (pores must not "
                f"overlap), got {min_diameter_fraction} and {max_diameter_fraction}"
            )
        if not 0 < boundary_fraction < 0.5:
            raise ValueError(f"boundary_fraction must lie in (0, 0.5), got {boundary_fraction}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {tolerance}")
        self.min_pores, self.max_pores = min_pores, max_pores
        self.min_diameter_fraction = min_diameter_fraction
        self.max_diameter_fraction = max_diameter_fraction
        self.boundary_fraction, self.tolerance = boundary_fraction, tolerance

    @property
    def max_edges(self) -> int:
        """Padded edge count: directed edges of a Delaunay triangulation of ``max_pores`` points."""
        return 2 * (3 * self.max_pores - 6)

    def _network(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """One network: node features ``(n, 5)``, edge index ``(2, e)``, edge features ``(e, 3)``
        and pressures ``(n,)``."""
        n = int(rng.integers(self.min_pores, self.max_pores + 1))
        points = rng.random((n, 2))
        fraction = rng.uniform(self.min_diameter_fraction, self.max_diameter_fraction, n)
        indptr, targets = Delaunay(points).vertex_neighbor_vertices
        sources = np.repeat(np.arange(n), np.diff(indptr))
        distance = np.linalg.norm(points[sources] - points[targets], axis=1)
        nearest = np.full(n, np.inf)
        np.minimum.at(nearest, sources, distance)  # the nearest pore is a Delaunay neighbour
        diameter = fraction * nearest
        throat = 0.5 * np.minimum(diameter[sources], diameter[targets])
        length = distance - 0.5 * (diameter[sources] + diameter[targets])
        conductance = np.pi * throat**4 / (128.0 * length)

        inlet = points[:, 0] < self.boundary_fraction
        inlet[np.argmin(points[:, 0])], inlet[np.argmax(points[:, 0])] = True, False
        outlet = points[:, 0] > 1 - self.boundary_fraction
        outlet[np.argmax(points[:, 0])] = True
        outlet &= ~inlet
        boundary = inlet | outlet
        laplacian = laplacian_matrix(n, sources, targets, conductance)
        if connected_components(laplacian, directed=False)[0] != 1:
            raise DatasetError(f"{self.name}: a Delaunay pore network came out disconnected")
        pressure = interior_solve(laplacian, boundary, inlet.astype(np.float64))
        nodes = np.column_stack([points, boundary, np.where(boundary, pressure, 0.0), diameter])
        edges = np.column_stack([throat, length, conductance])
        return nodes, np.stack([sources, targets]), edges, pressure

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        m, e_max = self.max_pores, self.max_edges
        arrays = {
            "num_nodes": np.zeros(num_samples, np.int64),
            "num_edges": np.zeros(num_samples, np.int64),
            "x": np.zeros((num_samples, m, len(PORE_NODE_FEATURES))),
            "edge_index": np.zeros((num_samples, 2, e_max), np.int64),
            "edge_attr": np.zeros((num_samples, e_max, len(PORE_EDGE_FEATURES))),
            "y": np.zeros((num_samples, m)),
        }
        for i in range(num_samples):  # one triangulation and one sparse solve per network
            nodes, edge_index, edges, pressure = self._network(rng)
            n, e = len(nodes), edge_index.shape[1]
            arrays["num_nodes"][i], arrays["num_edges"][i] = n, e
            arrays["x"][i, :n], arrays["y"][i, :n] = nodes, pressure
            arrays["edge_index"][i, :, :e], arrays["edge_attr"][i, :e] = edge_index, edges
        return arrays

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Recompute from the stored arrays: Hagen–Poiseuille conductances, boundary values, the
        relative residual ``‖(L p)_I‖ / ‖L_IB p_B‖`` of the interior equations, ``0 ≤ p ≤ 1``."""
        x, y, attr, tol, tiny = arrays["x"], arrays["y"], arrays["edge_attr"], self.tolerance, _TINY
        valid = _edge_mask(arrays)
        hagen = np.pi * attr[..., 0] ** 4 / (128.0 * np.where(valid, attr[..., 1], 1.0))
        conductance = np.where(valid, np.abs(hagen / np.maximum(attr[..., 2], tiny) - 1.0), 0.0)
        residual = np.zeros(len(y))
        for i, (n, e) in enumerate(zip(arrays["num_nodes"], arrays["num_edges"], strict=True)):
            sources, targets = arrays["edge_index"][i, :, :e]
            laplacian = laplacian_matrix(n, sources, targets, attr[i, :e, 2])
            boundary, p = x[i, :n, 2] > 0.5, y[i, :n]
            rhs = laplacian[~boundary][:, boundary] @ p[boundary]
            residual[i] = np.linalg.norm(laplacian[~boundary] @ p) / max(np.linalg.norm(rhs), tiny)
        nodes = np.arange(y.shape[1]) < arrays["num_nodes"][:, None]
        boundary = nodes & (x[..., 2] > 0.5)
        return max(
            self._bounded(conductance, "conductance differs from Hagen–Poiseuille by", tol),
            self._bounded(np.where(boundary, np.abs(y - x[..., 3]), 0.0), "boundary pressure off by", tol),
            self._bounded(residual, "relative residual", tol),
            self._bounded(np.where(nodes, np.maximum(-y, y - 1.0), 0.0), "pressure leaves [0, 1] by", tol),
        )


def laplacian_matrix(n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """Weighted graph Laplacian ``D − A`` ``(n, n)``; each undirected edge listed in both directions."""
    adjacency = sp.csr_matrix((weights, (sources, targets)), shape=(n, n))
    return (sp.diags(np.asarray(adjacency.sum(axis=1)).ravel()) - adjacency).tocsr()


class ValueIteration(Generator):
    """Random sparse MDPs and their optimal values ``V*`` (graph value iteration, as in CGS).

    Each MDP has ``S`` states (uniform in ``[min_states, max_states]``) and ``A`` actions (uniform
    in ``[min_actions, max_actions]``, the same for every state); rewards ``R(s, a) ~ U(−1, 1)``.
    Each pair ``(s, a)`` leads to ``k`` distinct next states (``k`` uniform in
    ``[min_successors, max_successors]``, drawn without replacement among all ``S`` states, ``s``
    itself included) with probabilities uniform on the simplex (flat Dirichlet: normalized
    exponentials). ``V*`` comes from value iteration ``V ← max_a (R + γ P V)``, vectorized over
    the whole batch, run until ``max |V_new − V| ≤ tolerance``; the stored values are the last
    update, so their Bellman residual is at most ``γ · tolerance``. The policy is ``argmax_a`` of
    ``R + γ P V*``.

    Graph layout: states are nodes; there is an edge ``s → s'`` iff ``P(s'|s, a) > 0`` for some
    ``a`` (self-loops included), at most ``max_edges = max_states · min(max_states,
    max_actions · max_successors)`` edges.

    Args:
        min_states: range of the number of states.
        max_states: see `min_states`.
        min_actions: range of the number of actions.
        max_actions: see `min_actions`.
        min_successors: range of next states per state–action pair.
        max_successors: see `min_successors`.
        discount: ``γ`` in ``(0, 1)``.
        tolerance: value-iteration stopping threshold and the self-check's Bellman-residual bound.

    Arrays (padded to ``M = max_states`` nodes, ``E = max_edges`` edges, ``K = max_actions``;
    floats float64): ``num_nodes``, ``num_edges`` ``(N,)`` int64; ``x`` ``(N, M, K)`` rewards
    ``R(s, ·)`` (0 for actions past ``A``); ``mask`` ``(N, M, K)`` bool, the valid actions;
    ``edge_index`` ``(N, 2, E)`` int64 (``s``, ``s'``); ``edge_attr`` ``(N, E, K)``
    ``P(s'|s, ·)``; ``y`` ``(N, M)`` ``V*``; ``policy`` ``(N, M)`` int64 greedy actions.
    """

    name = "value_iteration"

    def __init__(
        self,
        min_states: int = 20,
        max_states: int = 50,
        min_actions: int = 5,
        max_actions: int = 10,
        min_successors: int = 1,
        max_successors: int = 3,
        discount: float = 0.9,
        tolerance: float = 1e-10,
    ):
        ranges = [("states", min_states, max_states, 3), ("actions", min_actions, max_actions, 1),
                  ("successors", min_successors, max_successors, 1)]  # fmt: skip
        for what, low, high, least in ranges:
            if not least <= low <= high:
                raise ValueError(f"need {least} ≤ min_{what} ≤ max_{what}, got {low} and {high}")
        if max_successors > min_states:
            raise ValueError(f"max_successors ({max_successors}) exceeds min_states ({min_states})")
        if not 0 < discount < 1:
            raise ValueError(f"discount must lie in (0, 1), got {discount}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {tolerance}")
        self.min_states, self.max_states = min_states, max_states
        self.min_actions, self.max_actions = min_actions, max_actions
        self.min_successors, self.max_successors = min_successors, max_successors
        self.discount, self.tolerance = discount, tolerance

    @property
    def max_edges(self) -> int:
        """Padded edge count: a state has ``≤ min(max_states, max_actions · max_successors)`` successors."""
        return self.max_states * min(self.max_states, self.max_actions * self.max_successors)

    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        size, m, k_max, b_max = num_samples, self.max_states, self.max_actions, self.max_successors
        states = rng.integers(self.min_states, m + 1, size)
        actions = rng.integers(self.min_actions, k_max + 1, size)
        valid_state = np.arange(m) < states[:, None]  # (N, M)
        mask = valid_state[:, :, None] & (np.arange(k_max) < actions[:, None, None])  # (N, M, K)
        reward = np.where(mask, rng.uniform(-1.0, 1.0, (size, m, k_max)), 0.0)
        # distinct successors: the b_max smallest of random keys, keys of absent states pushed last
        keys = np.where(valid_state[:, None, None, :], rng.random((size, m, k_max, m)), 2.0)
        successors = np.argpartition(keys, b_max - 1, axis=-1)[..., :b_max]  # (N, M, K, B)
        count = rng.integers(self.min_successors, b_max + 1, (size, m, k_max))
        used = (np.arange(b_max) < count[..., None]) & mask[..., None]
        weights = np.where(used, rng.exponential(size=(size, m, k_max, b_max)), 0.0)
        probability = weights / np.maximum(weights.sum(-1, keepdims=True), _TINY)

        values, q = self._value_iteration(reward, mask, successors, probability, valid_state)
        num_edges, edge_index, edge_attr = self._edges(successors, probability, used)
        return {
            "num_nodes": states.astype(np.int64),
            "num_edges": num_edges,
            "x": reward,
            "mask": mask,
            "edge_index": edge_index,
            "edge_attr": edge_attr,
            "y": values,
            "policy": np.where(valid_state, q.argmax(-1), 0).astype(np.int64),
        }

    def _value_iteration(
        self,
        reward: np.ndarray,
        mask: np.ndarray,
        successors: np.ndarray,
        probability: np.ndarray,
        valid_state: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``V`` ``(N, M)`` (0 on padded states), ``Q = R + γ P V`` ``(N, M, K)`` (−inf if invalid)."""
        size, m = valid_state.shape
        flat = successors + m * np.arange(size)[:, None, None, None]  # indices into V.ravel()

        def bellman(values: np.ndarray) -> np.ndarray:
            expected = (probability * values.ravel()[flat]).sum(-1)
            return np.where(mask, reward + self.discount * expected, -np.inf)

        # the change contracts by γ per sweep from at most max|R| ≤ 1; a few extra for rounding
        sweeps = math.ceil(math.log(self.tolerance) / math.log(self.discount)) + 10
        values = np.zeros((size, m))
        for _ in range(sweeps):
            new = np.where(valid_state, bellman(values).max(-1), 0.0)
            change, values = np.abs(new - values).max(initial=0.0), new
            if change <= self.tolerance:
                return values, bellman(values)
        raise DatasetError(f"{self.name}: value iteration missed {self.tolerance:.0e} in {sweeps} sweeps")

    def _edges(
        self, successors: np.ndarray, probability: np.ndarray, used: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded ``num_edges``, ``edge_index``, ``edge_attr`` from the ``(N, M, K, B)`` transitions."""
        size, m, k_max, _ = successors.shape
        sample, state, action, slot = np.nonzero(used)
        target = successors[sample, state, action, slot]
        keys, edge = np.unique((sample * m + state) * m + target, return_inverse=True)
        edge_sample = keys // (m * m)
        num_edges = np.bincount(edge_sample, minlength=size)
        first = np.concatenate([[0], np.cumsum(num_edges)[:-1]])  # of each sample's edges in keys
        position = np.arange(len(keys)) - first[edge_sample]
        edge_index = np.zeros((size, 2, self.max_edges), np.int64)
        edge_index[edge_sample, 0, position] = keys // m % m
        edge_index[edge_sample, 1, position] = keys % m
        edge_attr = np.zeros((size, self.max_edges, k_max))
        edge_attr[sample, position[edge], action] = probability[sample, state, action, slot]
        return num_edges.astype(np.int64), edge_index, edge_attr

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Recompute ``Q = R + γ P V`` from the stored graph: transition rows must sum to 1, the
        Bellman residual ``max |V − max_a Q|`` and the policy's gap ``max_a Q − Q(·, policy)``
        must be at most ``tolerance``."""
        x, mask, values, tol = arrays["x"], arrays["mask"], arrays["y"], self.tolerance
        size, m, k_max = x.shape
        sources, targets = arrays["edge_index"][:, 0], arrays["edge_index"][:, 1]
        probability = np.where(_edge_mask(arrays)[..., None], arrays["edge_attr"], 0.0)  # (N, E, K)
        rows = ((np.arange(size)[:, None] * m + sources)[..., None] * k_max + np.arange(k_max)).ravel()

        def per_action(weights: np.ndarray) -> np.ndarray:  # Σ over edges leaving s → (N, M, K)
            return np.bincount(rows, weights.ravel(), minlength=size * m * k_max).reshape(x.shape)

        expected = per_action(np.take_along_axis(values, targets, axis=1)[..., None] * probability)
        q = np.where(mask, x + self.discount * expected, -np.inf)
        state = mask.any(-1)
        best = np.where(state, q.max(-1), 0.0)
        chosen = np.take_along_axis(q, arrays["policy"][..., None], axis=-1)[..., 0]
        return max(
            self._bounded(np.where(mask, np.abs(per_action(probability) - 1.0), 0.0),
                          "transition probabilities miss 1 by", tol),
            self._bounded(np.abs(values - best), "Bellman residual", tol),
            self._bounded(best - np.where(state, chosen, 0.0), "policy is not greedy by", tol),
        )
