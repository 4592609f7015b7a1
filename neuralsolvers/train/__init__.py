"""Training: LightningModules, data modules, callbacks, W&B set-up."""

from neuralsolvers.train.callbacks import (
    LearningRateLog,
    NonFiniteLossStop,
    PredictionFigure,
    TrainingDiverged,
)
from neuralsolvers.train.datamodules import OperatorDataModule
from neuralsolvers.train.graph import GraphModule
from neuralsolvers.train.graph_data import GraphDataModule
from neuralsolvers.train.hard_constraint import HardConstraint
from neuralsolvers.train.loss_balancing import FixedWeights, LearningRateAnnealing
from neuralsolvers.train.losses import OperatorLoss, dcdm_loss, relative_l2
from neuralsolvers.train.neural_multigrid import NeuralMultigridModule
from neuralsolvers.train.operator import OperatorModule
from neuralsolvers.train.physics_operator import PhysicsOperatorModule
from neuralsolvers.train.pinn import PINNModule
from neuralsolvers.train.pinn_data import PINNDataModule
from neuralsolvers.train.preconditioner import PreconditionerModule
from neuralsolvers.train.preconditioner_data import KrylovDataModule
from neuralsolvers.train.proximal import ProximalModule
from neuralsolvers.train.proximal_data import ProximalDataModule
from neuralsolvers.train.scene_data import SceneDataModule
from neuralsolvers.train.schedules import WarmupCosineLR
from neuralsolvers.train.sorption_physics import DiffusionSorption1D

__all__ = [
    "DiffusionSorption1D",
    "FixedWeights",
    "GraphDataModule",
    "GraphModule",
    "HardConstraint",
    "KrylovDataModule",
    "LearningRateAnnealing",
    "LearningRateLog",
    "NonFiniteLossStop",
    "OperatorDataModule",
    "OperatorLoss",
    "OperatorModule",
    "PINNDataModule",
    "PINNModule",
    "PhysicsOperatorModule",
    "PredictionFigure",
    "NeuralMultigridModule",
    "PreconditionerModule",
    "SceneDataModule",
    "ProximalDataModule",
    "ProximalModule",
    "TrainingDiverged",
    "WarmupCosineLR",
    "dcdm_loss",
    "relative_l2",
]
