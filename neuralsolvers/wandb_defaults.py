"""W&B mode defaults, with no Lightning or W&B import: offline unless the user logged in or chose."""

from __future__ import annotations

import netrc
import os
from pathlib import Path

__all__ = ["WANDB_FILES", "configure_wandb_defaults", "wandb_logged_in"]

# W&B's own files (artifact staging copies, its artifact cache, its debug logs), below the working directory
WANDB_FILES = {"WANDB_DATA_DIR": "runs/wandb-data", "WANDB_CACHE_DIR": "runs/wandb-cache"}

_set_here: dict[str, str] = {}  # the values this module chose, told apart from the user's own


def wandb_logged_in() -> bool:
    """True when an API key is available (``WANDB_API_KEY`` or a ``~/.netrc`` entry for W&B)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def configure_wandb_defaults() -> str:
    """Make runs offline unless the user chose a mode or logged in; returns the mode in force.

    Offline runs are written under ``runs/wandb/`` and can be uploaded later with ``wandb sync``.
    ``WANDB_MODE=disabled`` turns W&B off entirely.

    W&B's own files stay under ``runs/`` of the working directory too, not in the home directory:
    ``WANDB_DATA_DIR`` defaults to ``runs/wandb-data`` (the copy of each checkpoint logged as an
    artifact, kept there until ``wandb sync`` uploads it) and ``WANDB_CACHE_DIR`` to
    ``runs/wandb-cache`` (W&B's artifact cache and debug logs); ``rm -rf runs`` removes them with the
    runs. Either variable set by the user is kept.
    """
    if "WANDB_MODE" not in os.environ and not wandb_logged_in():
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    for name, directory in WANDB_FILES.items():
        if name not in os.environ or os.environ[name] == _set_here.get(name):  # re-resolved if the cwd changed
            os.environ[name] = _set_here[name] = str(Path(directory).absolute())
    return os.environ.get("WANDB_MODE", "online")
