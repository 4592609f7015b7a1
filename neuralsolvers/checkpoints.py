"""Load trained networks from checkpoints without Lightning.

Checkpoints written by the training modules carry ``neuralsolvers_model``: the registered model name
and its constructor arguments. :func:`load` rebuilds the network from them and loads its weights with
``torch.load(weights_only=True)``: no code is unpickled. Inside :func:`trusting_checkpoints` (the
command line's ``--trust-checkpoint``) a checkpoint may also name classes and functions beyond tensors
and plain data: each is imported and allowed for weights-only loading, and named on stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralsolvers.errors import CheckpointError
from neuralsolvers.models.registry import build_model

__all__ = [
    "break_even", "break_even_cell", "checkpoint_globals", "device_hours", "load", "model_from_checkpoint", "read_checkpoint",
    "trust_if_asked", "trusting_checkpoints", "training_time",
]  # fmt: skip

_trust: contextlib.ExitStack | None = None  # open inside trusting_checkpoints()
_trusted: set[Path] = set()  # the files whose globals it allows


def _imported(name: str) -> Any:
    """The object ``module.qualified.name`` (the longest importable module prefix, then attributes)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ImportError(f"no module to import {name} from")


def checkpoint_globals(path: str | Path) -> dict[str, Any]:
    """The classes and functions a checkpoint names beyond torch's weights-only allowlist, imported
    (name → object). Loading with them allowed runs their code: only for files from a trusted source."""
    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    try:
        return {name: _imported(name) for name in names}
    except (ImportError, AttributeError) as error:
        raise CheckpointError(f"{path}: it needs {', '.join(names)}, which cannot be imported here ({error})") from None


@contextlib.contextmanager
def trusting_checkpoints() -> Iterator[None]:
    """Within it, :func:`trust_if_asked` (called by :func:`read_checkpoint` and the training command for
    ``--ckpt_path``) allows each checkpoint's own globals until the context ends."""
    global _trust
    with contextlib.ExitStack() as stack:
        _trust = stack
        try:
            yield
        finally:
            _trust = None
            _trusted.clear()


def trust_if_asked(path: str | Path) -> None:
    """Inside :func:`trusting_checkpoints`: allow the globals ``path`` names (printed to stderr); otherwise nothing."""
    if _trust is None or not Path(path).is_file() or Path(path).resolve() in _trusted:
        return
    allowed = checkpoint_globals(path)
    _trusted.add(Path(path).resolve())
    if allowed:
        print(f"trusting {path}: allowing {', '.join(allowed)}", file=sys.stderr)
        _trust.enter_context(torch.serialization.safe_globals(list(allowed.values())))


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint dict, read safely (``weights_only=True``; see :func:`trusting_checkpoints`); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        trust_if_asked(path)
        return torch.load(path, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{path}: refused, it holds objects beyond tensors and plain data ({first_line}); "
                              "pass --trust-checkpoint only if you trust its source") from None  # fmt: skip
    except Exception as error:  # noqa: BLE001  whatever a damaged file makes the unpickler raise (fuzzed)
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None


def load(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The trained network of a checkpoint, in eval mode, ready to call on new inputs.

    Args:
        path: a ``.ckpt`` file written by ``neuralsolvers fit``.
        map_location: device to load the weights on.
    """
    return model_from_checkpoint(read_checkpoint(path, map_location), path).to(map_location)


def model_from_checkpoint(checkpoint: dict, path: str | Path = "checkpoint") -> nn.Module:
    """The network of an already read checkpoint (:func:`read_checkpoint`), in eval mode; ``path``
    names it in errors."""
    spec = checkpoint.get("neuralsolvers_model")
    if not isinstance(spec, dict) or "name" not in spec:
        raise CheckpointError(f"{path}: not a neuralsolvers checkpoint (no model specification in it)")
    model = build_model(spec["name"], spec.get("init_args", {}))
    prefix = "model."
    state = {key[len(prefix) :]: value for key, value in checkpoint.get("state_dict", {}).items() if key.startswith(prefix)}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit model {spec['name']!r}: {error}") from None
    return model.eval()


def training_time(path: str | Path) -> dict | None:
    """``{"seconds", "device", "num_devices", "steps"}`` of the run that wrote the checkpoint (the
    :class:`~neuralsolvers.train.callbacks.TrainingClock`), or None for a checkpoint without it."""
    return read_checkpoint(path).get("training_time")


def device_hours(clock: dict | None) -> float | None:
    """Device-hours of a :func:`training_time` record (seconds × devices / 3600); None without one."""
    return None if clock is None else clock["seconds"] * clock["num_devices"] / 3600


def break_even(training_seconds: float, learned_seconds: float, classical_seconds: float) -> float | None:
    """Solves after which training has paid for itself: ``training / (classical − learned)`` per solve;
    None when the learned method is not faster (it never pays)."""
    saving = classical_seconds - learned_seconds
    return training_seconds / saving if saving > 0 else None


def break_even_cell(clock: dict | None, learned_seconds: float, classical_seconds: float | None) -> str | None:
    """:func:`break_even` for a table: None without a training record or a classical time, ``never``
    when the learned method is not faster, else the number of solves (3 digits)."""
    if clock is None or classical_seconds is None:
        return None
    solves = break_even(clock["seconds"], learned_seconds, classical_seconds)
    return "never" if solves is None else f"{solves:.3g}"
