"""Unsupervised training of any learned preconditioner, on any operator data.

One module for every network that follows the protocol of learned preconditioners:

* ``model.preconditioner(A, *, differentiable=False) -> Preconditioner``: the preconditioner of
  the operator ``A`` (a torch sparse CSR matrix, or a ``DiffusionStencil`` for the neural
  multigrid), an object with ``apply(r)`` on ``(n, k)`` residuals, linear and SPD; with
  ``differentiable=True`` the gradient flows from its outputs to the network's weights;
* ``model.classical_preconditioner(A) -> Preconditioner``: the classical method the network starts
  from (the learned AMG's PyAMG hierarchy, the neural multigrid's geometric multigrid), the
  baseline of the validation;
* ``model.preconditioner_record``: the checkpoint's record for ``neuralsolvers.load_preconditioner``
  (its ``kind``); a model without one is a preconditioner of matrices (``MATRIX_RECORD``);
* optionally ``model.training_loss(A, probes) -> scalar tensor``: the model's own loss, used instead
  of the PCG loss (e.g. a learned incomplete factorization's fit to ``A``);
* optionally a keyword ``near_nullspace`` of either method: a system that carries one (an elasticity
  store's rigid-body modes, ``(n, k)`` float64 on the CPU) passes it there (e.g. smoothed
  aggregation's ``B`` of the learned AMG); models without the keyword never get it;
* optionally a keyword ``plan`` of either method, with a ``plan`` attribute on the preconditioners
  it gives: what the matrix's preconditioner kept (the learned AMG's coarsening and symbolic Galerkin
  products), passed back whenever either method builds the same system's preconditioner again (so
  a plan serves both: the learned AMG's learned and classical cycles share PyAMG's coarsening).

The data are any data module whose ``splits`` (``train``, ``val``, optionally ``large``) are
operator data sets (`OPERATOR_DATASET`): a [`MatrixDataModule`][neuralsolvers.train.preconditioner.matrix_data.MatrixDataModule]
(sparse matrices of finite elements, graphs, PyAMG's examples) or a
[`SceneDataModule`][neuralsolvers.train.preconditioner.scene_data.SceneDataModule] (diffusion
scenes on grids). Every step builds the preconditioner of each operator of the batch with the
network's current weights, runs ``steps`` preconditioned CG iterations on ``probes`` random
right-hand sides (zero outside an operator's ``mask``, where it has one) and lowers the mean log
relative residual (`neuralsolvers.train.preconditioner.losses.pcg_residual_loss`; ``loss: pcg``),
or applies the preconditioner's error propagation ``I − M A`` ``steps`` times to ``probes`` random
errors and lowers the log of its energy-norm contraction
(`neuralsolvers.train.preconditioner.losses.cycle_energy_loss`; ``loss: cycle``, for a multigrid
cycle): no solutions are needed. Validation solves the validation systems (``data.val``) and the larger ones of
``data.large`` with plain ``cg`` in float64 to ``val_rtol`` (the stored right-hand sides; the
preconditioners built and applied in the training dtype) and logs the iteration counts of the
learned and of the classical preconditioner (``val/iterations``, ``val/classical_iterations``,
``val/iterations_large``, ``val/classical_iterations_large``).

``NeuralMultigridModule``, the neural multigrid's former module, is this module's old name for one
release (with a ``DeprecationWarning``).
"""

from __future__ import annotations

import inspect
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from neuralsolvers.errors import ConfigError
from neuralsolvers.solvers.krylov.conjugate_gradient import SolverResult, cg
from neuralsolvers.solvers.learned.matrix_kind import MATRIX_RECORD
from neuralsolvers.solvers.preconditioners import (
    CastPreconditioner,
    ModulePreconditioner,
    Preconditioner,
)
from neuralsolvers.train.base import NetworkModule
from neuralsolvers.train.preconditioner.losses import cycle_energy_loss, pcg_residual_loss

__all__ = ["DTYPES", "LOSSES", "LearnedPreconditionerModule", "OPERATOR_DATASET", "PRECONDITIONER_PROTOCOL", "SOLVE_SPLITS"]

