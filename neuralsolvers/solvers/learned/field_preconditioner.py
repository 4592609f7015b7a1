"""Grid networks as (nonlinear) preconditioners of flattened residuals, for ``fcg`` and ``hybrid``.

A network trained on fields ``(batch, channels, *grid)`` (2D or 3D) is applied to residual columns
``(n, k)`` of a grid system (unknowns in C order of the grid, ``n`` its size, as in
``DiffusionStencil``). Each residual is scaled to unit norm
before the network and its output scaled back (the network never sees the residual's size, as in
HINTS), which makes the map positively homogeneous but not linear: only the flexible ``fcg`` and
``hybrid`` accept it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neuralsolvers.solvers.operators import normal_device
from neuralsolvers.solvers.preconditioners import ModulePreconditioner
from neuralsolvers.solvers.types import DeviceLike

__all__ = ["FieldPreconditioner", "NetworkWrapping", "normalized_call"]

SOLVERS = ("cg", "fcg", "dcdm", "gmres", "hybrid")
INPUTS = ("mask", "residual")


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

    Residual columns ``(n, k)`` become fields ``(k, 1, *grid)`` (2D ``H × W`` or 3D ``D × H × W``,
    ``n`` their product, C order); with ``pad = p`` they are zero-padded by ``p`` on every side (e.g.
    ``p = 1`` adds the Dirichlet boundary nodes, for networks trained on the full ``s × s`` node grid
    of Darcy with interior ``(s − 2)²``). With ``condition`` the network gets ``(k, 2, *padded)``,
    channel 0 the condition (the same for every column), channel 1 the residual. The network returns
    ``k·prod(padded)`` numbers per call (``(k, 1, *padded)`` or ``(k, *padded)``); the padding is
    cropped, the result multiplied by ``output_mask`` if given, and the fields flattened back.

    Args:
        network: module or callable on fields, as above. It runs in its own dtype (that of its
            first parameter, else the residual's) under ``torch.no_grad``; the output is cast back.
        grid: the grid of the unknowns, 2 or 3 sizes.
        condition: fixed field of the padded grid's shape (e.g. the coefficient ``a`` or the fluid
            mask), or None.
        pad: zero nodes added on each side before the network and cropped after.
        normalize: scale each residual to unit RMS before the network and back after.
        output_mask: field of ``grid``'s shape the output is multiplied by (e.g. the fluid mask, so
            directions vanish on obstacle cells), or None.
        dtype: of the residuals it is applied to.
        device: see `dtype`.
        meant_for: name of the solver the network was trained for (``dcdm``, ``fcg``, ...); it is
            ``solver``. Default ``fcg``, the flexible method any such map may go into.
    """

    def __init__(
        self,
        network: nn.Module | Callable[[torch.Tensor], torch.Tensor],
        grid: Sequence[int],
        condition: torch.Tensor | None = None,
        pad: int = 0,
        normalize: bool = True,
        output_mask: torch.Tensor | None = None,
        dtype: torch.dtype = torch.float64,
        device: DeviceLike = "cpu",
        meant_for: str = "fcg",
    ):
        if meant_for not in SOLVERS:
            raise ValueError(f"meant_for must be one of {SOLVERS}, got {meant_for!r}")
        self.meant_for = meant_for
        self.grid = tuple(int(s) for s in grid)
        if len(self.grid) not in (2, 3) or min(self.grid) < 1 or pad < 0:
            raise ValueError(f"grid must be 2 or 3 positive sizes and pad ≥ 0, got {grid} and {pad}")
        super().__init__(
            self._normalized if normalize else self._fields,
            math.prod(self.grid),
            linear_spd=False,
            dtype=dtype,
            device=device,
        )
        self.network, self.pad = network, pad
        self.padded = tuple(s + 2 * pad for s in self.grid)
        parameters = network.parameters() if isinstance(network, nn.Module) else iter(())
        self.network_dtype = next((p.dtype for p in parameters), None)
        if condition is not None and tuple(condition.shape) != self.padded:
            raise ValueError(f"condition must have shape {self.padded}, got {tuple(condition.shape)}")
        if output_mask is not None and tuple(output_mask.shape) != self.grid:
            raise ValueError(f"output_mask must have the grid's shape {self.grid}, got {tuple(output_mask.shape)}")
        self.condition = None if condition is None else condition.to(self.device)
        self.output_mask = None if output_mask is None else output_mask.to(self.device, dtype).reshape(-1, 1)

    def _normalized(self, r: torch.Tensor) -> torch.Tensor:
        return normalized_call(self._fields, r)

    def _fields(self, r: torch.Tensor) -> torch.Tensor:
        """``(n, k) → (n, k)`` through the network on ``(k, channels, *padded)`` fields."""
        k, p = r.shape[1], self.pad
        dtype = self.network_dtype or r.dtype
        fields = F.pad(r.T.reshape(k, 1, *self.grid).to(dtype), (p, p) * len(self.grid))
        if self.condition is not None:
            condition = self.condition.to(dtype).expand(k, 1, *self.padded)
            fields = torch.cat([condition, fields], dim=1)
        out = self.network(fields).reshape(k, *self.padded)
        out = out[(slice(None), *(slice(p, p + s) for s in self.grid))]
        z = out.reshape(k, -1).T.to(r.dtype)
        return z if self.output_mask is None else z * self.output_mask


