"""Learned preconditioners, trained without solutions: DCDM on Krylov vectors and the neural
multigrid on random scenes; the modules and their data modules."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "KrylovDataModule": ".krylov_data",
    "NeuralMultigridModule": ".neural_multigrid",
    "PreconditionerModule": ".dcdm",
    "SceneDataModule": ".scene_data",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
