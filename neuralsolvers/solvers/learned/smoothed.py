"""A two-level preconditioner: damped-Jacobi smoothing around an inner (e.g. learned) correction.

    z ← ν sweeps of z + ω D⁻¹(r − A z) from z = 0      (pre-smoothing: the rough error)
    z ← z + N(r − A z)                                (inner correction: the smooth error)
    z ← ν sweeps of z + ω D⁻¹(r − A z)                (post-smoothing)

This is a two-grid cycle with the inner preconditioner ``N`` in the place of the coarse-grid
solve. A neural operator trained on smooth right-hand sides is accurate on smooth residuals and
poor on rough ones (which a Krylov method produces after a few steps); the smoothing removes the
rough part first, so the network only sees what it learned. With a symmetric ``N`` the cycle is
symmetric; a network is not, so use it with ``fcg``.
"""

from __future__ import annotations

import torch

from neuralsolvers.solvers.classical.jacobi import Jacobi
from neuralsolvers.solvers.operators import as_operator
from neuralsolvers.solvers.preconditioners import Preconditioner, as_preconditioner
from neuralsolvers.solvers.types import OperatorLike, PreconditionerLike

__all__ = ["SmoothedPreconditioner"]


class SmoothedPreconditioner(Preconditioner):
    """``M(r)``: ``sweeps`` damped-Jacobi sweeps, the inner correction, ``sweeps`` more sweeps.

    Args:
        A: the operator (anything ``as_operator`` takes), ``(n, n)``.
        inner: the inner preconditioner ``(n, k) → (n, k)`` (e.g. a
            ``FieldPreconditioner``), or None for smoothing alone.
        sweeps: ``ν`` pre- and post-smoothing sweeps.
        omega: Jacobi damping ``ω``.
    """

    def __init__(self, A: OperatorLike, inner: PreconditionerLike = None, sweeps: int = 4, omega: float = 2.0 / 3.0):
        if sweeps < 0 or not 0 < omega < 2:
            raise ValueError(f"need sweeps ≥ 0 and 0 < omega < 2, got {sweeps} and {omega}")
        self.A = as_operator(A)
        self.jacobi = Jacobi(self.A)
        self.inner = as_preconditioner(inner)
        self.sweeps, self.omega = sweeps, omega
        self.shape, self.dtype, self.device = self.A.shape, self.A.dtype, self.A.device
        self.linear = self.inner is None or self.inner.linear  # a nonlinear inner map makes the whole one nonlinear
        self.linear_spd = self.inner is None

    def _smooth(self, r: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        for _ in range(self.sweeps):
            z = z + self.omega * self.jacobi.apply(r - self.A.matmat(z))
        return z

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        single = r.dim() == 1
        r = r[:, None] if single else r
        z = self._smooth(r, torch.zeros_like(r))
        if self.inner is not None:
            z = z + self.inner.apply(r - self.A.matmat(z))
        z = self._smooth(r, z)
        return z[:, 0] if single else z
