"""Problem-instance generators and the sharded HDF5 store (numpy/scipy; no training code). Every name is imported on first use."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "Antiderivative": ".antiderivatives",
    "antiderivative": ".antiderivatives",
    "BurgersReference": ".pinn_references",
    "CavityReference": ".pinn_references",
    "ConvectionReference": ".pinn_references",
    "CrankNicolsonHeat": ".sequences",
    "Darcy2D": ".darcy",
    "DiffusionReaction": ".diffusion_reaction",
    "DiffusionScenes": ".diffusion_scenes",
    "DiffusionSorption": ".diffusion_sorption",
    "FisherKPPObservations": ".hidden_terms",
    "Generator": ".base",
    "HeatSequence": ".sequences",
    "HelmholtzReference": ".pinn_references",
    "ImagePatches": ".imaging",
    "import_neuralop_darcy": ".external",
    "KleinGordonReference": ".pinn_references",
    "KrylovVectors": ".krylov",
    "laplace_map_prox": ".imaging",
    "LaplaceToy": ".imaging",
    "load_graphs": ".graphs",
    "load_neuralop_darcy": ".external",
    "LotkaVolterraObservations": ".hidden_terms",
    "MovingObstacles": ".moving_obstacles",
    "ODEOperator": ".ode",
    "PoissonObstacles": ".poisson",
    "PoreNetwork": ".graphs",
    "RBFField": ".grf",
    "ShardedDataset": ".store",
    "SpectralField": ".grf",
    "subsample": ".darcy",
    "to_pyg": ".graphs",
    "ValueIteration": ".graphs",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
