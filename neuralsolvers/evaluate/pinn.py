"""Physics-informed networks against the generator's reference solver: error, time, training cost.

A PINN is trained for one instance, so the verdict users need is not a per-solve break-even but
"what did the network cost against simply solving the problem": per checkpoint the relative L2 and
largest error on the reference grid, the network's evaluation time on that grid, the time of the
reference itself (the dataset's generator, rebuilt from the metadata, making it again), and the
training time of the run with its ratio to the reference solve.
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter

import numpy as np
import torch

from neuralsolvers.data_gen.base import rebuild_generator
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_network
from neuralsolvers.evaluate.measure import PeakMemory, median_run, pass_seconds, timed
from neuralsolvers.plotting import plot_predictions

__all__ = ["PINNEvaluation"]


class PINNEvaluation(Evaluation):
    """Coordinate networks ``u(points)`` against a reference solution and its solver.

    Args:
        checkpoints: name → checkpoint of a coordinate network (``PINNNet``, modified MLP) trained by
            ``neuralsolvers fit --config configs/pinn_<problem>.yaml``.
        reference: the reference split (``neuralsolvers generate --config configs/data/<problem>_reference.yaml``).
        field: the reference array compared with the network.
        repeats: timed evaluations of the network (their mean, after warm-up calls) and of the reference
            solver (their median).
        device: where the networks run (``cpu``, ``cuda``, ``auto``; timed with the device synchronized).
            The reference solver is the generator's (CPU).
    """

    component = "PINNs"

    def __init__(self, checkpoints: dict[str, str], reference: str, field: str = "u", repeats: int = 3, device: str = "cpu"):
        if not checkpoints:
            raise ConfigError("give at least one checkpoint")
        if repeats < 1:
            raise ConfigError("repeats must be at least 1")
        self.checkpoints, self.reference, self.field, self.repeats = dict(checkpoints), reference, field, repeats
        self.device = resolve_device(device)

    def _reference_seconds(self, dataset: ShardedDataset) -> float:
        generator = rebuild_generator(dataset.metadata["generator"], dataset.metadata["parameters"])

        def once() -> float:
            return timed(torch.device("cpu"), partial(generator.generate, 1, np.random.default_rng(0)))[1]

        return median_run(once, self.repeats, key=float)

    @torch.no_grad()
    def _predict(self, model: torch.nn.Module, points: torch.Tensor, name: str) -> tuple[torch.Tensor, float, int]:
        """The prediction on ``points`` (of an untimed first call), the seconds per call of ``repeats``
        timed calls, and the peak bytes of the first call beyond what was held."""
        try:
            model(points[:2])  # the check that the network takes these points
        except (RuntimeError, ValueError, TypeError) as error:
            raise ConfigError(f"{name}: does not take the reference's points {tuple(points.shape)}: {error}") from None
        with PeakMemory(points.device) as memory:
            prediction = model(points)
        seconds = pass_seconds(partial(model, points), self.repeats)
        if not isinstance(prediction, torch.Tensor) or prediction.shape[0] != len(points):
            raise ConfigError(f"{name}: not a coordinate network u(points) (got {type(prediction).__name__})")
        return prediction, seconds, memory.bytes

    def evaluate(self) -> Outcome:
        dataset = ShardedDataset(self.reference)
        if "points" not in dataset.shared:
            raise ConfigError(f"{self.reference}: not a reference split (no shared 'points' array); make one with "
                              "neuralsolvers generate --config configs/data/<problem>_reference.yaml")  # fmt: skip
        points = torch.as_tensor(dataset.shared["points"], dtype=torch.float32, device=self.device)
        field = dataset.load([self.field])[self.field][0]
        exact = torch.as_tensor(field.reshape(len(points), -1), dtype=torch.float32, device=self.device)
        reference_s = self._reference_seconds(dataset)
        rows, figures = [], {}
        for name, path in self.checkpoints.items():
            model, clock = trained_network(path, self.device)
            prediction, seconds, peak = self._predict(model, points, name)
            prediction = prediction.reshape(exact.shape)
            error = prediction - exact
            rows.append({
                "network": name,
                "rel_l2": float(torch.linalg.vector_norm(error) / torch.linalg.vector_norm(exact)),
                "max_abs_error": float(error.abs().max()),
                "network_s": seconds,
                "network_peak_MiB": peak / 2**20,
                "reference_solver_s": reference_s,
                "training_s": clock["seconds"] if clock else None,
                "training_over_reference": clock["seconds"] / reference_s if clock else None,
            })  # fmt: skip
            shape = field.shape[: field.ndim - (exact.shape[1] > 1)]
            figures[f"solution_{name}".replace(" ", "_")] = plot_predictions(
                exact[:, 0].reshape(1, *shape).cpu().numpy(), prediction[:, 0].reshape(1, *shape).cpu().numpy(), None, title=f"{name} against the reference"
            )
        config = {"checkpoints": self.checkpoints, "reference": self.reference, "generator": dataset.metadata["generator"],
                  "parameters": dataset.metadata["parameters"], "points": len(points), "device": str(self.device)}  # fmt: skip
        timings = [{"method": row["network"], "s": row["network_s"], "learned": True} for row in rows]
        timings.append({"method": "the reference solver", "s": rows[0]["reference_solver_s"] if rows else None, "learned": False})
        comparison = compare(timings, itemgetter("s"), itemgetter("learned"), where=f"{dataset.metadata['generator']} on {len(points)} points")
        best = next((row for row in rows if row["network"] == comparison.learned), None)
        if best is not None:
            comparison.metric, comparison.learned_metric = "rel. L2 error", best["rel_l2"]
            if best["training_over_reference"] is not None:
                comparison.note = f"training took {best['training_over_reference']:.3g}× the reference solve"
        title = f"PINNs against the {dataset.metadata['generator']} reference"
        return Outcome(title, rows, self.device, config, figures, verdict_text(comparison, ""), [comparison])
