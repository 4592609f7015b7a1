"""Figures shared by training callbacks and the evaluation stage (matplotlib, no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["plot_predictions"]


def plot_predictions(
    targets: np.ndarray,
    predictions: np.ndarray,
    points: np.ndarray | None = None,
    title: str = "prediction against truth",
) -> Figure:
    """Prediction against truth for a few samples.

    1D outputs ``(n, P)`` (with ``points`` ``(P,)`` or ``(P, 1)``) are drawn as curves, one panel per
    sample; 2D fields ``(n, H, W)`` (or ``(n, 1, H, W)``, or ``(n, s²)`` at the ``(s², 2)`` nodes of
    a flattened square grid) as truth / prediction / error rows.
    """
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    if targets.ndim == 4 and targets.shape[1] == 1:
        targets, predictions = targets[:, 0], predictions[:, 0]
    side = int(round(np.sqrt(targets.shape[-1]))) if targets.ndim == 2 else 0
    if points is not None and np.ndim(points) == 2 and np.shape(points)[1] == 2 and side**2 == targets.shape[-1]:
        targets, predictions, points = targets.reshape(-1, side, side), predictions.reshape(-1, side, side), None
    n = len(targets)
    if targets.ndim == 2:
        x = np.arange(targets.shape[1]) if points is None else np.asarray(points).reshape(-1)
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 2.8), squeeze=False)
        for i, ax in enumerate(axes[0]):
            ax.plot(x, targets[i], "k-", lw=2, label="truth")
            ax.plot(x, predictions[i], "r--", lw=1.5, label="prediction")
            error = np.linalg.norm(predictions[i] - targets[i]) / max(np.linalg.norm(targets[i]), 1e-12)
            ax.set_title(f"sample {i}: rel. L2 {error:.2e}", fontsize=9)
            ax.set_xlabel("x")
        axes[0][0].legend(fontsize=8)
    elif targets.ndim == 3:
        fig, axes = plt.subplots(3, n, figsize=(2.8 * n, 8), squeeze=False)
        for i in range(n):
            for row, (field, name) in enumerate(
                [(targets[i], "truth"), (predictions[i], "prediction"), (predictions[i] - targets[i], "error")]
            ):
                image = axes[row][i].imshow(field.T, origin="lower", cmap="RdBu_r" if row == 2 else "viridis")
                axes[row][i].set_title(f"{name} {i}", fontsize=9)
                axes[row][i].axis("off")
                fig.colorbar(image, ax=axes[row][i], fraction=0.046)
    else:
        raise ValueError(f"cannot plot outputs of shape {targets.shape}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
