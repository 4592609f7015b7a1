"""neuralsolvers: learned solvers (neural operators, learned preconditioners, learned proximal
operators, PINNs) trained from YAML configs and plugged into classical iterative solvers."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuralsolvers")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "load", "load_preconditioner"]


def __getattr__(name: str):
    if name in ("load", "load_preconditioner"):  # imported on first use: no torch at ``import neuralsolvers``
        from neuralsolvers import checkpoints

        return getattr(checkpoints, name)
    raise AttributeError(f"module 'neuralsolvers' has no attribute {name!r}")
