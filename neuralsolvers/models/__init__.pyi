"""Names of `neuralsolvers.models`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .cgs import (
    CGS as CGS,
)
from .dcdm import (
    DCDMNet as DCDMNet,
)
from .deeponet import (
    DeepONet as DeepONet,
)
from .fno import (
    FNO as FNO,
)
from .gnn import (
    GNNBaseline as GNNBaseline,
)
from .learned_amg import (
    LearnedAMG as LearnedAMG,
)
from .learned_ic import (
    LearnedIncompleteCholesky as LearnedIncompleteCholesky,
)
from .lpn import (
    LPN as LPN,
)
from .mgno import (
    MgNO as MgNO,
)
from .mgno import (
    VCycle as VCycle,
)
from .mlp import (
    MLP as MLP,
)
from .neural_multigrid import (
    NeuralMultigrid as NeuralMultigrid,
)
from .pinn_nets import (
    HiddenTermNet as HiddenTermNet,
)
from .pinn_nets import (
    LagrangianNet as LagrangianNet,
)
from .pinn_nets import (
    PINNNet as PINNNet,
)
from .registry import (
    BUILT_IN as BUILT_IN,
)
from .registry import (
    MODELS as MODELS,
)
from .registry import (
    build_model as build_model,
)
from .registry import (
    model_spec as model_spec,
)
from .registry import (
    register_model as register_model,
)

__all__ = [
    'build_model', 'BUILT_IN', 'CGS', 'DCDMNet', 'DeepONet', 'FNO', 'GNNBaseline', 'HiddenTermNet',
    'LagrangianNet', 'LearnedAMG', 'LearnedIncompleteCholesky', 'LPN', 'MgNO', 'MLP', 'model_spec', 'MODELS',
    'NeuralMultigrid', 'PINNNet', 'register_model', 'VCycle',
]