@dataclass(frozen=True)
class NetworkWrapping:
    """How a grid network is wrapped into a preconditioner: the record a learned-preconditioner
    checkpoint carries (``neuralsolvers_preconditioner``), so that
    ``neuralsolvers.load_preconditioner`` rebuilds exactly what training saw.

    Attributes:
        dim: spatial dimensions the network takes (2 or 3).
        inputs: its input channels in order: ``"mask"`` (the fluid mask, 1 on unknowns) and the
            ``"residual"`` (always last).
        pad: zero cells added on every side before the network, cropped after.
        normalize: residuals scaled to unit RMS before the network and back after.
        mask_output: the output is zeroed on obstacle cells.
        linear: whether the wrapped map is linear, and symmetric positive definite (then plain
            ``cg`` and SciPy take it).
        spd: see `linear`.
        solver: the solver it was trained for (``dcdm``, ``fcg``, ``cg``, ...).
    """

    dim: int
    inputs: tuple[str, ...] = ("residual",)
    pad: int = 0
    normalize: bool = True
    mask_output: bool = True
    linear: bool = False
    spd: bool = False
    solver: str = "fcg"

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        unknown = [name for name in self.inputs if name not in INPUTS]
        if unknown or not self.inputs or self.inputs[-1] != "residual" or len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"inputs must be distinct names from {INPUTS} ending with 'residual', got {list(self.inputs)}")
        if self.solver not in SOLVERS or self.pad < 0 or (self.spd and not self.linear):
            raise ValueError(f"solver must be one of {SOLVERS}, pad ≥ 0 and spd only with linear; got {self.solver!r}, {self.pad}, {self.spd}")

    def record(self) -> dict[str, Any]:
        """Plain data for a checkpoint (tensors and lists only, readable with ``weights_only``)."""
        return {**asdict(self), "inputs": list(self.inputs)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> NetworkWrapping:
        """The wrapping of a checkpoint's record; an unknown field is a ``ValueError`` naming it."""
        unknown = sorted(set(record) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"the preconditioner record has unknown fields {unknown} (written by a newer version?)")
        return cls(**{**record, "inputs": tuple(record.get("inputs", ("residual",)))})

    def build(
        self, network: nn.Module | Callable[[torch.Tensor], torch.Tensor], mask: torch.Tensor,
        dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu",
    ) -> FieldPreconditioner:  # fmt: skip
        """The preconditioner of ``network`` on the grid of ``mask`` (bool or 0/1, shape ``grid``,
        True on unknowns), applied to residuals of ``dtype`` on ``device``."""
        if mask.dim() != self.dim:
            raise ValueError(f"the network is {self.dim}D but the grid {'×'.join(map(str, mask.shape))} is {mask.dim()}D")
        fluid = mask.to(device=normal_device(device), dtype=torch.float32)
        condition = F.pad(fluid, (self.pad, self.pad) * self.dim) if "mask" in self.inputs else None
        preconditioner = FieldPreconditioner(
            network, tuple(fluid.shape), condition=condition, pad=self.pad, normalize=self.normalize,
            output_mask=fluid if self.mask_output else None, dtype=dtype, device=device, meant_for=self.solver,
        )
        preconditioner.linear, preconditioner.linear_spd = self.linear, self.spd
        return preconditioner
