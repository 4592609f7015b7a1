"""Relaxation-parameter policies: choosing SOR/SSOR's ω online (fixed, Tsallis-INF bandits,
ChebCB contextual bandit), with regret and replay."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "BinnedTsallisINF": ".policies",
    "ChebCB": ".policies",
    "FixedOmega": ".policies",
    "omega_grid": ".policies",
    "regret": ".policies",
    "RelaxationPolicy": ".policies",
    "replay": ".policies",
    "tsallis_probabilities": ".policies",
    "TsallisINF": ".policies",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
