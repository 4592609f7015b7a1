"""Trained graph networks (CGS, GNN baselines) against the exact solution on held-out graph sets.

Every network predicts every set (e.g. held-out graphs of the training size, and 4× and 10× larger
ones); the exact solution is recomputed by the classical solver of the problem on the same batches:
pore networks by one sparse direct solve of the batch's Laplacian (SciPy, CPU), MDPs by value
iteration (the Bellman operator's fixed point, torch, on the device). The table gives per set and
method the node-level MSE, the MAPE (relative to the true values; nodes with ``|y| < mape_floor``
left out), on MDPs the greedy policy's accuracy, the MSE relative to the method's MSE on the first
set (how the error grows with graph size), the time per graph (over ``repeats`` passes after two
warm-up passes, the device synchronized: `neuralsolvers.evaluate.measure.pass_seconds`), the solver
iterations (CGS: forward fixed-point solve, most over batches; value iteration: sweeps) and the
parameter count. The figure draws the error against graph size and
the predictions against the truth on the largest set.
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from torch_geometric.data import Batch

from neuralsolvers.data_gen.graph_problems import bellman_q, greedy_policy, pore_pressures
from neuralsolvers.data_gen.graphs import load_graphs
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_network, training_cost
from neuralsolvers.evaluate.measure import PeakMemory, pass_seconds
from neuralsolvers.evaluate.methods import Method, no_setup
from neuralsolvers.solvers.nonlinear.fixed_point_iteration import fixed_point

__all__ = ["GraphEvaluation"]

EXACT = "exact"
PROBLEMS = ("pore_network", "value_iteration")


class GraphEvaluation(Evaluation):
    """Graph networks against the exact solution, on sets of growing graph size.

    Args:
        checkpoints: method name → checkpoint of a graph network (``neuralsolvers fit --config
            configs/cgs_porous_network.yaml``, or with ``configs/overlays/gnn_baseline.yaml`` for a
            baseline).
        test_sets: label → dataset split directory; all from one generator (``pore_network`` or
            ``value_iteration``); the first is the reference for the error growth.
        num_graphs: graphs used from each set (the first ones); None: all.
        batch_size: graphs per forward pass.
        repeats: timed passes over each set per method (the time per pass is reported), after warm-up passes.
        mape_floor: nodes with ``|y|`` below it are left out of the MAPE.
        value_tolerance: value iteration stops when ``‖T(V) − V‖₂ ≤ value_tolerance``.
        device: ``cpu``, ``cuda`` or ``auto``.
    """

    component = "CGS graph solver"

    def __init__(
        self,
        checkpoints: dict[str, str],
        test_sets: dict[str, str],
        num_graphs: int | None = None,
        batch_size: int = 32,
        repeats: int = 3,
        mape_floor: float = 1e-3,
        value_tolerance: float = 1e-10,
        device: str = "auto",
    ):
        if not checkpoints or not test_sets:
            raise ValueError("give at least one checkpoint and one test set")
        if EXACT in checkpoints:
            raise ValueError(f"{EXACT!r} names the reference solver; call the checkpoint something else")
        if batch_size < 1 or repeats < 1 or (num_graphs is not None and num_graphs < 1):
            raise ValueError("batch_size, repeats and num_graphs must be positive")
        self.checkpoints, self.test_sets = dict(checkpoints), dict(test_sets)
        self.num_graphs, self.batch_size, self.repeats = num_graphs, batch_size, repeats
        self.mape_floor, self.value_tolerance = mape_floor, value_tolerance
        self.device = resolve_device(device)

    def _problem(self) -> tuple[str, float | None]:
        """The sets' generator and, for MDPs, the discount; all sets must agree."""
        found = {label: ShardedDataset(path).metadata for label, path in self.test_sets.items()}
        generators = {meta["generator"] for meta in found.values()}
        if len(generators) != 1 or not generators <= set(PROBLEMS):
            raise ValueError(f"test sets must all come from one of {PROBLEMS}; found {sorted(generators)}")
        problem = generators.pop()
        discounts = {meta["parameters"].get("discount") for meta in found.values()}
        if problem == "value_iteration" and len(discounts) != 1:
            raise ValueError(f"value iteration sets with different discounts {sorted(discounts)}")
        return problem, discounts.pop() if problem == "value_iteration" else None

    def _batches(self, path: str) -> list[Batch]:
        graphs = load_graphs(path)[: self.num_graphs]
        chunks = range(0, len(graphs), self.batch_size)
        return [Batch.from_data_list(graphs[i : i + self.batch_size]).to(self.device) for i in chunks]

    def _exact(self, batch: Batch) -> tuple[torch.Tensor, int]:
        """The reference solution ``(N,)`` and its solver iterations (0: direct solve)."""
        if self.problem == "pore_network":
            return torch.from_numpy(pore_pressures(batch)).to(self.device), 0
        result = fixed_point(
            lambda V: bellman_q(V, batch, self.discount).max(dim=1).values,
            torch.zeros_like(batch.y), rtol=self.value_tolerance, maxiter=100_000,
        )
        if not result.converged:
            raise RuntimeError(f"value iteration did not converge: {result.message}")
        return result.x, result.iterations

    def _exact_pass(self, batches: list[Batch], _: None) -> list[tuple[torch.Tensor, int]]:
        return [self._exact(batch) for batch in batches]

    def _evaluate(self, method: Method[list[Batch]], batches: list[Batch]) -> dict:
        """Predictions, the time per pass over the batches, the most solver iterations over them, and
        the peak memory of a first pass (beyond what was held; measured apart from the timed passes)."""
        with torch.no_grad():
            with PeakMemory(self.device) as memory:
                outputs = method.solve(batches, method.build(batches))
            seconds = pass_seconds(partial(method.solve, batches, None), self.repeats)
        prediction = torch.cat([out for out, _ in outputs])
        return {"prediction": prediction, "seconds": seconds, "iterations": max(it for _, it in outputs), "peak_bytes": memory.bytes}

    def _metrics(self, prediction: torch.Tensor, batches: list[Batch]) -> dict[str, float]:
        truth = torch.cat([batch.y for batch in batches]).double()
        kept = truth.abs() >= self.mape_floor
        metrics = {
            "MSE": float((prediction - truth).square().mean()),
            "MAPE_%": 100 * float(((prediction - truth).abs()[kept] / truth.abs()[kept]).mean()),
        }
        if self.problem == "value_iteration":
            hits, offset = 0, 0
            for batch in batches:
                values = prediction[offset : offset + batch.num_nodes]
                hits += int((greedy_policy(values, batch, self.discount) == batch.policy).sum())
                offset += batch.num_nodes
            metrics["policy_%"] = 100 * hits / offset
        return metrics

    def evaluate(self) -> Outcome:
        self.problem, self.discount = self._problem()
        trained = {name: trained_network(path, self.device) for name, path in self.checkpoints.items()}
        methods = [Method(EXACT, EXACT, no_setup, self._exact_pass)]
        methods += [Method(name, name, no_setup, partial(_network_pass, network), learned=True) for name, (network, _) in trained.items()]
        rows, first_mse, sizes, largest = [], {}, {}, {}
        for label, path in self.test_sets.items():
            batches = self._batches(path)  # float64 for the exact solvers and the metrics
            single = [batch.clone().apply(lambda t: t.float() if t.is_floating_point() else t) for batch in batches]
            graphs = sum(batch.num_graphs for batch in batches)
            sizes[label] = sum(batch.num_nodes for batch in batches) / graphs
            for method in methods:
                name = method.name
                result = self._evaluate(method, single if method.learned else batches)
                metrics = self._metrics(result["prediction"], batches)
                first_mse.setdefault(name, metrics["MSE"])
                growth = metrics["MSE"] / first_mse[name] if method.learned and first_mse[name] > 0 else None
                rows.append({
                    "set": label, "method": name, "graphs": graphs, "mean_nodes": round(sizes[label], 1),
                    **metrics,
                    "MSE_vs_first_set": growth,
                    "ms_per_graph": 1e3 * result["seconds"] / graphs,
                    "solver_iterations": result["iterations"],
                    "peak_MiB": result["peak_bytes"] / 2**20,
                    "parameters": sum(p.numel() for p in trained[name][0].parameters()) if method.learned else 0,
                })
                # training cost, and the graphs after which it pays against the exact solver (listed first)
                exact_ms = next(row["ms_per_graph"] for row in rows if row["set"] == label and row["method"] == EXACT)
                clock = trained[name][1] if method.learned else None
                rows[-1].update(training_cost(clock, rows[-1]["ms_per_graph"] / 1e3, exact_ms / 1e3, unit="graphs"))
                largest[name] = (result["prediction"].cpu().numpy(), torch.cat([b.y for b in batches]).cpu().numpy())
        figures = {"errors": error_figure(rows, sizes, largest, "MSE" if self.problem == "pore_network" else "MAPE_%")}
        config = {"checkpoints": self.checkpoints, "test_sets": self.test_sets, "num_graphs": self.num_graphs,
                  "batch_size": self.batch_size, "repeats": self.repeats, "problem": self.problem}  # fmt: skip
        title = f"Graph networks against the exact solution: {self.problem}, {len(self.test_sets)} sets"
        last = [row for row in rows if row["set"] == rows[-1]["set"]]
        where = f"on {rows[-1]['set']} (per graph)"
        counted = itemgetter("solver_iterations") if self.problem == "value_iteration" else None  # the exact pore solve is direct
        comparison = compare(last, lambda row: row["ms_per_graph"] / 1e3, lambda row: row["method"] != EXACT,
                             where=f"{self.problem} {where}", iterations=counted)  # fmt: skip
        metric = "MSE" if self.problem == "pore_network" else "MAPE_%"
        comparison.metric = f"{metric} against the exact solution"
        comparison.learned_metric = next((row[metric] for row in last if row["method"] == comparison.learned), None)
        comparison.classical_metric = next(row[metric] for row in last if row["method"] == EXACT)
        return Outcome(title, rows, self.device, config, figures, verdict_text(comparison, where), [comparison])


