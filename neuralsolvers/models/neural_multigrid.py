"""Neural multigrid: a small CNN that computes the local smoother and transfer stencils of a
geometric multigrid V-cycle from the cell types and coefficients of each level.

The network reads ``neuralsolvers.solvers.multigrid.neural.stencil_features`` (fluid mask,
face couplings and Dirichlet share as fractions of the diagonal: dimensionless, so the same weights
serve every level and grid size) through ``depth`` 3×3(×3) convolutions of ``hidden`` channels and
ReLU, then a 1×1(×1) output convolution to the raw stencil numbers. The output layer starts at zero, so the untrained network *is* the classical damped-Jacobi geometric multigrid;
the construction that keeps the cycle symmetric positive definite for any weights is in
``neuralsolvers.solvers.multigrid.neural``. Its receptive field is ``2·depth + 1`` cells per
level; the hierarchy, whose depth follows the grid, does the rest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from neuralsolvers.models.registry import register_model
from neuralsolvers.solvers.learned.kinds import NEURAL_MULTIGRID_KIND
from neuralsolvers.solvers.multigrid.cycle import CycleOptions
from neuralsolvers.solvers.multigrid.geometric import GeometricMultigrid
from neuralsolvers.solvers.multigrid.neural import (
    NeuralMultigridPreconditioner,
    StencilLayout,
)
from neuralsolvers.solvers.stencils import DiffusionStencil

__all__ = ["NeuralMultigrid"]


@register_model("neural_multigrid")
class NeuralMultigrid(nn.Module):
    """Learned stencils for a symmetric V-cycle.

    Learned multigrid in the line of Greenfeld, Galun, Kimmel, Yavneh and Basri, "Learning to
    Optimize Multigrid PDE Solvers" (ICML 2019, <https://arxiv.org/abs/1902.10248>) and Katrutsa, Daulbaev and Oseledets, "Black-box
    learning of multigrid parameters" (Journal of Computational and Applied Mathematics 368, 2020),
    on the geometric cycle of McAdams, Sifakis and Teran, "A Parallel Multigrid Poisson Solver for
    Fluids Simulation on Large Grids" (SCA 2010). On every level the network's raw numbers give the
    smoother ``S = D^{-1/2} T D^{-1/2}`` (``T`` symmetric with eigenvalues in ``[0.01, 1]``) and the
    transfer ``W`` (prolongation ``W P``, restriction ``(W P)ᵀ / 2^d``), so the cycle is SPD for any
    weights (``neuralsolvers.solvers.multigrid.neural``).

    The defaults are the shipped configurations' (``configs/neural_mg_poisson2d.yaml``,
    ``configs/neural_mg_poisson3d.yaml`` with ``dim=3``): per-cell weights from 2 convolutions of 8
    channels, 2 sweeps.

    Args:
        dim: 2 or 3.
        hidden: channels of the hidden convolutions.
        depth: number of hidden convolutions.
        kernel: their width, 3 (3×3(×3): each level's stencils see their neighbours' features, a
            receptive field of ``2·depth + 1`` cells) or 1 (a per-cell network: several times
            cheaper to set up on large grids).
        stencil: 1 (per-cell weights only: the cost of classical multigrid) or 3 (3×3(×3) smoother
            and transfer stencils).
        transfer: also learn the transfer stencil (else plain full weighting and its transpose).
        sweeps: of the cycle, as in ``CycleOptions`` (plain numbers and
            strings, so that a checkpoint's recorded arguments rebuild the model).
        coarsening: see `sweeps`.
        coarsest: see `sweeps`.
        galerkin: the Galerkin hierarchy (coarse operators ``Pᵀ A P``): the network reads each
            level's ``box_features`` and corrects the operator-dependent interpolation weights of
            Black Box Multigrid (``transfer``), so the untrained network is that classical cycle
            with damped Jacobi; else the re-discretised hierarchy with learned transfer ``W``.
        interpolation_range: with ``galerkin``, the learned factors on the interpolation weights
            lie in ``1 ± interpolation_range``.

    Attributes:
        cycle: the ``CycleOptions`` of the cycle (also those of the classical cycle it starts from).

    Shapes:
        - **input:** ``features`` ``(B, 2 + 2·dim, *grid)``: a level's ``stencil_features``
          (fluid mask, face couplings and Dirichlet share as fractions of the diagonal:
          dimensionless), on a 2D ``(H, W)`` or 3D ``(D, H, W)`` grid of any size; with
          ``galerkin`` ``(B, 3^dim + 1, *grid)``, its ``box_features``.
        - **output:** ``(B, layout.channels, *grid)``: raw stencil numbers (dimensionless; zero
          for the untrained network).
        - **preconditioner(A):** ``apply`` maps residuals ``(n,)`` or ``(n, k)`` (units of ``A x``,
          ``n = prod(A.grid)``) to ``z ≈ A⁻¹ r`` of the same shape (units of ``x``).
    """

    preconditioner_record = {"kind": NEURAL_MULTIGRID_KIND, "solver": "cg", "linear": True, "spd": True}  # its checkpoints' kind

    def __init__(
        self,
        dim: int = 2,
        hidden: int = 8,
        depth: int = 2,
        stencil: int = 1,
        transfer: bool = True,
        sweeps: int = 2,
        coarsening: str = "all",
        coarsest: int = 64,
        galerkin: bool = False,
        interpolation_range: float = 0.5,
        kernel: int = 3,
    ):
        super().__init__()
        if hidden < 1 or depth < 1 or kernel not in (1, 3):
            raise ValueError(f"hidden and depth must be positive and kernel 1 or 3, got {hidden}, {depth} and {kernel}")
        self.layout = StencilLayout(dim, stencil, transfer, galerkin, interpolation_range)
        hierarchy = {"coarse_operator": "galerkin", "interpolation": "operator_dependent"} if galerkin else {}
        self.cycle = CycleOptions(sweeps=sweeps, coarsening=coarsening, coarsest=coarsest, **hierarchy)
        self.dim = dim
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        layers: list[nn.Module] = []
        width = self.layout.features
        for _ in range(depth):
            layers += [conv(width, hidden, kernel_size=kernel, padding=kernel // 2), nn.ReLU()]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.outlet = conv(hidden, self.layout.channels, kernel_size=1)
        nn.init.zeros_(self.outlet.weight)
        nn.init.zeros_(self.outlet.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, F, *grid)`` features → ``(B, channels, *grid)`` raw stencil numbers."""
        return self.outlet(self.body(features))

    def preconditioner(self, A: DiffusionStencil, *, differentiable: bool = False, precision: str | None = None) -> NeuralMultigridPreconditioner:
        """The V-cycle for ``A`` (on ``A``'s device; in ``A``'s dtype, or in ``precision``, e.g.
        ``"float32"`` inside a float64 solve, as ``CycleOptions.precision``): linear and SPD, for
        ``cg``, SciPy's ``cg`` (``.as_linear_operator()``) and PyAMG's Krylov solvers.
        ``differentiable`` keeps the graph to the weights (training).

        Raises:
            ValueError: ``A`` is not a ``DiffusionStencil``, or its grid is not ``dim``-dimensional.
        """
        self.check_operator(A)
        options = self.cycle if precision is None else replace(self.cycle, precision=precision)
        return NeuralMultigridPreconditioner(A, self, self.layout, options=options, differentiable=differentiable)

    def classical_preconditioner(self, A: DiffusionStencil) -> GeometricMultigrid:
        """The classical geometric multigrid with this network's cycle (what the untrained network is)."""
        self.check_operator(A)
        return GeometricMultigrid(A, options=self.cycle)

    def check_operator(self, A: Any, name: str = "the neural multigrid") -> None:
        """One ``ValueError`` line (naming the network ``name``) when ``A`` is no ``DiffusionStencil`` of ``dim`` dimensions."""
        if not isinstance(A, DiffusionStencil):
            raise ValueError(f"{name} needs the system as a DiffusionStencil (grid, mask, coefficient, walls), "
                             f"which it coarsens; got a {type(A).__name__}")  # fmt: skip
        if len(A.grid) != self.dim:
            raise ValueError(f"{name} is {self.dim}D but the grid {'×'.join(map(str, A.grid))} is {len(A.grid)}D")
