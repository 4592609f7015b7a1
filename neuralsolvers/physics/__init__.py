"""Physics for training, in torch only (no Lightning): PDE problems and residuals for PINNs,
hidden-term and Lagrangian variants, diffusion–sorption physics, hard constraints, loss balancing
and the relative errors of fields (the losses of operator learning)."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__, hidden={'dcdm_loss': '.losses', 'pcg_residual_loss': '.losses', 'proximal_matching_loss': '.losses'})
