"""Relaxation-parameter policies: choosing SOR/SSOR's ω online (fixed, Tsallis-INF bandits,
ChebCB contextual bandit), with regret and replay."""

from neuralsolvers._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)
