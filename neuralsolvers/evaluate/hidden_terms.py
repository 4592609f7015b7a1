"""Hidden-term discovery: turn a trained UPINN's term network into a formula and score it against the truth.

The trained `neuralsolvers.models.HiddenTermNet` gives the states ``u`` at (up to
``num_points`` of) the reference points and its hidden term ``F(u)`` there; `neuralsolvers.solvers.stlsq` regresses ``F``
onto all monomials of the states up to ``degree`` and `neuralsolvers.solvers.formulas` prints
the result. The truth comes from the dataset's generator (``hidden_coefficients``). Reported per
component: the discovered and true formulas, the largest relative error of a true coefficient,
the number of spurious terms, the relative L2 error of ``F`` against the true term along the true
trajectory, and of ``u`` against the reference; the figure shows parity plots of the states and of
the learned and discovered hidden terms against the truth.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import sympy
import torch
from matplotlib.figure import Figure

from neuralsolvers.checkpoints import load
from neuralsolvers.data_gen.hidden_terms import FisherKPPObservations, LotkaVolterraObservations
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.base import Evaluation, Outcome
from neuralsolvers.solvers.nonlinear.sparse_regression import formulas, polynomial_library, stlsq

__all__ = ["HiddenTermDiscovery"]

GENERATORS = {generator.name: generator for generator in (FisherKPPObservations, LotkaVolterraObservations)}


def _true_term(truth: dict[str, float], names: list[str], states: torch.Tensor) -> torch.Tensor:
    """``Σ c_m m(u)`` for the monomials ``m`` of ``truth`` at ``states`` ``(N, d)``."""
    symbols = [sympy.Symbol(name) for name in names]
    total = torch.zeros(len(states), dtype=states.dtype)
    for monomial, coefficient in truth.items():
        evaluate = sympy.lambdify(symbols, sympy.sympify(monomial), "numpy")
        total += coefficient * torch.as_tensor(evaluate(*states.T.numpy()), dtype=states.dtype)
    return total


class HiddenTermDiscovery(Evaluation):
    """Sparse regression of a trained hidden-term network, scored against the generator's truth.

    Args:
        checkpoint: a trained ``HiddenTermNet`` (``neuralsolvers fit --config configs/upinn_*.yaml``).
        data: the observations dataset it was trained on (gives the time span, the reference and the truth).
        degree: highest total degree of the monomial library; threshold: STLSQ threshold.
        num_points: reference points (evenly spread) at which ``F`` is sampled for the regression.
        state_names: names of the state components (default: the generator's).

    No headline: there is no classical method to time against (the truth is the generator's).
    """

    component = "PINNs"

    def __init__(self, checkpoint: str, data: str, degree: int = 2, threshold: float = 0.1, num_points: int = 1000,
                 state_names: list[str] | None = None):  # fmt: skip
        if degree < 1 or num_points < 10 or threshold < 0:
            raise ConfigError("degree must be ≥ 1, num_points ≥ 10 and threshold ≥ 0")
        self.checkpoint, self.data, self.degree, self.threshold = checkpoint, data, degree, threshold
        self.num_points, self.state_names = num_points, state_names

    def evaluate(self) -> Outcome:
        dataset = ShardedDataset(self.data)
        generator_name = dataset.metadata["generator"]
        if generator_name not in GENERATORS:
            raise ConfigError(f"{self.data}: generator {generator_name!r} has no known hidden terms; known: {sorted(GENERATORS)}")
        generator = GENERATORS[generator_name](**dataset.metadata["parameters"])
        truth = generator.hidden_coefficients()
        names = self.state_names or list(truth)
        net = load(self.checkpoint).double()
        if not callable(getattr(net, "term", None)):
            raise ConfigError(f"{self.checkpoint}: a {type(net).__name__} has no hidden term; train a HiddenTermNet (configs/upinn_*.yaml)")
        points = torch.from_numpy(dataset.shared["points"]).double()
        reference = torch.from_numpy(dataset.load(["u"])["u"][0]).double().reshape(len(points), -1)
        if reference.shape[1] != len(names):
            raise ConfigError(f"{self.data}: {reference.shape[1]} state components but names {names}")
        chosen = torch.linspace(0, len(points) - 1, min(self.num_points, len(points))).round().long()
        with torch.no_grad():
            fitted = net(points)
            states = fitted[chosen]
            learned = net.term(states)
            learned_on_truth = net.term(reference)
        library, terms = polynomial_library(states, names, self.degree)
        coefficients = stlsq(library, learned, self.threshold)
        discovered = formulas(coefficients, terms)
        rows = []
        for k, name in enumerate(names):
            true = truth[name]
            found = dict(zip(terms, coefficients[:, k].tolist(), strict=True))
            errors = [abs(found.get(str(sympy.sympify(m)), 0.0) - c) / abs(c) for m, c in true.items()]
            true_keys = {str(sympy.sympify(m)) for m in true}
            exact_term = _true_term(true, names, reference)
            rows.append({
                "component": f"{name}'", "discovered": str(discovered[k]),
                "true": str(sum(sympy.Float(c, 4) * sympy.sympify(m) for m, c in true.items())),
                "max_rel_coefficient_error": max(errors), "spurious_terms": sum(1 for t, v in found.items() if v != 0 and t not in true_keys),
                "term_rel_l2": float((learned_on_truth[:, k] - exact_term).norm() / exact_term.norm()),
                "state_rel_l2": float((fitted[:, k] - reference[:, k]).norm() / reference[:, k].norm()),
            })  # fmt: skip
        true_terms = torch.stack([_true_term(truth[name], names, states) for name in names], dim=1)
        figure = _figure(reference.numpy(), fitted.numpy(), true_terms.numpy(), learned.numpy(), (library @ coefficients).numpy(), names)
        config = {"checkpoint": self.checkpoint, "data": self.data, "degree": self.degree, "threshold": self.threshold,
                  "num_points": self.num_points, "generator": generator_name, "parameters": dataset.metadata["parameters"]}  # fmt: skip
        title = f"Hidden-term discovery ({generator_name}, noise {dataset.metadata['parameters'].get('noise')})"
        return Outcome(title, rows, "cpu", config, {"hidden_terms": figure})


def _figure(reference: np.ndarray, fitted: np.ndarray, true: np.ndarray, learned: np.ndarray, discovered: np.ndarray, names: list[str]) -> Figure:
    """Parity plots: the network's states against the reference; the learned term and the discovered
    formula against the true hidden term, at the sampled states."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    for k, name in enumerate(names):
        left.plot(reference[:, k], fitted[:, k], ".", ms=2, label=name)
        right.plot(true[:, k], learned[:, k], ".", ms=2, label=f"F for {name}': network")
        right.plot(true[:, k], discovered[:, k], "x", ms=3, label=f"F for {name}': discovered formula")
    for axis, title in ((left, "states: network against reference"), (right, "hidden term against the truth")):
        low, high = axis.get_xlim()
        axis.plot([low, high], [low, high], "k", lw=0.8)
        axis.set_xlabel("reference" if axis is left else "true term")
        axis.set_title(title, fontsize=9)
        axis.legend(fontsize=7)
    figure.tight_layout()
    return figure
