"""Load trained networks from checkpoints without Lightning.

Checkpoints written by the training modules carry ``neuralsolvers_model``: the registered model name
and its constructor arguments. [`load`][neuralsolvers.checkpoints.load] rebuilds the network from them and loads its weights with
``torch.load(weights_only=True)``: no code is unpickled. Every read first checks the file's
integrity: the CRC of every record of the zip archive, then the SHA-256 of the weights that `fit`
records in the checkpoint (`weights_checksum`); a damaged or truncated file is one `CheckpointError`
naming it. Inside `trusting_checkpoints()` (the command line's ``--trust-checkpoint``) a
checkpoint may also name classes and functions beyond tensors and plain data: each is imported and
allowed for weights-only loading, and named on stderr; the block's `CheckpointTrust` keeps which
files it allowed. `load_preconditioner` turns a learned-preconditioner checkpoint into a ready
preconditioner for a given system, by the kind its record names (the registry of
`neuralsolvers.solvers.learned.kinds`); `preconditioner_from_checkpoint` does it from a checkpoint
already read, for any number of systems.

What training cost (`training_time`, `device_hours`, `break_even`, `break_even_cell`) moved to
`neuralsolvers.evaluate.economics`; the old names here still work for one release, with a
`DeprecationWarning`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import pickle
import sys
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralsolvers.errors import CheckpointError
from neuralsolvers.models.registry import build_model
from neuralsolvers.solvers.learned.kinds import (
    FIELD_KIND,
    NEURAL_MULTIGRID_KIND,
    LearnedPreconditioner,
    preconditioner_kind,
)
from neuralsolvers.solvers.preconditioners import Preconditioner
from neuralsolvers.solvers.system import normal_device

__all__ = [
    "CHECKSUM_KEY", "CheckpointTrust", "checkpoint_globals", "load", "load_preconditioner", "model_from_checkpoint",
    "preconditioner_from_checkpoint", "read_checkpoint", "trust_if_asked", "trusting_checkpoints", "weights_checksum",
]  # fmt: skip

_MOVED = ("break_even", "break_even_cell", "device_hours", "training_time")  # to neuralsolvers.evaluate.economics


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


class CheckpointTrust:
    """The checkpoints trusted inside one `trusting_checkpoints()` block: each file's own globals are
    allowed (and named on stderr) the first time it is read, until the block ends.

    Args:
        stack: the block's exit stack; each allowance is entered on it and ends with it.
    """

    def __init__(self, stack: contextlib.ExitStack):
        self.stack = stack
        self.files: set[Path] = set()  # the files whose globals are allowed, resolved

    def allow(self, path: str | Path) -> None:
        """Allow the globals ``path`` names (printed to stderr), once per file."""
        resolved = Path(path).resolve()
        if resolved in self.files:
            return
        allowed = checkpoint_globals(path)
        self.files.add(resolved)
        if allowed:
            print(f"trusting {path}: allowing {', '.join(allowed)}", file=sys.stderr)
            self.stack.enter_context(torch.serialization.safe_globals(list(allowed.values())))


_active_trust: ContextVar[CheckpointTrust | None] = ContextVar("neuralsolvers_checkpoint_trust", default=None)


@contextlib.contextmanager
def trusting_checkpoints() -> Iterator[CheckpointTrust]:
    """Within it, `trust_if_asked` (called by `read_checkpoint` and the training command for
    ``--ckpt_path``) allows each checkpoint's own globals until the block ends; yields the block's
    `CheckpointTrust` (blocks nest: the inner one is active until it ends)."""
    with contextlib.ExitStack() as stack:
        trust = CheckpointTrust(stack)
        token = _active_trust.set(trust)
        try:
            yield trust
        finally:
            _active_trust.reset(token)


def trust_if_asked(path: str | Path) -> None:
    """Inside `trusting_checkpoints`: allow the globals ``path`` names (printed to stderr); otherwise nothing."""
    trust = _active_trust.get()
    if trust is not None and Path(path).is_file():
        trust.allow(path)


CHECKSUM_KEY = "neuralsolvers_weights_sha256"  # written by the training modules beside the state dict
ZIP_MAGIC = b"PK\x03\x04"  # torch.save's archive format; older torch files are one pickle stream


def weights_checksum(state_dict: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a state dict: every entry's name, dtype, shape and bytes, in name order, so the
    same weights give the same digest on any device and after any save and load."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        value = state_dict[name]
        digest.update(name.encode())
        if isinstance(value, torch.Tensor):
            flat = value.detach().to("cpu").contiguous().reshape(-1)
            digest.update(f"{flat.dtype}{tuple(value.shape)}".encode())
            digest.update(flat.view(torch.uint8).numpy())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def _check_archive(path: Path) -> None:
    """Refuse a damaged or truncated zip archive: its directory must read and every record must
    match its CRC-32 (``torch.load`` checks neither)."""
    with path.open("rb") as file:
        if file.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            return  # not an archive: torch.load judges it
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except Exception as error:  # noqa: BLE001  whatever a damaged directory makes zipfile raise (fuzzed)
        raise CheckpointError(f"{path}: damaged or truncated checkpoint ({type(error).__name__}: {error})") from None
    if damaged is not None:
        raise CheckpointError(f"{path}: damaged checkpoint: the bytes of its record {damaged} do not match their CRC")


def _check_weights(path: Path, checkpoint: Any) -> None:
    """Refuse a checkpoint whose weights differ from the checksum written with them (none recorded: nothing to check)."""
    recorded = checkpoint.get(CHECKSUM_KEY) if isinstance(checkpoint, dict) else None
    if recorded is not None and weights_checksum(checkpoint.get("state_dict", {})) != recorded:
        raise CheckpointError(f"{path}: damaged checkpoint: its weights do not match the checksum written with them")


def _unsafe_names(path: Path) -> str:
    """The classes and functions a checkpoint names beyond the weights-only allowlist, for a message."""
    try:
        return ", ".join(torch.serialization.get_unsafe_globals_in_checkpoint(str(path))) or "unnamed"
    except Exception:  # noqa: BLE001  a file too damaged to list them: the refusal stands without the names
        return "names unreadable"


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint dict, read safely (``weights_only=True``; see [`trusting_checkpoints`][neuralsolvers.checkpoints.trusting_checkpoints]) after
    checking its integrity (archive CRCs, weights checksum); every error names the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        _check_archive(path)
        trust_if_asked(path)
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
        _check_weights(path, checkpoint)
        return checkpoint
    except CheckpointError:
        raise
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path}: refused, it holds Python objects beyond tensors and plain data ({_unsafe_names(path)}) and "
                              "loading them would run code from the file; only if you trust its source: pass --trust-checkpoint "
                              "(in Python: with neuralsolvers.checkpoints.trusting_checkpoints())") from None  # fmt: skip
    except Exception as error:  # noqa: BLE001  whatever a damaged file makes the unpickler raise (fuzzed)
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None


def load(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The trained network of a checkpoint, in eval mode, ready to call on new inputs.

    Args:
        path: a ``.ckpt`` file written by ``neuralsolvers fit``.
        map_location: device to load the weights on.
    """
    map_location = normal_device(map_location)  # a device this machine lacks: one line before reading
    return model_from_checkpoint(read_checkpoint(path, map_location), path).to(map_location)


