"""Graph learning: node- or graph-level regression with CGS or a PyG baseline on PyG batches.

The network is an argument (``model``: ``CGS`` or
``GNNBaseline``), called as ``model(x, edge_index, edge_attr, batch)``;
targets are ``batch.y``. Logged per split: ``loss`` (MSE), ``mape`` (mean |pred − y| / |y| over
nodes with |y| ≥ ``mape_floor``: relative to the true values, not the prediction), and, on value
iteration data with ``discount`` set, ``policy_accuracy`` (the greedy policy of the predicted values
against the optimal one). A CGS model also logs its fixed-point iterations and contraction bound.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch_geometric.data import Batch

from neuralsolvers.data_gen.graph_problems import greedy_policy
from neuralsolvers.train.base import NetworkModule, SplitSteps

__all__ = ["GraphModule"]


class GraphModule(SplitSteps, NetworkModule):
    """Train a graph network on node (or graph) targets with MSE.

    Args:
        model: CGS or a baseline.
        optimizer: factories, as in the other modules.
        scheduler: see `optimizer`.
        discount: the MDPs' discount, to log the policy accuracy on value iteration data (else None).
        mape_floor: nodes with |y| below it are left out of the MAPE.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        discount: float | None = None,
        mape_floor: float = 1e-3,
    ):
        super().__init__(model, optimizer, scheduler)
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler"])

    def forward(self, batch: Batch) -> torch.Tensor:
        out = self.model(batch.x, batch.edge_index, getattr(batch, "edge_attr", None), batch.batch)
        return out.squeeze(-1) if out.shape[-1] == 1 else out

    def _step(self, batch: Batch, split: str) -> torch.Tensor:
        prediction = self(batch)
        loss = nn.functional.mse_loss(prediction, batch.y)
        size = int(batch.num_graphs)
        self.log(f"{split}/loss", loss, on_step=split == "train", on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True)
        with torch.no_grad():
            kept = batch.y.abs() >= self.hparams.mape_floor
            mape = ((prediction - batch.y).abs()[kept] / batch.y.abs()[kept]).mean()
            self.log(f"{split}/mape", mape, on_epoch=True, batch_size=size, sync_dist=True)
            if self.hparams.discount is not None and hasattr(batch, "policy"):
                policy = greedy_policy(prediction.detach(), batch, self.hparams.discount)
                self.log(f"{split}/policy_accuracy", (policy == batch.policy).float().mean(), on_epoch=True, batch_size=size, sync_dist=True)
            solve = getattr(self.model, "last_solve", {})
            if "forward" in solve:
                self.log(f"{split}/fixed_point_iterations", solve["forward"].iterations, on_epoch=True, batch_size=size, sync_dist=True)
                self.log(f"{split}/contraction_bound", solve["bound"].max(), on_epoch=True, batch_size=size, sync_dist=True)
        return loss

    def draw_figure(self, split: str) -> Figure | None:
        """Predicted against true targets on the first batch of ``split``."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or split not in getattr(datamodule, "splits", {}):
            return None
        batch = next(iter(getattr(datamodule, f"{split}_dataloader")())).to(self.device)
        with torch.no_grad():
            prediction = self(batch).cpu().numpy().ravel()
        truth = batch.y.cpu().numpy().ravel()
        figure, axis = plt.subplots(figsize=(4.5, 4.5))
        axis.scatter(truth, prediction, s=3, alpha=0.5)
        low, high = float(truth.min()), float(truth.max())
        axis.plot([low, high], [low, high], "k", lw=0.5)
        axis.set_xlabel("true")
        axis.set_ylabel("predicted")
        axis.set_title(f"{type(self.model).__name__}: {split}, {int(batch.num_graphs)} graphs")
        figure.tight_layout()
        return figure