PRECONDITIONER_PROTOCOL = ("preconditioner", "classical_preconditioner")  # the methods a model needs
# what every split of the data module answers: item_operator(item, dtype, device) (the operator of a
# batch item), operator(index, dtype, device), rhs(index) ((n,) float64) and label(index) (its size, for figures)
OPERATOR_DATASET = ("item_operator", "operator", "rhs", "label")
LOSSES = {"pcg": pcg_residual_loss, "cycle": cycle_energy_loss}  # loss(apply_A, apply_M, probes, steps)
SOLVE_SPLITS = (("val", ""), ("large", "_large"))  # the validation splits solved, and their metrics' suffix
DTYPES = {"float32": torch.float32, "float64": torch.float64}
SYSTEM_KEYWORDS = ("near_nullspace",)  # items' keys passed on to the model's methods that take them
PLAN_KEYWORD = "plan"  # a preconditioner's ``plan``, passed back for the same system


def _keywords(method: Any) -> frozenset[str]:
    """The keywords of ``SYSTEM_KEYWORDS`` and ``PLAN_KEYWORD`` that ``method`` accepts (all with ``**kwargs``)."""
    known = (*SYSTEM_KEYWORDS, PLAN_KEYWORD)
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): pass nothing
        return frozenset()
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return frozenset(known)
    names = {parameter.name for parameter in parameters if parameter.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)}
    return frozenset(key for key in known if key in names)


def _as_preconditioner(M: Any, A: Any, dtype: torch.dtype) -> Preconditioner:
    """The model's result for a ``cg`` in ``dtype``: a ``Preconditioner`` as it is, or an object with
    ``apply`` only wrapped as a linear SPD map in ``A``'s dtype, applied in ``dtype`` (cast in and out)."""
    if not isinstance(M, Preconditioner):
        if not callable(getattr(M, "apply", None)):
            raise TypeError(f"the model's preconditioner must have apply(r); got a {type(M).__name__}")
        M = ModulePreconditioner(M.apply, A.shape[0], linear_spd=True, dtype=A.dtype, device=A.device)
    return M if M.dtype == dtype else CastPreconditioner(M, dtype)


def _matmat(A: Any) -> Any:
    """``X ↦ A X`` on ``(n, k)`` columns: the operator's ``matmat`` (a stencil's), else ``A @ X`` (a sparse matrix)."""
    return getattr(A, "matmat", None) or (lambda X: A @ X)