PRECONDITIONER_RECORD = "neuralsolvers_preconditioner"
MULTIGRID_KIND = NEURAL_MULTIGRID_KIND  # the record's kind for a learned multigrid cycle (no field wrapping)
# the kind of the checkpoints written before the record, by model name (a DCDM network: DCDM's field wrapping)
KINDS_BEFORE_RECORDS = {"dcdm": FIELD_KIND, "neural_multigrid": NEURAL_MULTIGRID_KIND}


def preconditioner_from_checkpoint(checkpoint: dict, path: str | Path = "checkpoint") -> LearnedPreconditioner:
    """The learned preconditioner of an already read checkpoint ([`read_checkpoint`][neuralsolvers.checkpoints.read_checkpoint]): its network (eval
    mode), kind and record, which builds the preconditioner of any number of systems
    (``learned(A, grid=..., mask=..., device=...)``); ``path`` names it in errors.

    The kind is the record's ``kind`` (a record without one: ``field``, a grid network's wrapping),
    looked up in the registry of `neuralsolvers.solvers.learned.kinds`; a checkpoint written before
    records gets its model's kind (`KINDS_BEFORE_RECORDS`).

    Raises:
        CheckpointError: not a learned-preconditioner checkpoint, an unknown kind (the known ones
            named), or a network that cannot be rebuilt.
    """
    spec = checkpoint.get("neuralsolvers_model") or {}
    record = checkpoint.get(PRECONDITIONER_RECORD)
    if record is None and spec.get("name") not in KINDS_BEFORE_RECORDS:
        raise CheckpointError(f"{path}: model {spec.get('name')!r} is not a learned preconditioner "
                              f"(no {PRECONDITIONER_RECORD} record in the checkpoint)")  # fmt: skip
    if record is not None and not isinstance(record, Mapping):
        raise CheckpointError(f"{path}: its {PRECONDITIONER_RECORD} record is a {type(record).__name__}, not a mapping")
    network = model_from_checkpoint(checkpoint, path)  # first: a model's module may register its own kind
    kind = KINDS_BEFORE_RECORDS[spec["name"]] if record is None else record.get("kind", FIELD_KIND)
    try:
        preconditioner_kind(kind)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    return LearnedPreconditioner(network, kind, None if record is None else dict(record), str(path))


