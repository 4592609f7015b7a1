"""Proximal splitting for ``min_x ½‖A x − y‖² + g(x)``: proximal gradient descent and ADMM, batched.

``A`` is a ``ForwardOperator`` (``forward``,
``adjoint``, ``norm_squared``) or ``None`` for the identity; ``prox(v, t)`` any
``neuralsolvers.solvers.proximal.operators`` operator (soft thresholding, Haar, TV, a trained
LPN). Both iterate a batch of problems ``(B, ...)`` and stop each sample when the relative change
``‖x_{k+1} − x_k‖ / ‖x_k‖`` falls below ``rtol`` (converged samples are frozen); histories are kept
per iteration and sample. Both take ``rtol`` and ``maxiter`` like the Krylov solvers.

* ``pgd``: ``x ← prox(x − η Aᵀ(A x − y), η)``, ``η = 1/‖AᵀA‖`` by default.
* ``admm``: scaled ADMM on ``x = z``: ``x ← (AᵀA + ρI)⁻¹(Aᵀy + ρ(z − u))`` by batched CG
  (warm-started, to ``cg_rtol``), ``z ← prox(x + u, 1/ρ)``, ``u ← u + x − z``; returns ``z`` (the
  prox output, where the prior holds) and the primal residual ``‖x − z‖`` and dual residual
  ``ρ‖z_k − z_{k−1}‖`` histories. With ``box = (lo, hi)`` a third term, the indicator of
  ``[lo, hi]``, gets its own copy ``w`` of ``x`` (consensus ADMM on ``x = z``, ``x = w``):
  ``x ← (AᵀA + 2ρI)⁻¹(Aᵀy + ρ(z − u) + ρ(w − v))``, ``w ← clip(x + v)``, ``v ← v + x − w``. The
  prox then stays exactly a prox (a clamp composed with it would not be), and the iterates are
  held near the range the prior was trained on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from neuralsolvers.solvers.krylov.conjugate_gradient import cg, renamed_option
from neuralsolvers.solvers.proximal.forward_operators import ForwardOperator, Identity

__all__ = ["ProximalResult", "admm", "pgd"]


@dataclass
class ProximalResult:
    """Outcome of a splitting solve of a batch ``(B, ...)``.

    Attributes:
        x: the solution, shaped like the initial iterate.
        converged: ``(B,)`` bool, relative change below ``tol``.
        iterations: ``(B,)`` iterations until each sample stopped.
        changes: ``(iterations, B)`` relative change per iteration.
        primal_residuals: ADMM's ``‖x − z‖`` and ``ρ‖Δz‖`` per iteration (empty for PGD).
        dual_residuals: see `primal_residuals`.
        message: a summary; ``time``: wall seconds.
    """

    x: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor
    changes: torch.Tensor
    message: str
    time: float
    primal_residuals: torch.Tensor = field(default_factory=lambda: torch.empty(0))
    dual_residuals: torch.Tensor = field(default_factory=lambda: torch.empty(0))


def _norms(v: torch.Tensor) -> torch.Tensor:
    return v.flatten(1).norm(dim=1)


class _Stopping:
    """Per-sample relative-change test, frozen samples, histories."""

    def __init__(self, batch: int, tol: float, maxiter: int, device: torch.device):
        if not tol > 0 or maxiter < 1:
            raise ValueError(f"tol must be positive and maxiter ≥ 1, got {tol}, {maxiter}")
        self.tol, self.maxiter, self.start = tol, maxiter, time.perf_counter()
        self.active = torch.ones(batch, dtype=torch.bool, device=device)
        self.iterations = torch.zeros(batch, dtype=torch.long, device=device)
        self.changes: list[torch.Tensor] = []

    def update(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """The accepted iterate (``new`` where active), after recording the change."""
        change = _norms(new - old) / _norms(old).clamp_min(1e-30)
        if not bool(torch.isfinite(new).all()):
            raise FloatingPointError("NaN or Inf in the iterate (prox output or data)")
        self.iterations += self.active
        self.changes.append(torch.where(self.active, change, torch.zeros_like(change)))
        keep = self.active.reshape(-1, *([1] * (new.dim() - 1)))
        accepted = torch.where(keep, new, old)
        self.active &= change >= self.tol
        return accepted

    def result(self, x: torch.Tensor, **histories: torch.Tensor) -> ProximalResult:
        converged = ~self.active
        done = int(converged.sum())
        message = "converged" if bool(converged.all()) else f"{done}/{len(converged)} converged in {self.maxiter} iterations"
        return ProximalResult(
            x=x, converged=converged, iterations=self.iterations, changes=torch.stack(self.changes), message=message,
            time=time.perf_counter() - self.start, **histories,
        )


def _starting_images(y: torch.Tensor, A: ForwardOperator, x0: torch.Tensor | None) -> torch.Tensor:
    """``x0`` (copied) or ``Aᵀ y``, after checking that ``y`` is a batch the operator maps onto and
    that ``x0`` has the images' shape (``ValueError`` naming the shapes otherwise)."""
    if y.dim() < 2:
        raise ValueError(f"y must be a batch (B, ...) of measurements, got shape {tuple(y.shape)}")
    try:
        start = A.adjoint(y)
        fits = A.forward(start).shape == y.shape
    except RuntimeError as error:
        raise ValueError(f"measurements of shape {tuple(y.shape)} do not fit {type(A).__name__}: {error}") from None
    if not fits:
        raise ValueError(f"measurements of shape {tuple(y.shape)} do not fit {type(A).__name__} (it maps images to other shapes)")
    if x0 is None:
        return start
    if x0.shape != start.shape:
        raise ValueError(f"x0 must have the images' shape {tuple(start.shape)}, got {tuple(x0.shape)}")
    return x0.clone()


