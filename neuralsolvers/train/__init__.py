"""Training: LightningModules, data modules, callbacks, W&B set-up."""

from neuralsolvers.train.callbacks import (
    LearningRateLog,
    NonFiniteLossStop,
    PredictionFigure,
    TrainingDiverged,
)
from neuralsolvers.train.datamodules import OperatorDataModule
from neuralsolvers.train.losses import OperatorLoss, relative_l2
from neuralsolvers.train.operator import OperatorModule
from neuralsolvers.train.schedules import WarmupCosineLR

__all__ = [
    "LearningRateLog",
    "NonFiniteLossStop",
    "OperatorDataModule",
    "OperatorLoss",
    "OperatorModule",
    "PredictionFigure",
    "TrainingDiverged",
    "WarmupCosineLR",
    "relative_l2",
]
