"""Physics for training, in torch only (no Lightning): PDE problems and residuals for PINNs,
hidden-term and Lagrangian variants, diffusion–sorption physics, hard constraints, loss balancing
and the relative errors of fields (the losses of operator learning)."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "CollocationSampler": ".pinn_problems",
    "Convection": ".pinn_problems",
    "derivative": ".pinn_problems",
    "DiffusionSorption1D": ".sorption",
    "first_output": ".pinn_problems",
    "FixedWeights": ".loss_balancing",
    "HardConstraint": ".hard_constraint",
    "Helmholtz2D": ".pinn_problems",
    "KleinGordon": ".pinn_problems",
    "LagrangianTransport": ".pinn_lagrangian",
    "LearningRateAnnealing": ".loss_balancing",
    "LossBalancing": ".loss_balancing",
    "LOSSES": ".losses",
    "LotkaVolterraHidden": ".pinn_hidden",
    "OperatorLoss": ".losses",
    "PDEProblem": ".pinn_problems",
    "Poisson1D": ".pinn_problems",
    "ReactionDiffusionHidden": ".pinn_hidden",
    "relative_l2": ".losses",
    "standardize": ".pinn_problems",
}
__all__ = sorted(_EXPORTS)
# old names of the losses moved to neuralsolvers.train, for one release (`losses` forwards them, warning)
_MOVED = dict.fromkeys(("dcdm_loss", "pcg_residual_loss", "proximal_matching_loss"), ".losses")
__getattr__, __dir__ = lazy_exports(__name__, {**_EXPORTS, **_MOVED})
