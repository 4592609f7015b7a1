"""Names of `neuralsolvers.solvers.omega`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .policies import (
    BinnedTsallisINF as BinnedTsallisINF,
)
from .policies import (
    ChebCB as ChebCB,
)
from .policies import (
    FixedOmega as FixedOmega,
)
from .policies import (
    RelaxationPolicy as RelaxationPolicy,
)
from .policies import (
    TsallisINF as TsallisINF,
)
from .policies import (
    omega_grid as omega_grid,
)
from .policies import (
    regret as regret,
)
from .policies import (
    replay as replay,
)
from .policies import (
    tsallis_probabilities as tsallis_probabilities,
)

__all__ = [
    'BinnedTsallisINF', 'ChebCB', 'FixedOmega', 'omega_grid', 'regret', 'RelaxationPolicy',
    'replay', 'tsallis_probabilities', 'TsallisINF',
]
