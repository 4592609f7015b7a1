"""Problem-instance generators and the sharded HDF5 store (numpy/scipy; no training code)."""

from neuralsolvers.data_gen.antiderivative import Antiderivative, antiderivative
from neuralsolvers.data_gen.base import Generator
from neuralsolvers.data_gen.darcy import Darcy2D, subsample
from neuralsolvers.data_gen.diffusion_reaction import DiffusionReaction
from neuralsolvers.data_gen.diffusion_scenes import DiffusionScenes
from neuralsolvers.data_gen.diffusion_sorption import DiffusionSorption
from neuralsolvers.data_gen.external import import_neuralop_darcy, load_neuralop_darcy
from neuralsolvers.data_gen.graphs import PoreNetwork, ValueIteration, load_graphs, to_pyg
from neuralsolvers.data_gen.grf import RBFField, SpectralField
from neuralsolvers.data_gen.hidden_terms import FisherKPPObservations, LotkaVolterraObservations
from neuralsolvers.data_gen.imaging import ImagePatches, LaplaceToy, laplace_map_prox
from neuralsolvers.data_gen.krylov import KrylovVectors
from neuralsolvers.data_gen.moving_obstacles import MovingObstacles
from neuralsolvers.data_gen.ode import ODEOperator
from neuralsolvers.data_gen.pinn_references import (
    BurgersReference,
    CavityReference,
    ConvectionReference,
    HelmholtzReference,
    KleinGordonReference,
)
from neuralsolvers.data_gen.poisson import PoissonObstacles
from neuralsolvers.data_gen.sequences import CrankNicolsonHeat, HeatSequence
from neuralsolvers.data_gen.store import ShardedDataset

__all__ = [
    "Antiderivative",
    "BurgersReference",
    "CavityReference",
    "ConvectionReference",
    "CrankNicolsonHeat",
    "Darcy2D",
    "DiffusionReaction",
    "DiffusionScenes",
    "DiffusionSorption",
    "FisherKPPObservations",
    "Generator",
    "HeatSequence",
    "HelmholtzReference",
    "ImagePatches",
    "KleinGordonReference",
    "KrylovVectors",
    "LaplaceToy",
    "LotkaVolterraObservations",
    "MovingObstacles",
    "ODEOperator",
    "PoissonObstacles",
    "PoreNetwork",
    "RBFField",
    "ShardedDataset",
    "SpectralField",
    "ValueIteration",
    "antiderivative",
    "import_neuralop_darcy",
    "laplace_map_prox",
    "load_neuralop_darcy",
    "load_graphs",
    "subsample",
    "to_pyg",
]
