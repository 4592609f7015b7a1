"""Proximal splitting (``pgd``, ``admm``), proximal operators (classical and learned) and the
imaging forward operators they solve with."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "admm": ".splitting",
    "ForwardOperator": ".forward_operators",
    "GaussianBlur": ".forward_operators",
    "HaarThreshold": ".operators",
    "Identity": ".forward_operators",
    "NetworkProx": ".operators",
    "pgd": ".splitting",
    "ProximalOperator": ".operators",
    "ProximalResult": ".splitting",
    "random_mask": ".forward_operators",
    "SoftThreshold": ".operators",
    "SubsampledFourier": ".forward_operators",
    "TotalVariation": ".operators",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
