"""Learned proximal networks (Fang, Buchanan & Sulam, ICLR 2024): ``f = ∇ψ`` with ``ψ`` convex.

``ψ`` is an input-convex neural network (ICNN) plus ``α‖x‖²``:

    z₁ = σ(W₀ x + b₀),    z_{k+1} = σ(W_k⁺ z_k + R_k x_k + c_k),    ψ(x) = w⁺ · pool(z_L) + α‖x‖²

with ``σ`` the softplus of sharpness ``β`` (convex, non-decreasing), ``W_k⁺``/``w⁺`` kept
non-negative (``LPN.project`` after every optimizer step; initialized to ``exp(N(−10, 0.1))``),
``W₀`` and the input injections ``R_k`` of any sign. Each ``z_k`` is then a convex function of ``x``,
so ``ψ`` is convex, and ``f = ∇ψ`` (by autograd) is the proximal operator of a learned, possibly
nonconvex regularizer ``R`` (the paper's Theorem 1): ``f(y) = argmin_x ½‖y − x‖² + R(x)``. With
``α > 0`` ``ψ`` is strongly convex, so ``f`` is invertible (needed to evaluate ``R``, see
``learned_regularizer``).

Two backbones: ``dense`` for 1D signals ``(B, n)`` (fully connected), ``conv`` for images
``(B, C, H, W)`` with ``H = W = image_size`` (3×3 convolutions, three stride-2 levels, the input
bilinearly resized and injected at each, a last convolution covering the ``image_size/8`` map, then a
non-negative linear layer), the paper's image architecture at our patch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neuralsolvers.models.registry import register_model

__all__ = ["LPN", "learned_regularizer"]


@register_model("lpn")
class LPN(nn.Module):
    """``f(x) = ∇ψ(x)``, the exact proximal operator of a learned regularizer.

    From Fang, Buchanan and Sulam, "What's in a Prior? Learned Proximal Networks for Inverse
    Problems" (ICLR 2024, <https://arxiv.org/abs/2310.14344>). ``ψ`` is an input-convex network (module docstring), so ``f = ∇ψ`` is
    the proximal operator of a learned, possibly nonconvex regularizer ``R``:

        f(y) = argmin_x ½‖y − x‖² + R(x),   R(x) = ⟨y, x⟩ − ½‖x‖² − ψ(y) at x = f(y).

    Args:
        kind: ``dense`` (inputs ``(B, in_features)``) or ``conv`` (inputs ``(B, in_features, H, W)``).
        in_features: signal length (dense) or image channels (conv).
        hidden: width (dense units or conv channels).
        layers: hidden layers after the first (dense only; the conv backbone is fixed).
        beta: softplus sharpness ``β`` (the paper: 100 for images, 10 for the 1D toy).
        alpha: strong-convexity weight ``α ≥ 0`` of ``α‖x‖²``.
        image_size: side ``H = W`` of the images (conv only; a multiple of 8).
        convex: keep the constrained weights non-negative (``project``); False trains the same
            network without the constraint (``f`` is still a gradient, of a nonconvex ``ψ``): the
            contrast the paper draws.
        convex_init: ``exp`` (constrained weights ``exp(N(−10, 0.1))``, the paper's image models) or
            ``default`` (PyTorch's initialization, projected: the paper's 1D toy).

    Shapes:
        - **input:** ``x`` ``(B, in_features)`` signals (``dense``) or
          ``(B, in_features, image_size, image_size)`` images (``conv``), in the signal's units.
        - **output:** ``f(x)``, shaped like ``x``, in the same units (a denoised signal).
        - **potential(x):** ``ψ(x)``, ``(B,)``.
    """

    def __init__(
        self,
        kind: str = "dense",
        in_features: int = 1,
        hidden: int = 64,
        layers: int = 2,
        beta: float = 10.0,
        alpha: float = 0.0,
        image_size: int = 64,
        convex: bool = True,
        convex_init: str = "exp",
    ):
        super().__init__()
        if kind not in ("dense", "conv"):
            raise ValueError(f"kind must be 'dense' or 'conv', got {kind!r}")
        if min(in_features, hidden) < 1 or layers < 0 or beta <= 0 or alpha < 0:
            raise ValueError("in_features and hidden must be positive, layers ≥ 0, beta > 0, alpha ≥ 0")
        if convex_init not in ("exp", "default"):
            raise ValueError(f"convex_init must be 'exp' or 'default', got {convex_init!r}")
        if kind == "conv" and (image_size < 8 or image_size % 8):
            raise ValueError(f"image_size must be a positive multiple of 8, got {image_size}")
        self.kind, self.in_features, self.alpha, self.image_size = kind, in_features, alpha, image_size
        self.keeps_convexity = convex  # (self.convex holds the constrained layers)
        self.activation = nn.Softplus(beta=beta)
        if kind == "dense":
            self.first = nn.Linear(in_features, hidden)
            self.convex = nn.ModuleList([nn.Linear(hidden, hidden, bias=False) for _ in range(layers)])
            self.injections = nn.ModuleList([nn.Linear(in_features, hidden) for _ in range(layers)])
            self.output = nn.Linear(hidden, 1, bias=False)
            self.output_injection = nn.Linear(in_features, 1)
        else:
            self.first = nn.Conv2d(in_features, hidden, 3, padding=1)
            strides = (2, 1, 2, 1, 2)
            self.convex = nn.ModuleList([nn.Conv2d(hidden, hidden, 3, stride=s, padding=1, bias=False) for s in strides])
            self.injections = nn.ModuleList([nn.Conv2d(in_features, hidden, 3, stride=s, padding=1) for s in strides])
            self.sizes = [image_size // 2, image_size // 2, image_size // 4, image_size // 4, image_size // 8]
            self.last = nn.Conv2d(hidden, hidden, image_size // 8, bias=False)
            self.last_injection = nn.Conv2d(in_features, hidden, image_size // 8)
            self.output = nn.Linear(hidden, 1, bias=False)
        self.init_args = {"kind": kind, "in_features": in_features, "hidden": hidden, "layers": layers,
                          "beta": beta, "alpha": alpha, "image_size": image_size, "convex": convex,
                          "convex_init": convex_init}  # fmt: skip
        if convex_init == "exp":
            self._init_convex()
        self.project()

    def constrained(self) -> list[nn.Parameter]:
        """The weights kept non-negative."""
        modules = [*self.convex, self.output] + ([self.last] if self.kind == "conv" else [])
        return [module.weight for module in modules]

    def _init_convex(self) -> None:
        with torch.no_grad():
            for weight in self.constrained():
                weight.normal_(-10.0, 0.1).exp_()

    @torch.no_grad()
    def project(self) -> None:
        """Clamp the constrained weights at 0 (call after every optimizer step; no-op if not ``convex``)."""
        if not self.keeps_convexity:
            return
        for weight in self.constrained():
            weight.clamp_(min=0.0)

    def _check(self, x: torch.Tensor) -> None:
        if self.kind == "dense" and (x.dim() != 2 or x.shape[1] != self.in_features):
            raise ValueError(f"expected signals (B, {self.in_features}), got {tuple(x.shape)}")
        if self.kind == "conv" and (x.dim() != 4 or x.shape[1] != self.in_features or x.shape[2:] != (self.image_size,) * 2):
            raise ValueError(f"expected images (B, {self.in_features}, {self.image_size}, {self.image_size}), got {tuple(x.shape)}")

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """``ψ(x)``, ``(B,)``: convex in ``x`` while the constrained weights are non-negative."""
        self._check(x)
        z = self.activation(self.first(x))
        if self.kind == "dense":
            for convex, injection in zip(self.convex, self.injections, strict=True):
                z = self.activation(convex(z) + injection(x))
            psi = self.output(z)[:, 0] + self.output_injection(x)[:, 0]
        else:
            for convex, injection, size in zip(self.convex, self.injections, self.sizes, strict=True):
                resized = F.interpolate(x, size=(size * injection.stride[0],) * 2, mode="bilinear", align_corners=False)
                z = self.activation(convex(z) + injection(resized))
            small = F.interpolate(x, size=(self.image_size // 8,) * 2, mode="bilinear", align_corners=False)
            z = self.activation(self.last(z) + self.last_injection(small))
            psi = self.output(z.mean(dim=(2, 3)))[:, 0]
        return psi + self.alpha * x.flatten(1).square().sum(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``f(x) = ∇ψ(x)``, shaped like ``x``; differentiable (``create_graph``) when grad is enabled."""
        if torch.is_inference_mode_enabled():
            raise RuntimeError("LPN evaluates ∇ψ by autograd, which inference mode forbids: use torch.no_grad(), "
                               "or trainer.inference_mode=false for validate/test")  # fmt: skip
        create_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            point = x if x.requires_grad else x.detach().requires_grad_(True)
            psi = self.potential(point)
            (gradient,) = torch.autograd.grad(psi.sum(), point, create_graph=create_graph)
        return gradient


def learned_regularizer(model: LPN, x: torch.Tensor, steps: int = 500, tolerance: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """The learned regularizer ``R(x)`` (up to a constant) at points ``x``, by inverting the LPN.

    ``f = ∇ψ`` is the prox of ``R``; at ``x = f(y)``: ``R(x) = ⟨y, x⟩ − ½‖x‖² − ψ(y)``. The inverse
    ``y = f⁻¹(x)`` minimizes the convex ``ψ(y) − ⟨x, y⟩``, solved by L-BFGS (strong Wolfe line search)
    from ``y = x`` until the gradient ``f(y) − x`` is below ``tolerance`` (RMS per entry).

    Returns:
        ``R`` ``(B,)`` and the inversion residual ``‖f(y) − x‖`` per sample ``(B,)`` (check it).
    """
    target = x.detach()
    y = target.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([y], lr=1.0, max_iter=steps, tolerance_grad=tolerance, tolerance_change=0.0,
                                  history_size=20, line_search_fn="strong_wolfe")  # fmt: skip

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        value = (model.potential(y) - (target * y).flatten(1).sum(1)).sum()
        value.backward()
        return value

    optimizer.step(objective)
    y = y.detach()
    with torch.no_grad():
        residual = (model(y) - target).flatten(1).norm(dim=1)
        psi = model.potential(y)
    inner = (y * target).flatten(1).sum(1)
    return inner - 0.5 * target.flatten(1).square().sum(1) - psi, residual

