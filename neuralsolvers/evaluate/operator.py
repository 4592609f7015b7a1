"""Evaluate a trained neural operator on held-out datasets (in and out of distribution), against the
generator's own reference solver: error, time per sample of both, and the training cost's break-even.

The reference time is that of the dataset's generator, rebuilt from the dataset's metadata, making
``reference_samples`` new samples (input sampling included; for the PDE generators the solves
dominate). The network's time is one pass of batched inference over the dataset on the device,
after warm-up passes, synchronized (`neuralsolvers.evaluate.measure.pass_seconds`).
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter
from pathlib import Path

import numpy as np
import torch

from neuralsolvers.data_gen.base import rebuild_generator
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.economics import trained_network, training_cost
from neuralsolvers.evaluate.measure import PeakMemory, pass_seconds, timed
from neuralsolvers.physics.losses import relative_l2
from neuralsolvers.plotting import plot_predictions

__all__ = ["OperatorEvaluation"]


class OperatorEvaluation(Evaluation):
    """Relative L2 errors of a trained operator on one or more test datasets.

    Args:
        checkpoint: checkpoint written by ``neuralsolvers fit``.
        datasets: name → dataset directory (e.g. ``in_distribution: data/antiderivative/test``).
        input_key: input array name in the datasets.
        target_key: target array name.
        points_key: shared query-point array name, or ``None`` for grid models.
        batch_size: samples per forward pass.
        num_plot: samples drawn in each dataset's figure.
        device: ``cpu``, ``cuda`` or ``auto``.
        reference_samples: samples the generator makes to time its reference solver (0: skip).
    """

    component = "Neural operators"

    def __init__(
        self,
        checkpoint: str,
        datasets: dict[str, str],
        input_key: str = "u",
        target_key: str = "s",
        points_key: str | None = "points",
        batch_size: int = 1000,
        num_plot: int = 4,
        device: str = "auto",
        reference_samples: int = 4,
    ):
        self.checkpoint = checkpoint
        self.datasets = datasets
        self.input_key, self.target_key, self.points_key = input_key, target_key, points_key
        self.batch_size = batch_size
        self.num_plot = num_plot
        self.device = device
        self.reference_samples = reference_samples

    def _reference_ms(self, dataset: ShardedDataset) -> float | None:
        """Milliseconds per sample of the dataset's generator (its reference solver), or None."""
        if self.reference_samples < 1:
            return None
        generator = rebuild_generator(dataset.metadata["generator"], dataset.metadata["parameters"])
        _, seconds = timed(torch.device("cpu"), partial(generator.generate, self.reference_samples, np.random.default_rng(0)))
        return 1e3 * seconds / self.reference_samples

    @torch.no_grad()
    def _predict(self, model: torch.nn.Module, inputs: torch.Tensor, points: torch.Tensor | None) -> torch.Tensor:
        """The model's outputs on every input, in batches."""
        outputs = [model(batch) if points is None else model(batch, points) for batch in inputs.split(self.batch_size)]
        return torch.cat(outputs)

    def evaluate(self) -> Outcome:
        device = resolve_device(self.device)
        model, clock = trained_network(self.checkpoint, device)
        rows, figures, parameters = [], {}, {}
        for name, directory in self.datasets.items():
            dataset = ShardedDataset(directory)
            parameters[name] = {"generator": dataset.metadata["generator"], **dataset.metadata["parameters"]}
            arrays = dataset.load([self.input_key, self.target_key])
            inputs = torch.as_tensor(arrays[self.input_key], dtype=torch.float32, device=device)
            targets = torch.as_tensor(arrays[self.target_key], dtype=torch.float32, device=device)
            points = None
            if self.points_key is not None:
                points = torch.as_tensor(dataset.shared[self.points_key], dtype=torch.float32, device=device)
            with PeakMemory(device) as memory:  # a first pass, apart from the timed ones
                predictions = self._predict(model, inputs, points)
            seconds = pass_seconds(partial(self._predict, model, inputs, points), repeats=1)
            errors = relative_l2(predictions, targets).cpu().numpy()
            inference_ms, reference_ms = 1e3 * seconds / len(errors), self._reference_ms(dataset)
            rows.append(
                {
                    "dataset": name,
                    "samples": len(errors),
                    "rel_l2_mean": float(errors.mean()),
                    "rel_l2_median": float(np.median(errors)),
                    "rel_l2_max": float(errors.max()),
                    "inference_ms_per_sample": inference_ms,
                    "inference_peak_MiB": memory.bytes / 2**20,
                    "reference_ms_per_sample": reference_ms,
                    "speedup": reference_ms / inference_ms if reference_ms else None,
                    **training_cost(clock, inference_ms / 1e3, None if reference_ms is None else reference_ms / 1e3, unit="samples"),
                }
            )
            n = min(self.num_plot, len(errors))
            figures[f"predictions_{name}"] = plot_predictions(
                targets[:n].cpu().numpy(),
                predictions[:n].cpu().numpy(),
                None if points is None else points.cpu().numpy(),
                title=f"{type(model).__name__} on {name}",
            )
        config = {
            "checkpoint": str(self.checkpoint),
            "training_time": clock,
            "datasets": {name: {"path": path, **parameters[name]} for name, path in self.datasets.items()},
        }
        first = rows[0]
        timings = [{"method": type(model).__name__, "s": first["inference_ms_per_sample"] / 1e3, "learned": True},
                   {"method": "the generator's reference solver", "s": None if first["reference_ms_per_sample"] is None
                    else first["reference_ms_per_sample"] / 1e3, "learned": False}]  # fmt: skip
        where = f"on {first['dataset']} (per sample)"
        comparison = compare(timings, itemgetter("s"), itemgetter("learned"), where=f"{parameters[first['dataset']]['generator']} {where}")
        comparison.metric, comparison.learned_metric = "rel. L2 error (mean)", first["rel_l2_mean"]
        title = f"{type(model).__name__}: {Path(self.checkpoint).name}"
        return Outcome(title, rows, device, config, figures, verdict_text(comparison, where), [comparison])
