"""Batched Levenberg–Marquardt and a differentiable least-squares layer (implicit backward).

For a batch of ``B`` small problems ``min_w ½‖r(w; θ_b)‖²`` with ``w`` ``(n,)`` and residual
``r`` ``(m,)`` (e.g. the weights of ``n`` basis functions that make a PDE and its initial/boundary
conditions hold at ``m`` points of one subdomain: one "expert" of PI-HC-MoE, Chalapathi et al.
2024), ``levenberg_marquardt`` runs all problems at once: Jacobians by ``torch.func.jacfwd``
under ``vmap``, steps ``(JᵀJ + μ diag(JᵀJ))δ = −Jᵀr`` (Marquardt's scaling), a step accepted
if it lowers that problem's cost (μ ÷ 3) and otherwise rejected (μ × 2), per problem. Near a
minimum the last Gauss–Newton steps change the cost by less than the rounding error of the
computed cost ``½Σr²`` (``|Δcost| ≤ 2mε·cost``, the summation bound for two ``m``-term sums), so
the cost cannot rank them; there a step is also accepted if it lowers ``‖Jᵀr‖∞``. Without that
tie-break the iteration stalls at ``‖Jᵀr‖∞ ≈ 1e-10`` on well-posed problems whenever rounding makes
such a step look uphill, far above a ``gtol`` of ``1e-13`` that it can reach. A problem has
converged when ``‖Jᵀr‖∞ ≤ gtol`` or, with ``ftol > 0``, when an accepted step lowered its cost by
less than ``ftol`` × the cost (MINPACK's relative reduction test); converged problems keep their
iterate, and the solve stops when all have converged or after ``maxiter`` iterations.

``least_squares_layer`` returns the minimizer as a differentiable function of the tensors that
define ``r`` (``θ``): backward by the implicit function theorem on the optimality condition
``g(w, θ) = J_wᵀ r = 0``: ``dw/dθ = −(∂g/∂w)⁻¹ ∂g/∂θ`` with the exact ``∂g/∂w`` (the Hessian of
the cost, by forward-mode differentiation of ``g``), one ``n × n`` solve per problem; memory does
not grow with the iterations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.func import jacfwd, vjp, vmap

__all__ = ["LeastSquaresResult", "least_squares_layer", "levenberg_marquardt"]

Residual = Callable[..., torch.Tensor]  # r(w (n,), *tensors of one problem) -> (m,)


@dataclass
class LeastSquaresResult:
    """Outcome of a batched Levenberg–Marquardt solve.

    Attributes:
        w: ``(B, n)`` minimizers; cost: ``(B,)`` final ``½‖r‖²``; gradient: ``(B,)`` final ``‖Jᵀr‖∞``.
        converged: ``(B,)`` bool (module docstring); iterations: iterations run; message: a summary.
    """

    w: torch.Tensor
    cost: torch.Tensor
    gradient: torch.Tensor
    converged: torch.Tensor
    iterations: int
    message: str


def _normal_gradient(residual: Residual) -> Callable[..., torch.Tensor]:
    """``g(w, *θ) = J_wᵀ r`` of one problem."""

    def g(w: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        r, pullback = vjp(lambda v: residual(v, *tensors), w)
        return pullback(r)[0]

    return g


def levenberg_marquardt(
    residual: Residual,
    w0: torch.Tensor,
    *tensors: torch.Tensor,
    maxiter: int = 50,
    gtol: float = 1e-10,
    ftol: float = 0.0,
    damping: float = 1e-3,
) -> LeastSquaresResult:
    """Minimize ``½‖r(w_b; θ_b)‖²`` for every problem ``b`` of the batch (module docstring).

    Args:
        residual: ``r(w, *tensors)`` of one problem, ``(n,) -> (m,)`` (pure torch, vmap-able).
        w0: ``(B, n)`` starting weights; tensors: per-problem data, leading dimension ``B``.
        maxiter: iteration cap (PI-HC-MoE: ≤ 50); gtol: convergence threshold on ``‖Jᵀr‖∞``;
        ftol: relative cost reduction below which an accepted step ends a problem (0: off);
        damping: initial ``μ``.
    """
    if w0.dim() != 2 or any(t.shape[0] != w0.shape[0] for t in tensors):
        raise ValueError("w0 must be (B, n) and every tensor must have the leading dimension B")
    jacobian, residuals = vmap(jacfwd(residual)), vmap(residual)
    w = w0.detach().clone()
    tensors = tuple(t.detach() for t in tensors)
    mu = torch.full((len(w),), damping, dtype=w.dtype, device=w.device)
    r = residuals(w, *tensors)
    cost = 0.5 * r.square().sum(1)
    J = jacobian(w, *tensors)  # (B, m, n), always at the current iterate
    gradient = torch.einsum("bmn,bm->bn", J, r)
    gradient_norm = gradient.abs().amax(1)
    rounding = 2 * r.shape[1] * torch.finfo(w.dtype).eps  # |Δcost| the computed costs cannot resolve
    converged = torch.zeros(len(w), dtype=torch.bool, device=w.device)
    iterations = 0
    for iterations in range(1, maxiter + 1):  # noqa: B007  (the count is reported)
        converged |= gradient_norm <= gtol
        if bool(converged.all()):
            break
        normal = J.transpose(1, 2) @ J
        diagonal = torch.diagonal(normal, dim1=1, dim2=2).clamp_min(1e-12)
        step = torch.linalg.solve(normal + torch.diag_embed(mu[:, None] * diagonal), -gradient)
        trial = w + step
        trial_r = residuals(trial, *tensors)
        trial_cost = 0.5 * trial_r.square().sum(1)
        trial_J = jacobian(trial, *tensors)
        trial_gradient = torch.einsum("bmn,bm->bn", trial_J, trial_r)
        trial_norm = trial_gradient.abs().amax(1)
        tie = ((trial_cost - cost).abs() <= rounding * cost) & (trial_norm < gradient_norm)  # module docstring
        better = ((trial_cost < cost) | tie) & ~converged
        converged |= better & (cost - trial_cost <= ftol * cost) & (ftol > 0)
        w = torch.where(better[:, None], trial, w)
        r = torch.where(better[:, None], trial_r, r)
        cost = torch.where(better, trial_cost, cost)
        J = torch.where(better[:, None, None], trial_J, J)
        gradient = torch.where(better[:, None], trial_gradient, gradient)
        gradient_norm = torch.where(better, trial_norm, gradient_norm)
        mu = torch.where(better, mu / 3, mu * 2)
    if not bool(torch.isfinite(w).all() and torch.isfinite(cost).all()):
        raise FloatingPointError("NaN or Inf in the Levenberg–Marquardt iterate (residual or data)")
    converged |= gradient_norm <= gtol
    done = int(converged.sum())
    message = "converged" if done == len(w) else f"{done}/{len(w)} converged in {maxiter} iterations"
    return LeastSquaresResult(w, cost, gradient_norm, converged, iterations, message)


class _LeastSquaresFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, residual: Residual, options: dict[str, Any], report: dict, w0: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        result = levenberg_marquardt(residual, w0, *tensors, **options)
        ctx.residual, report["result"] = residual, result
        ctx.save_for_backward(result.w, *tensors)
        return result.w

    @staticmethod
    def backward(ctx: Any, grad_w: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        w, *tensors = ctx.saved_tensors
        g = _normal_gradient(ctx.residual)
        hessian = vmap(jacfwd(g, argnums=0))(w, *tensors)  # ∂g/∂w, (B, n, n)
        adjoint = torch.linalg.solve(hessian.transpose(1, 2), grad_w)
        _, pullback = vjp(lambda *ts: vmap(g)(w, *ts), *tensors)
        return (None, None, None, None, *pullback(-adjoint))


def least_squares_layer(
    residual: Residual,
    w0: torch.Tensor,
    *tensors: torch.Tensor,
    maxiter: int = 50,
    gtol: float = 1e-10,
    ftol: float = 0.0,
    damping: float = 1e-3,
    return_result: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, LeastSquaresResult]:
    """The minimizers ``(B, n)`` of ``levenberg_marquardt``, differentiable in ``tensors`` by the
    implicit function theorem (module docstring); ``w0`` gets no gradient. With ``return_result``
    also the solve's ``LeastSquaresResult`` (convergence, cost, iterations)."""
    options = {"maxiter": maxiter, "gtol": gtol, "ftol": ftol, "damping": damping}
    report: dict[str, LeastSquaresResult] = {}
    w = _LeastSquaresFunction.apply(residual, options, report, w0, *tensors)
    return (w, report["result"]) if return_result else w