def _network_pass(network: torch.nn.Module, batches: list[Batch], _: None) -> list[tuple[torch.Tensor, int]]:
    """The network's prediction ``(N,)`` of every batch, with its solver's iterations (CGS: the
    forward fixed-point solve; 0 for a feed-forward network)."""
    outputs = []
    for batch in batches:
        out = network(batch.x, batch.edge_index, getattr(batch, "edge_attr", None), batch.batch)
        solve = getattr(network, "last_solve", {}).get("forward")
        outputs.append((out.reshape(-1).double(), 0 if solve is None else int(solve.iterations)))
    return outputs


def error_figure(rows: list[dict], sizes: dict[str, float], largest: dict[str, tuple[np.ndarray, np.ndarray]], metric: str) -> Figure:
    """Left: ``metric`` against mean graph size per learned method. Right: predicted against true
    values on the last (largest) set."""
    figure, (growth, scatter) = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(row["method"] for row in rows if row["method"] != EXACT):
        points = [(sizes[row["set"]], row[metric]) for row in rows if row["method"] == name]
        growth.plot(*zip(*points, strict=True), "o-", label=name)
        prediction, truth = largest[name]
        shown = slice(None, None, max(1, len(truth) // 4000))  # a readable cloud: at most ~4000 nodes
        scatter.scatter(truth[shown], prediction[shown], s=2, alpha=0.3, label=name)
    growth.set_xscale("log")
    growth.set_yscale("log")
    growth.xaxis.set_minor_formatter(NullFormatter())
    growth.set_xticks(list(sizes.values()), [f"{size:.0f}" for size in sizes.values()])
    growth.set_xlabel("mean nodes per graph")
    growth.set_ylabel(metric)
    growth.legend(fontsize=8)
    truth = largest[EXACT][1]
    scatter.plot([truth.min(), truth.max()], [truth.min(), truth.max()], "k", lw=0.5)
    scatter.set_xlabel("true")
    scatter.set_ylabel("predicted")
    scatter.set_title(f"largest set ({list(sizes)[-1]})")
    scatter.legend(fontsize=8, markerscale=4)
    figure.tight_layout()
    return figure
