"""Models register by name and record their constructor arguments, so a checkpoint rebuilds them.

A registered class gets ``init_args`` (a dict of plain numbers/strings/lists) filled in by its
constructor; ``build_model`` turns ``(name, init_args)`` back into the module.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, TypeVar

from torch import nn

from neuralsolvers.errors import CheckpointError

__all__ = ["BUILT_IN", "MODELS", "build_model", "model_spec", "register_model"]

MODELS: dict[str, type[nn.Module]] = {}
# the module of every built-in model, by registered name: a checkpoint imports only its own model's
# module (a test checks this table against the registry)
BUILT_IN: dict[str, str] = {
    "cgs": "neuralsolvers.models.cgs",
    "dcdm": "neuralsolvers.models.dcdm",
    "deeponet": "neuralsolvers.models.deeponet",
    "fno": "neuralsolvers.models.fno",
    "gnn_baseline": "neuralsolvers.models.gnn",
    "hidden_term_net": "neuralsolvers.models.pinn_nets",
    "lagrangian_net": "neuralsolvers.models.pinn_nets",
    "learned_amg": "neuralsolvers.models.learned_amg",
    "learned_ic": "neuralsolvers.models.learned_ic",
    "lpn": "neuralsolvers.models.lpn",
    "mgno": "neuralsolvers.models.mgno",
    "neural_multigrid": "neuralsolvers.models.neural_multigrid",
    "pinn_net": "neuralsolvers.models.pinn_nets",
}
M = TypeVar("M", bound=type[nn.Module])


def register_model(name: str):
    """Class decorator: register ``cls`` under ``name`` and record its constructor arguments."""

    def decorate(cls: M) -> M:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {MODELS[name]!r}")
        original_init = cls.__init__
        signature = inspect.signature(original_init)

        @functools.wraps(original_init)
        def init(self, *args: Any, **kwargs: Any) -> None:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self")
            original_init(self, *args, **kwargs)
            if type(self) is cls:
                self.init_args = _plain(arguments)

        cls.__init__ = init
        cls.registry_name = name
        MODELS[name] = cls
        return cls

    return decorate


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the arguments survive YAML/JSON and ``weights_only`` loads."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"model constructor arguments must be plain numbers/strings/lists, got {value!r}")


def model_spec(model: nn.Module) -> dict[str, Any]:
    """``{"name": ..., "init_args": {...}}`` of a registered model (stored in checkpoints)."""
    name = getattr(type(model), "registry_name", None)
    if name is None or not hasattr(model, "init_args"):
        raise TypeError(f"{type(model).__name__} is not a registered neuralsolvers model")
    return {"name": name, "init_args": dict(model.init_args)}


def build_model(name: str, init_args: dict[str, Any]) -> nn.Module:
    """Rebuild a registered model from its name and constructor arguments."""
    if name not in MODELS and name in BUILT_IN:
        importlib.import_module(BUILT_IN[name])
    if name not in MODELS:
        known = ", ".join(sorted(set(MODELS) | set(BUILT_IN)))
        raise CheckpointError(f"unknown model {name!r}; known models: {known}")
    return MODELS[name](**init_args)
