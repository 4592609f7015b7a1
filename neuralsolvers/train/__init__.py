"""Training: one sub-package per kind of learning (``operator``, ``preconditioner``, ``graph``,
``proximal``, ``pinn``: a LightningModule and its data module each), the command-line set-up,
callbacks and W&B tracking. The losses a paper defines sit beside the module that trains with them
(``preconditioner.losses``, ``proximal.losses``); the physics a module trains with lives in
``neuralsolvers.physics`` (some of its names are also importable from here). Every name below is
imported on first use."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "dcdm_loss": ".preconditioner.losses",
    "DCDMModule": ".preconditioner.dcdm",
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
    "pcg_residual_loss": ".preconditioner.losses",
    "PhysicsOperatorModule": ".operator.physics",
    "PINNDataModule": ".pinn.data",
    "PINNModule": ".pinn.module",
    "PredictionFigure": ".callbacks",
    "ProximalDataModule": ".proximal.data",
    "ProximalModule": ".proximal.module",
    "proximal_matching_loss": ".proximal.losses",
    "relative_l2": "neuralsolvers.physics.losses",
    "SceneDataModule": ".preconditioner.scene_data",
    "TrainingDiverged": ".callbacks",
    "WarmupCosineLR": ".schedules",
}
__all__ = sorted(_EXPORTS)
# DCDMModule's old name, for one release (it warns): old configs and checkpoints name it
__getattr__, __dir__ = lazy_exports(__name__, {**_EXPORTS, "PreconditionerModule": ".preconditioner.dcdm"})
