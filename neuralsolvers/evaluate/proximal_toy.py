"""LPN's 1D toy: learned proximal maps against the exact MAP, posterior-mean and posterior-median
denoisers of the Laplace prior, and the learned regularizers against the true one.

For ``x ~ Laplace(0, b)``, ``y = x + σ n``: the MAP denoiser is soft-thresholding at ``σ²/b`` (the
prox of ``(σ²/b)|x|``), ℓ2 training targets the posterior mean, ℓ1 the posterior median, and
proximal matching the MAP. Per checkpoint the table gives the largest deviation from each exact
curve on ``[−y_max, y_max]``; the figure draws the maps and, by inverting each LPN
(`neuralsolvers.models.lpn.learned_regularizer`), the learned regularizers ``R(x) − R(0)``
against ``(σ²/b)|x|`` on the range of each map (the inversion residual is reported).
"""

from __future__ import annotations

from operator import itemgetter

import matplotlib.pyplot as plt
import numpy as np
import torch

from neuralsolvers.checkpoints import model_from_checkpoint, read_checkpoint
from neuralsolvers.data_gen.imaging import (
    laplace_map_prox,
    laplace_matching_optimum,
    laplace_mmse,
    laplace_posterior_median,
)
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.evaluate.base import Comparison, Evaluation, Outcome
from neuralsolvers.models.lpn import learned_regularizer

__all__ = ["ProximalToyEvaluation"]

# the exact denoisers: key (of the table's columns) → (name, curve)
TARGETS = {"map": ("MAP (soft threshold)", laplace_map_prox), "mean": ("posterior mean", laplace_mmse),
           "median": ("posterior median", laplace_posterior_median)}  # fmt: skip


class ProximalToyEvaluation(Evaluation):
    """Trained 1D proximal networks against the toy's exact denoisers.

    Args:
        checkpoints: name → checkpoint (``neuralsolvers fit --config configs/lpn_laplace_toy.yaml``,
            with ``--model.init_args.loss=l2`` or ``l1`` for the contrasts).
        data: a ``laplace_toy`` split (its ``b`` and ``noise_sigma`` define the exact curves).
        y_max: the curves are compared on ``[−y_max, y_max]``.
        num_points: grid points.
        gamma_reference: also report the exact optimum of proximal matching at this ``γ`` (the best
            any network trained down to it can do; None: left out).
    """

    component = "LPN proximal"

    def __init__(self, checkpoints: dict[str, str], data: str, y_max: float = 3.0, num_points: int = 601, gamma_reference: float | None = 0.1):
        if not checkpoints:
            raise ValueError("give at least one checkpoint")
        if not y_max > 0 or num_points < 3:
            raise ValueError("y_max must be positive and num_points ≥ 3")
        self.checkpoints, self.data, self.y_max, self.num_points = dict(checkpoints), data, y_max, num_points
        self.gamma_reference = gamma_reference

    def evaluate(self) -> Outcome:
        parameters = ShardedDataset(self.data, generator="laplace_toy").metadata["parameters"]
        b, sigma = float(parameters["b"]), float(parameters["noise_sigma"])
        grid = np.linspace(-self.y_max, self.y_max, self.num_points)
        exact = {key: curve(grid, b, sigma) for key, (_, curve) in TARGETS.items()}
        figure, (maps, priors) = plt.subplots(1, 2, figsize=(11, 4.5))
        for key, values in exact.items():
            maps.plot(grid, values, "--", lw=1, label=f"exact {TARGETS[key][0]}")
        priors.plot(grid, sigma**2 / b * np.abs(grid), "k--", lw=1, label="true R = (σ²/b)|x|")
        rows = []
        if self.gamma_reference is not None:
            optimum = laplace_matching_optimum(grid, self.gamma_reference, b, sigma)
            errors = {f"max_err_vs_{key}": float(np.abs(optimum - values).max()) for key, values in exact.items()}
            rows.append({"network": f"exact optimum of matching at γ = {self.gamma_reference:g}", "loss": "–", **errors,
                         "closest": min(errors, key=errors.get).removeprefix("max_err_vs_"), "inversion_residual": None})  # fmt: skip
            maps.plot(grid, optimum, ":", color="k", lw=1, label=f"matching optimum, γ = {self.gamma_reference:g}")
        for name, path in self.checkpoints.items():
            checkpoint = read_checkpoint(path)
            model = model_from_checkpoint(checkpoint, path).double()
            loss = checkpoint.get("hyper_parameters", {}).get("loss", "?")
            points = torch.from_numpy(grid)[:, None]
            with torch.no_grad():
                learned = model(points)[:, 0].numpy()
            errors = {f"max_err_vs_{key}": float(np.abs(learned - values).max()) for key, values in exact.items()}
            closest = min(errors, key=errors.get)
            rows.append({"network": name, "loss": loss, **errors, "closest": closest.removeprefix("max_err_vs_")})
            maps.plot(grid, learned, lw=2, label=name if name == loss else f"{name} ({loss})")
            # R is defined on the range of f: invert f on 201 points inside it (0 included)
            inside = torch.from_numpy(np.linspace(0.98 * learned.min(), 0.98 * learned.max(), 201))
            inside = torch.cat([inside, torch.zeros(1, dtype=inside.dtype)]).sort().values[:, None]
            values, residual = learned_regularizer(model, inside, tolerance=1e-9)
            at_zero = values[inside[:, 0] == 0][0]
            rows[-1]["inversion_residual"] = float(residual.max())
            priors.plot(inside[:, 0].numpy(), (values - at_zero).numpy(), lw=2, label=f"{name}: learned R(x) − R(0)")
        maps.set_xlabel("y")
        maps.set_ylabel("f(y)")
        maps.legend(fontsize=7)
        priors.set_xlabel("x")
        priors.set_ylabel("regularizer")
        priors.legend(fontsize=7)
        figure.suptitle(f"Laplace toy: b = {b:g}, σ = {sigma:g}")
        figure.tight_layout()
        config = {"checkpoints": self.checkpoints, "data": self.data, "y_max": self.y_max, "b": b, "noise_sigma": sigma}
        learned = [row for row in rows if row["network"] in self.checkpoints]
        best = min(learned, key=itemgetter("max_err_vs_map"))
        comparison = Comparison(f"Laplace toy (b = {b:g}, σ = {sigma:g}) on [−{self.y_max:g}, {self.y_max:g}]", learned=best["network"],
                                classical=TARGETS["map"][0], metric="largest deviation from the exact MAP", learned_metric=best["max_err_vs_map"],
                                classical_metric=0.0, note="closed-form classical answer: accuracy only, nothing timed")  # fmt: skip
        return Outcome("LPN toy: learned proximal maps against the exact denoisers", rows, "cpu", config, {"toy": figure}, headline=[comparison])