class LearnedPreconditionerModule(NetworkModule):
    """Train a learned preconditioner on operator data: a [`MatrixDataModule`][neuralsolvers.train.preconditioner.matrix_data.MatrixDataModule]
    (learned AMG, learned IC) or a [`SceneDataModule`][neuralsolvers.train.preconditioner.scene_data.SceneDataModule] (neural multigrid).

    Args:
        model: the network, with ``preconditioner(A, *, differentiable=False)`` and
            ``classical_preconditioner(A)`` (and optionally ``training_loss(A, probes)`` and
            ``preconditioner_record``); see the module's description.
        optimizer: optimizer factory.
        scheduler: learning-rate scheduler factory, stepped every optimizer step.
        steps: preconditioned CG steps (``loss: pcg``) or applications of the error propagation
            (``loss: cycle``) of the loss.
        probes: random right-hand sides (errors) per matrix and step.
        val_rtol: relative true residual of the validation solves.
        val_maxiter: iteration cap of the validation solves.
        dtype: ``float32`` or ``float64``, the dtype of ``A`` given to the model in training and
            in the validation solves' preconditioners.
        loss: ``pcg`` (the residual after ``steps`` PCG steps) or ``cycle`` (the energy-norm
            contraction of ``I − M A``); a model's own ``training_loss`` replaces either.

    Raises:
        ConfigError: the model lacks a method of the protocol (named).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        steps: int = 6,
        probes: int = 4,
        val_rtol: float = 1e-6,
        val_maxiter: int = 500,
        dtype: str = "float32",
        loss: str = "pcg",
    ):
        super().__init__(model, optimizer, scheduler)
        missing = [name for name in PRECONDITIONER_PROTOCOL if not callable(getattr(model, name, None))]
        if missing:
            raise ConfigError(
                "LearnedPreconditionerModule trains a model with preconditioner(A, differentiable=...) and "
                f"classical_preconditioner(A); {type(model).__name__} has no {' and no '.join(missing)}"
            )
        if steps < 1 or probes < 1 or not 0 < val_rtol < 1 or val_maxiter < 1:
            raise ValueError(f"need steps, probes, val_maxiter ≥ 1 and 0 < val_rtol < 1; got {steps}, {probes}, {val_maxiter}, {val_rtol}")
        if dtype not in DTYPES:
            raise ConfigError(f"model.dtype must be one of {list(DTYPES)}, got {dtype!r}")
        if loss not in LOSSES:
            raise ConfigError(f"model.loss must be one of {list(LOSSES)}, got {loss!r}")
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler"])
        self._classical: dict[tuple[str, int], int] = {}
        self._accepts = {name: _keywords(getattr(model, name)) for name in PRECONDITIONER_PROTOCOL}  # read once
        self._plans: dict[tuple[Any, ...], Any] = {}  # (split, index, n, nnz) → the plan of the system's first preconditioner

    def _preconditioner(self, method: str, split: str, system: dict[str, Any], A: torch.Tensor, **options: Any) -> Any:
        """``model.<method>(A, **options)`` for system ``system["index"]`` of ``split``, given the system's
        entries beyond ``A`` and ``b`` (``near_nullspace``) and the plan kept from the system's first
        preconditioner (of either method), where ``method`` takes them; a new plan is kept."""
        accepts = self._accepts[method]
        options.update({key: system[key] for key in SYSTEM_KEYWORDS if key in accepts and key in system})
        key = (split, int(system["index"]), A.shape[0], A.values().numel()) if PLAN_KEYWORD in accepts and "index" in system else None
        if key in self._plans:
            options[PLAN_KEYWORD] = self._plans[key]
        M = getattr(self.model, method)(A, **options)
        if key is not None and key not in self._plans and getattr(M, PLAN_KEYWORD, None) is not None:
            self._plans[key] = getattr(M, PLAN_KEYWORD)
        return M

    @property
    def training_dtype(self) -> torch.dtype:
        """The dtype of ``A`` given to the model."""
        return DTYPES[self.hparams.dtype]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also record the model's kind of learned preconditioner, for ``neuralsolvers.load_preconditioner``."""
        super().on_save_checkpoint(checkpoint)
        checkpoint["neuralsolvers_preconditioner"] = dict(getattr(self.model, "preconditioner_record", MATRIX_RECORD))

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not callable(getattr(datamodule, "setup", None)):
            raise ConfigError("LearnedPreconditionerModule trains on operator data: data.class_path neuralsolvers.train.MatrixDataModule or SceneDataModule")
        datamodule.setup(stage)
        splits = getattr(datamodule, "splits", {})
        lacking = sorted({name for dataset in splits.values() for name in OPERATOR_DATASET if not callable(getattr(dataset, name, None))})
        if not splits or lacking:
            raise ConfigError(f"LearnedPreconditionerModule trains on operator data (MatrixDataModule, SceneDataModule); "
                              f"the splits of {type(datamodule).__name__} have no {', '.join(lacking) or 'splits'}")  # fmt: skip
        self._plans.clear()  # they belong to the systems of the last data module

    def _loss(self, systems: list[dict[str, Any]], seed: int | None = None, split: str = "train") -> torch.Tensor:
        """The mean loss over ``systems`` (of ``split``); right-hand sides from ``seed`` when given (the same at every validation)."""
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        own_loss = getattr(self.model, "training_loss", None)
        dataset = self.trainer.datamodule.splits[split]
        losses = []
        for system in systems:
            A = dataset.item_operator(system, self.training_dtype, self.device)
            probes = torch.randn(A.shape[0], self.hparams.probes, generator=generator, dtype=self.training_dtype).to(self.device)
            mask = getattr(A, "mask", None)  # a stencil's unknowns outside its domain stay zero
            if mask is not None:
                probes = probes * mask.reshape(-1, 1).to(probes.dtype)
            if callable(own_loss):
                losses.append(own_loss(A, probes))
                continue
            M = self._preconditioner("preconditioner", split, system, A, differentiable=True)
            losses.append(LOSSES[self.hparams.loss](_matmat(A), M.apply, probes, self.hparams.steps))
        return torch.stack(losses).mean()

    def training_step(self, batch: list[dict[str, torch.Tensor]], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        if not loss.requires_grad:
            dataset = self.trainer.datamodule.splits["train"]
            sizes = ", ".join(str(dataset.item_operator(system, self.training_dtype, "cpu").shape[0]) for system in batch)
            raise ConfigError(f"the preconditioners of this batch (systems of {sizes} unknowns) do not depend on the network's weights: "
                              "too small to coarsen? (a learned AMG solves a matrix below max_coarse directly)")  # fmt: skip
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch), sync_dist=True)
        return loss

    def validation_step(self, batch: list[dict[str, torch.Tensor]], batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch, seed=batch_idx, split="val"), on_epoch=True, prog_bar=True, batch_size=len(batch), sync_dist=True)

    def test_step(self, batch: list[dict[str, torch.Tensor]], batch_idx: int) -> None:
        self.log("test/loss", self._loss(batch, seed=batch_idx, split="val"), on_epoch=True, batch_size=len(batch), sync_dist=True)

    def solve(self, split: str, index: int, method: str = "learned") -> SolverResult:
        """PCG on system ``index`` of ``split`` (``val`` or ``large``) in float64 with its stored
        right-hand side, with the learned or (``method="classical"``) the classical preconditioner,
        built from the operator in the training dtype and applied in it."""
        dataset = self.trainer.datamodule.splits[split]
        A = dataset.operator(index, torch.float64, self.device)
        b = dataset.rhs(index).to(self.device)
        with torch.no_grad():
            A_model = dataset.operator(index, self.training_dtype, self.device)
            M = self._preconditioner("classical_preconditioner" if method == "classical" else "preconditioner", split, dataset[index], A_model)
            return cg(A, b, M=_as_preconditioner(M, A_model, torch.float64), rtol=self.hparams.val_rtol, maxiter=self.hparams.val_maxiter)

    def _log_solves(self, prefix: str) -> None:
        """Mean CG iterations of the learned and the classical preconditioner on the validation
        systems (``data.val``, ``data.large``): ``<prefix>/iterations[_large]`` and
        ``<prefix>/classical_iterations[_large]`` (each classical solve once per system, cached)."""
        if self.trainer.sanity_checking:
            return
        splits = self.trainer.datamodule.splits
        for split, suffix in SOLVE_SPLITS:
            if split not in splits:
                continue
            learned, classical = [], []
            for index in range(len(splits[split])):
                learned.append(self.solve(split, index).iterations)
                if (split, index) not in self._classical:
                    self._classical[split, index] = self.solve(split, index, "classical").iterations
                classical.append(self._classical[split, index])
            self.log(f"{prefix}/iterations{suffix}", sum(learned) / len(learned), prog_bar=suffix == "", sync_dist=True)
            self.log(f"{prefix}/classical_iterations{suffix}", sum(classical) / len(classical), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self._log_solves("val")

    def on_test_epoch_end(self) -> None:
        self._log_solves("test")

    def draw_figure(self, split: str) -> Figure | None:
        """Relative true residual against iteration on the first validation system of each size
        (``data.val``, ``data.large``): learned against classical preconditioner."""
        splits = self.trainer.datamodule.splits
        figure, axis = plt.subplots(figsize=(6, 4))
        for colour, name in enumerate(name for name, _ in SOLVE_SPLITS if name in splits):
            for method, style in (("learned", "-"), ("classical", ":")):
                history = self.solve(name, 0, method).residuals.cpu().numpy()
                axis.semilogy(history, style, color=f"C{colour}", label=f"{splits[name].label(0)}: {method}-PCG")
        axis.axhline(self.hparams.val_rtol, color="k", lw=0.5)
        axis.set_xlabel("iteration")
        axis.set_ylabel("relative residual ‖b − Ax‖ / ‖b‖")
        axis.set_title("Learned against classical preconditioner, PCG on validation system 0 (data.val, data.large)")
        axis.legend(fontsize=8)
        figure.tight_layout()
        return figure
