"""Learned preconditioners, trained without solutions: DCDM on Krylov vectors and the neural
multigrid on random scenes; the modules, their data modules and their losses."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "dcdm_loss": ".losses",
    "DCDMModule": ".dcdm",
    "KrylovDataModule": ".krylov_data",
    "NeuralMultigridModule": ".neural_multigrid",
    "pcg_residual_loss": ".losses",
    "SceneDataModule": ".scene_data",
}
__all__ = sorted(_EXPORTS)
# DCDMModule's old name, for one release (it warns)
__getattr__, __dir__ = lazy_exports(__name__, {**_EXPORTS, "PreconditionerModule": ".dcdm"})
