"""Grid networks as (nonlinear) preconditioners of flattened residuals, for ``fcg`` and ``hybrid``.

A neural operator trained on fields ``(batch, channels, H, W)`` is applied to residual columns
``(n, k)`` of a grid system (unknowns in C order of the ``H × W`` grid, ``n = H·W``, as in
:class:`~neuralsolvers.solvers.stencils.DiffusionStencil`). Each residual is scaled to unit norm
before the network and its output scaled back (the network never sees the residual's size, as in
HINTS), which makes the map positively homogeneous but not linear: only the flexible ``fcg`` and
``hybrid`` accept it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neuralsolvers.solvers.preconditioners import ModulePreconditioner

__all__ = ["FieldPreconditioner", "normalized_call"]


def normalized_call(fn: Callable[[torch.Tensor], torch.Tensor], r: torch.Tensor) -> torch.Tensor:
    """``ρ_j · fn(r / ρ)_j`` per column of ``r`` ``(n, k)`` with ``ρ_j = ‖r_j‖/√n`` its RMS value;
    a zero column gives zero.

    ``fn`` sees unit-RMS inputs (the scale of the unit-variance fields networks are trained on),
    so a network that is not homogeneous still acts at the scale it knows; the result has the
    units of ``fn``'s output times those of ``r``.
    """
    rms = torch.linalg.vector_norm(r, dim=0) / r.shape[0] ** 0.5
    scale = torch.where(rms > 0, rms, torch.ones_like(rms))
    return fn(r / scale) * rms


class FieldPreconditioner(ModulePreconditioner):
    """A network on grid fields as a preconditioner ``z = M(r)`` of ``(n,)`` or ``(n, k)`` residuals.

    Residual columns ``(n, k)`` become fields ``(k, 1, H, W)``; with ``pad = p`` they are zero-padded
    to ``(k, 1, H + 2p, W + 2p)`` (e.g. ``p = 1`` adds the Dirichlet boundary nodes, for networks
    trained on the full ``s × s`` node grid of Darcy with interior ``(s − 2)²``). With ``condition``
    the network gets ``(k, 2, H + 2p, W + 2p)``, channel 0 the condition (the same for every
    column), channel 1 the residual. The network returns ``k·(H + 2p)·(W + 2p)`` numbers per call
    (``(k, 1, H', W')`` or ``(k, H', W')``); the padding is cropped and the fields flattened back.

    Args:
        network: module or callable on fields, as above. It runs in its own dtype (that of its
            first parameter, else the residual's) under ``torch.no_grad``; the output is cast back.
        grid: ``(H, W)``, the interior grid of the unknowns.
        condition: fixed field ``(H + 2p, W + 2p)`` (e.g. the coefficient ``a``), or None.
        pad: zero nodes added on each side before the network and cropped after.
        normalize: scale each residual to unit RMS before the network and back after.
        dtype, device: of the residuals it is applied to.
    """

    def __init__(
        self,
        network: nn.Module | Callable[[torch.Tensor], torch.Tensor],
        grid: Sequence[int],
        condition: torch.Tensor | None = None,
        pad: int = 0,
        normalize: bool = True,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ):
        self.grid = tuple(int(s) for s in grid)
        if len(self.grid) != 2 or min(self.grid) < 1 or pad < 0:
            raise ValueError(f"grid must be two positive sizes and pad ≥ 0, got {grid} and {pad}")
        super().__init__(
            self._normalized if normalize else self._fields,
            self.grid[0] * self.grid[1],
            linear_spd=False,
            dtype=dtype,
            device=device,
        )
        self.network, self.pad = network, pad
        self.padded = (self.grid[0] + 2 * pad, self.grid[1] + 2 * pad)
        parameters = network.parameters() if isinstance(network, nn.Module) else iter(())
        self.network_dtype = next((p.dtype for p in parameters), None)
        if condition is not None and tuple(condition.shape) != self.padded:
            raise ValueError(
                f"condition must have shape {self.padded}, got {tuple(condition.shape)}"
            )
        self.condition = None if condition is None else condition.to(self.device)

    def _normalized(self, r: torch.Tensor) -> torch.Tensor:
        return normalized_call(self._fields, r)

    def _fields(self, r: torch.Tensor) -> torch.Tensor:
        """``(n, k) → (n, k)`` through the network on ``(k, channels, H + 2p, W + 2p)`` fields."""
        k, p = r.shape[1], self.pad
        dtype = self.network_dtype or r.dtype
        fields = F.pad(r.T.reshape(k, 1, *self.grid).to(dtype), (p, p, p, p))
        if self.condition is not None:
            condition = self.condition.to(dtype).expand(k, 1, *self.padded)
            fields = torch.cat([condition, fields], dim=1)
        out = self.network(fields).reshape(k, *self.padded)
        out = out[:, p : p + self.grid[0], p : p + self.grid[1]]
        return out.reshape(k, -1).T.to(r.dtype)
