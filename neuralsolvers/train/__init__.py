"""Training: one sub-package per kind of learning (``operator``, ``preconditioner``, ``graph``,
``proximal``, ``pinn``: a LightningModule and its data module each), the command-line set-up,
callbacks and W&B tracking. The losses a paper defines sit beside the module that trains with them
(``preconditioner.losses``, ``proximal.losses``); the physics a module trains with lives in
``neuralsolvers.physics`` (some of its names are also importable from here). Every name below is
imported on first use."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__, elsewhere={'DiffusionSorption1D': 'neuralsolvers.physics.sorption', 'FixedWeights': 'neuralsolvers.physics.loss_balancing', 'HardConstraint': 'neuralsolvers.physics.hard_constraint', 'LearningRateAnnealing': 'neuralsolvers.physics.loss_balancing', 'OperatorLoss': 'neuralsolvers.physics.losses', 'relative_l2': 'neuralsolvers.physics.losses'}, hidden={'PreconditionerModule': '.preconditioner.dcdm'}, renamed={'NeuralMultigridModule': 'LearnedPreconditionerModule'})