def load_preconditioner(
    checkpoint: str | Path, A: Any, *, grid: Sequence[int] | None = None, mask: Any = None,
    device: str | torch.device | None = None,
) -> Preconditioner:  # fmt: skip
    """The learned preconditioner of ``checkpoint`` for the system matrix ``A``, ready for a solver.

    The checkpoint's record (``neuralsolvers_preconditioner``) names the kind of learned
    preconditioner, and the kind's builder, from the registry of
    [`neuralsolvers.solvers.learned.kinds`][neuralsolvers.solvers.learned.kinds], makes it:

    - ``field`` (DCDM and other grid networks; DCDM checkpoints written before the record too): the
      record says how the network is wrapped (its inputs and their order, padding, normalization,
      masking, linearity, the solver it was trained for); ``A`` is a grid's system.
    - ``neural_multigrid``: its V-cycle for ``A``, a ``DiffusionStencil``: linear and SPD, for ``cg``
      and SciPy's ``cg``.
    - ``matrix`` (learned AMG, learned IC, ...): the network's preconditioner of any sparse
      symmetric positive definite ``A``, no grid needed.

    Args:
        checkpoint: a ``.ckpt`` of a learned preconditioner (``neuralsolvers fit``).
        A: the system: a [`DiffusionStencil`][neuralsolvers.solvers.stencils.DiffusionStencil] (grid and mask come from
            it) or any matrix the solvers take (SciPy, NumPy, torch).
        grid: for a ``field`` network, the grid whose cells are ``A``'s unknowns in C order (needed
            unless ``A`` is a stencil).
        mask: for a ``field`` network, bool array of the grid's shape, True on unknowns, False on
            obstacle cells (whose rows of ``A`` are the identity); default every cell is an unknown.
        device: where the network runs (default ``A``'s device, the CPU for SciPy/NumPy).

    Returns:
        A preconditioner of ``A``'s size, dtype and device; ``.solver`` is the solver to use it
            with (``M.solver(A, b, M=M)``), ``.linear`` / ``.linear_spd`` say what it is.

    Raises:
        CheckpointError: not a learned-preconditioner checkpoint, an unknown kind, or unreadable.
        ValueError: grid, mask or dimension do not fit the network or ``A`` (both sides named); a
            grid kind given a plain matrix without ``grid``; for ``matrix``, an ``A`` that is not
            square, not symmetric or not finite.
    """
    device = None if device is None else normal_device(device)  # a device this machine lacks: one line before reading
    learned = preconditioner_from_checkpoint(read_checkpoint(checkpoint), checkpoint)
    return learned(A, grid=grid, mask=mask, device=device)


def model_from_checkpoint(checkpoint: dict, path: str | Path = "checkpoint") -> nn.Module:
    """The network of an already read checkpoint ([`read_checkpoint`][neuralsolvers.checkpoints.read_checkpoint]), in eval mode; ``path``
    names it in errors."""
    spec = checkpoint.get("neuralsolvers_model")
    if not isinstance(spec, dict) or "name" not in spec:
        raise CheckpointError(f"{path}: not a neuralsolvers checkpoint (no model specification in it)")
    try:
        model = build_model(spec["name"], spec.get("init_args", {}))
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: model {spec['name']!r} cannot be rebuilt from the arguments it records ({error})") from None
    prefix = "model."
    state = {key[len(prefix) :]: value for key, value in checkpoint.get("state_dict", {}).items() if key.startswith(prefix)}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        detail = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise CheckpointError(f"{path}: weights do not fit model {spec['name']!r} (written by an older version of it? retrain it): {detail}") from None
    return model.eval()


def __getattr__(name: str) -> Any:
    """The names that moved to `neuralsolvers.evaluate.economics`, with a `DeprecationWarning` (for one
    release); imported when asked for, so that loading checkpoints needs nothing from `evaluate`."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"neuralsolvers.checkpoints.{name} moved to neuralsolvers.evaluate.economics.{name}; "
                  "the old name goes in the next release", DeprecationWarning, stacklevel=2)  # fmt: skip
    return getattr(importlib.import_module("neuralsolvers.evaluate.economics"), name)
