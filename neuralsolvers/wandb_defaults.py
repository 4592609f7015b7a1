"""W&B mode defaults, with no Lightning or W&B import: offline unless the user logged in or chose."""

from __future__ import annotations

import netrc
import os

__all__ = ["configure_wandb_defaults", "wandb_logged_in"]


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
    """
    if "WANDB_MODE" not in os.environ and not wandb_logged_in():
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    return os.environ.get("WANDB_MODE", "online")
