"""Names of `neuralsolvers.solvers.proximal`, for editors and type checkers; lazy_loader reads the same
stub to import each on first use."""

from .forward_operators import (
    ForwardOperator as ForwardOperator,
)
from .forward_operators import (
    GaussianBlur as GaussianBlur,
)
from .forward_operators import (
    Identity as Identity,
)
from .forward_operators import (
    SubsampledFourier as SubsampledFourier,
)
from .forward_operators import (
    random_mask as random_mask,
)
from .operators import (
    HaarThreshold as HaarThreshold,
)
from .operators import (
    NetworkProx as NetworkProx,
)
from .operators import (
    ProximalOperator as ProximalOperator,
)
from .operators import (
    SoftThreshold as SoftThreshold,
)
from .operators import (
    TotalVariation as TotalVariation,
)
from .splitting import (
    ProximalResult as ProximalResult,
)
from .splitting import (
    admm as admm,
)
from .splitting import (
    pgd as pgd,
)

__all__ = [
    'admm', 'ForwardOperator', 'GaussianBlur', 'HaarThreshold', 'Identity', 'NetworkProx', 'pgd',
    'ProximalOperator', 'ProximalResult', 'random_mask', 'SoftThreshold', 'SubsampledFourier',
    'TotalVariation',
]
