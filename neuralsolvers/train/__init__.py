"""Training: one sub-package per kind of learning (``operator``, ``preconditioner``, ``graph``,
``proximal``, ``pinn``: a LightningModule and its data module each), the command-line set-up,
callbacks and W&B tracking. The physics a module trains with lives in :mod:`neuralsolvers.physics`
(its names are also importable from here). Every name below is imported on first use."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "dcdm_loss": "neuralsolvers.physics.losses",
    "DiffusionSorption1D": "neuralsolvers.physics.sorption",
    "FixedWeights": "neuralsolvers.physics.loss_balancing",
    "GraphDataModule": ".graph.data",
    "GraphModule": ".graph.module",
    "HardConstraint": "neuralsolvers.physics.hard_constraint",
    "KrylovDataModule": ".preconditioner.krylov_data",
    "LearningRateAnnealing": "neuralsolvers.physics.loss_balancing",
    "LearningRateLog": ".callbacks",
    "NeuralMultigridModule": ".preconditioner.neural_multigrid",
    "NonFiniteLossStop": ".callbacks",
    "OperatorDataModule": ".operator.data",
    "OperatorLoss": "neuralsolvers.physics.losses",
    "OperatorModule": ".operator.module",
    "PhysicsOperatorModule": ".operator.physics",
    "PINNDataModule": ".pinn.data",
    "PINNModule": ".pinn.module",
    "PreconditionerModule": ".preconditioner.dcdm",
    "PredictionFigure": ".callbacks",
    "ProximalDataModule": ".proximal.data",
    "ProximalModule": ".proximal.module",
    "relative_l2": "neuralsolvers.physics.losses",
    "SceneDataModule": ".preconditioner.scene_data",
    "TrainingDiverged": ".callbacks",
    "WarmupCosineLR": ".schedules",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