def pgd(
    y: torch.Tensor,
    prox: Callable[[torch.Tensor, float], torch.Tensor],
    A: ForwardOperator | None = None,
    x0: torch.Tensor | None = None,
    *,
    step: float | None = None,
    maxiter: int = 200,
    rtol: float = 1e-5,
    **deprecated: Any,
) -> ProximalResult:
    """Proximal gradient descent on ``½‖A x − y‖² + g(x)`` for a batch ``y`` ``(B, ...)``.

    Args:
        y: measurements; prox: ``prox(v, t)`` of ``t g``; A: forward operator (None: identity).
        x0: initial images (default ``Aᵀ y``).
        step: ``η`` (default ``1/‖AᵀA‖``; convergence for convex ``g`` needs ``η ≤ 1/‖AᵀA‖``).
        maxiter: iteration cap and relative-change tolerance (``tol=`` is its deprecated name).
        rtol: see `maxiter`.
    """
    rtol = renamed_option(deprecated, "tol", "rtol", rtol, "pgd")
    A = Identity() if A is None else A
    step = 1.0 / A.norm_squared() if step is None else step
    x = _starting_images(y, A, x0)
    stopping = _Stopping(len(x), rtol, maxiter, x.device)
    for _ in range(maxiter):
        new = prox(x - step * A.adjoint(A.forward(x) - y), step)
        x = stopping.update(x, new)
        if not bool(stopping.active.any()):
            break
    return stopping.result(x)


def admm(
    y: torch.Tensor,
    prox: Callable[[torch.Tensor, float], torch.Tensor],
    A: ForwardOperator | None = None,
    x0: torch.Tensor | None = None,
    *,
    rho: float = 1.0,
    maxiter: int = 200,
    rtol: float = 1e-5,
    cg_rtol: float = 1e-6,
    cg_maxiter: int = 100,
    box: tuple[float, float] | None = None,
    **deprecated: Any,
) -> ProximalResult:
    """Scaled ADMM on ``½‖A x − y‖² + g(z)``, ``x = z``, for a batch ``y`` ``(B, ...)``.

    Args:
        y: as in ``pgd`` (``x0`` default ``Aᵀ y``; ``z = x0``, ``u = 0``).
        prox: see `y`.
        A: see `y`.
        x0: see `y`.
        rho: penalty ``ρ`` (``prox`` is called with ``t = 1/ρ``; with an LPN, convergence theory
            wants ``ρ > ‖AᵀA‖``).
        maxiter: cap and tolerance on the relative change of ``z`` (``tol=``: deprecated name).
        rtol: see `maxiter`.
        cg_rtol: the x-update's CG tolerance and cap (all samples as columns of one solve).
        cg_maxiter: see `cg_rtol`.
        box: ``(lo, hi)``: add the indicator of ``lo ≤ x ≤ hi`` as a third term (module docstring).
    """
    rtol = renamed_option(deprecated, "tol", "rtol", rtol, "admm")
    if not rho > 0:
        raise ValueError(f"rho must be positive, got {rho}")
    if box is not None and not box[0] < box[1]:
        raise ValueError(f"box must be (lo, hi) with lo < hi, got {box}")
    A = Identity() if A is None else A
    x = _starting_images(y, A, x0)
    shape, batch = x.shape, x.shape[0]
    n = x[0].numel()
    copies = 1 if box is None else 2  # x = z, and x = w for the box

    class Normal:  # (AᵀA + ρI) on columns (n, B)
        def __init__(self) -> None:
            self.shape, self.dtype, self.device = (n, n), x.dtype, x.device

        def matmat(self, columns: torch.Tensor) -> torch.Tensor:
            images = columns.T.reshape(shape)
            return (A.normal(images) + copies * rho * images).reshape(batch, n).T

        def matvec(self, column: torch.Tensor) -> torch.Tensor:
            return self.matmat(column[:, None])[:, 0]

    normal, data = Normal(), A.adjoint(y)
    z, u = x.clone(), torch.zeros_like(x)
    if box is not None:
        w, v = x.clamp(*box), torch.zeros_like(x)
    stopping = _Stopping(batch, rtol, maxiter, x.device)
    primal, dual = [], []
    for _ in range(maxiter):
        target = z - u if box is None else z - u + w - v
        rhs = (data + rho * target).reshape(batch, n).T
        # AᵀA + ρI is symmetric by construction (and acts on the batch's columns only): no probe
        solve = cg(normal, rhs.contiguous(), x0=x.reshape(batch, n).T.contiguous(), rtol=cg_rtol, maxiter=cg_maxiter,
                   check_symmetry=False)  # fmt: skip
        x = solve.x.T.reshape(shape)
        new_z = prox(x + u, 1.0 / rho)
        dual.append(rho * _norms(new_z - z))
        moving = stopping.active.reshape(-1, *([1] * (x.dim() - 1)))
        z = stopping.update(z, new_z)
        u = torch.where(moving, u + x - z, u)
        gap = _norms(x - z)
        if box is not None:
            w = torch.where(moving, (x + v).clamp(*box), w)
            v = torch.where(moving, v + x - w, v)
            gap = torch.hypot(gap, _norms(x - w))
        primal.append(gap)
        if not bool(stopping.active.any()):
            break
    return stopping.result(z, primal_residuals=torch.stack(primal), dual_residuals=torch.stack(dual))
