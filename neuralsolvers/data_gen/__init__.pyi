"""Names of `neuralsolvers.data_gen`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .antiderivatives import (
    Antiderivative as Antiderivative,
)
from .antiderivatives import (
    antiderivative as antiderivative,
)
from .base import (
    Generator as Generator,
)
from .darcy import (
    Darcy2D as Darcy2D,
)
from .darcy import (
    subsample as subsample,
)
from .diffusion_reaction import (
    DiffusionReaction as DiffusionReaction,
)
from .diffusion_scenes import (
    COEFFICIENT_FAMILIES as COEFFICIENT_FAMILIES,
)
from .diffusion_scenes import (
    DiffusionScenes as DiffusionScenes,
)
from .diffusion_sorption import (
    DiffusionSorption as DiffusionSorption,
)
from .external import (
    import_neuralop_darcy as import_neuralop_darcy,
)
from .external import (
    load_neuralop_darcy as load_neuralop_darcy,
)
from .fe_elasticity import (
    FiniteElementElasticity as FiniteElementElasticity,
)
from .fe_elasticity import (
    load_elasticity as load_elasticity,
)
from .finite_elements import (
    FiniteElementDiffusion as FiniteElementDiffusion,
)
from .finite_elements import (
    load_matrices as load_matrices,
)
from .finite_elements import (
    load_systems as load_systems,
)
from .graphs import (
    PoreNetwork as PoreNetwork,
)
from .graphs import (
    ValueIteration as ValueIteration,
)
from .graphs import (
    load_graph_systems as load_graph_systems,
)
from .graphs import (
    load_graphs as load_graphs,
)
from .graphs import (
    to_pyg as to_pyg,
)
from .grf import (
    RBFField as RBFField,
)
from .grf import (
    SpectralField as SpectralField,
)
from .hidden_terms import (
    FisherKPPObservations as FisherKPPObservations,
)
from .hidden_terms import (
    LotkaVolterraObservations as LotkaVolterraObservations,
)
from .imaging import (
    ImagePatches as ImagePatches,
)
from .imaging import (
    LaplaceToy as LaplaceToy,
)
from .imaging import (
    laplace_map_prox as laplace_map_prox,
)
from .krylov import (
    KrylovVectors as KrylovVectors,
)
from .moving_obstacles import (
    MovingObstacles as MovingObstacles,
)
from .ode import (
    ODEOperator as ODEOperator,
)
from .pinn_references import (
    BurgersReference as BurgersReference,
)
from .pinn_references import (
    CavityReference as CavityReference,
)
from .pinn_references import (
    ConvectionReference as ConvectionReference,
)
from .pinn_references import (
    HelmholtzReference as HelmholtzReference,
)
from .pinn_references import (
    KleinGordonReference as KleinGordonReference,
)
from .poisson import (
    PoissonObstacles as PoissonObstacles,
)
from .pyamg_examples import (
    PyAMGExamples as PyAMGExamples,
)
from .pyamg_examples import (
    load_pyamg_examples as load_pyamg_examples,
)
from .sequences import (
    CrankNicolsonHeat as CrankNicolsonHeat,
)
from .sequences import (
    HeatSequence as HeatSequence,
)
from .store import (
    ShardedDataset as ShardedDataset,
)

__all__ = [
    'Antiderivative', 'antiderivative', 'BurgersReference', 'CavityReference', 'COEFFICIENT_FAMILIES',
    'ConvectionReference', 'CrankNicolsonHeat', 'Darcy2D', 'DiffusionReaction', 'DiffusionScenes',
    'DiffusionSorption', 'FiniteElementDiffusion', 'FiniteElementElasticity', 'FisherKPPObservations', 'Generator', 'HeatSequence', 'HelmholtzReference',
    'ImagePatches', 'import_neuralop_darcy', 'KleinGordonReference', 'KrylovVectors',
    'laplace_map_prox', 'LaplaceToy', 'load_elasticity', 'load_graph_systems', 'load_graphs', 'load_matrices', 'load_neuralop_darcy',
    'load_pyamg_examples', 'load_systems', 'LotkaVolterraObservations', 'MovingObstacles', 'ODEOperator', 'PoissonObstacles',
    'PoreNetwork', 'PyAMGExamples', 'RBFField', 'ShardedDataset', 'SpectralField', 'subsample', 'to_pyg',
    'ValueIteration',
]
