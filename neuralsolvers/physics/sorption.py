"""The discrete physics of 1D diffusion–sorption on the generator's grid, for operator networks.

``DiffusionSorption`` writes trajectories ``u`` ``(S, num_t, num_x)``
on equispaced nodes (t in seconds, x ∈ [0, 1]). Here the equation is checked on that grid by finite
differences, as PI-HC-MoE does (Chalapathi et al. 2024): ``u_t`` by the backward (BDF2)
difference in t (backward Euler at the first step), ``u_xx`` by the three-point second difference, at
every node with ``t > 0`` and ``0 < x < 1`` (the residual region); the initial row, the inflow
column ``u(t, 0) = 1`` and the outflow column ``u + D u_x = 0`` (backward difference) are the
conditions. A field with zero residual is the BDF2 time-stepping solution, a stable scheme (the
central differences of PI-HC-MoE's code make it leapfrog, which is unstable for diffusion), and the
generator writes exactly that solution as ``u`` (and the accurate-in-time one as ``u_fine``, 0.5%
away at 129 × 101), so the error against ``u`` can go to zero. Every operator here is linear in the field, so it applies as well to a stack of basis
functions ``(S, N, num_t, num_x)`` (the hard constraint contracts them with its weights after).
"""

from __future__ import annotations

import torch

from neuralsolvers.data_gen.diffusion_sorption import retardation
from neuralsolvers.errors import ConfigError

__all__ = ["DiffusionSorption1D"]


class DiffusionSorption1D:
    """``u_t = D / R(u) u_xx`` with its initial and boundary conditions, discretized on the data grid.

    Args:
        num_t: the stored times (``num_t`` equispaced in [0, t_final] seconds).
        t_final: see `num_t`.
        diffusivity: as the generator (PDEBench's values).
        porosity: see `diffusivity`.
        rho_s: see `diffusivity`.
        k_f: see `diffusivity`.
        n_f: see `diffusivity`.
        time_unit: seconds per unit of time in the residual (``None``: ``t_final``, the equation in
            the normalized time t / t_final: a residual r then makes an error of about r in u over
            the horizon, comparable with the initial and boundary misfits it is fitted beside;
            ``1.0``: per second, as PI-HC-MoE's code, where the residual is ~1e-3 and a
            least-squares fit of the conditions barely sees it).
    """

    def __init__(
        self,
        num_t: int = 101,
        t_final: float = 500.0,
        diffusivity: float = 5e-4,
        porosity: float = 0.29,
        rho_s: float = 2880.0,
        k_f: float = 3.5e-4,
        n_f: float = 0.874,
        time_unit: float | None = None,
    ):
        if num_t < 3 or not t_final > 0:
            raise ConfigError(f"DiffusionSorption1D needs num_t ≥ 3 and t_final > 0, got {num_t}, {t_final}")
        self.num_t, self.t_final, self.diffusivity = num_t, t_final, diffusivity
        self.time_unit = self.t_final if time_unit is None else time_unit
        self.constants = {"porosity": porosity, "rho_s": rho_s, "k_f": k_f, "n_f": n_f}

    @property
    def dt(self) -> float:
        return self.t_final / (self.num_t - 1)

    def inputs(self, u0: torch.Tensor) -> torch.Tensor:
        """Network input ``(S, 3, num_t, num_x)``: t / t_final, x and the initial field ``u0``
        ``(S, num_x)`` broadcast over t (PI-HC-MoE's FNO input)."""
        samples, num_x = u0.shape
        t = torch.linspace(0.0, 1.0, self.num_t, dtype=u0.dtype, device=u0.device)
        x = torch.linspace(0.0, 1.0, num_x, dtype=u0.dtype, device=u0.device)
        grid = torch.stack(torch.meshgrid(t, x, indexing="ij")).expand(samples, 2, self.num_t, num_x)
        return torch.cat([grid, u0[:, None, None, :].expand(samples, 1, self.num_t, num_x)], dim=1)

    def check_shape(self, u: torch.Tensor) -> None:
        """``ConfigError`` unless ``u`` is ``(..., num_t, num_x ≥ 4)``."""
        if u.dim() < 2 or u.shape[-2] != self.num_t or u.shape[-1] < 4:
            raise ConfigError(f"diffusion–sorption fields must be (..., num_t={self.num_t}, num_x ≥ 4), got {tuple(u.shape)}")

    def residual_terms(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``f``, ``f_t``, ``f_xx`` on the residual region, each ``(..., num_t − 1, num_x − 2)``, of a
        field or basis ``f`` ``(..., num_t, num_x)``."""
        dt, dx = self.dt, 1.0 / (f.shape[-1] - 1)
        first = (f[..., 1:2, 1:-1] - f[..., :1, 1:-1]) / dt
        later = (3 * f[..., 2:, 1:-1] - 4 * f[..., 1:-1, 1:-1] + f[..., :-2, 1:-1]) / (2 * dt)
        f_t = torch.cat([first, later], dim=-2)
        f_xx = (f[..., 1:, :-2] - 2 * f[..., 1:, 1:-1] + f[..., 1:, 2:]) / dx**2
        return f[..., 1:, 1:-1], f_t, f_xx

    def pde_residual(self, u: torch.Tensor, u_t: torch.Tensor, u_xx: torch.Tensor) -> torch.Tensor:
        """``time_unit · (u_t − D / R(u) · u_xx)``, elementwise (``u_t`` and ``D`` per second)."""
        return self.time_unit * (u_t - self.diffusivity / retardation(u, **self.constants) * u_xx)

    @staticmethod
    def initial_rows(f: torch.Tensor) -> torch.Tensor:
        """``f(0, x)``, ``(..., num_x)``; the condition is ``u(0, x) = u0(x)``."""
        return f[..., 0, :]

    @staticmethod
    def inflow_rows(f: torch.Tensor) -> torch.Tensor:
        """``f(t, 0)`` for ``t > 0``, ``(..., num_t − 1)``; the condition is ``u = 1``."""
        return f[..., 1:, 0]

    def outflow_rows(self, f: torch.Tensor) -> torch.Tensor:
        """``f + D f_x`` at ``x = 1`` for ``t > 0`` (backward difference), ``(..., num_t − 1)``; the
        condition is ``= 0``."""
        dx = 1.0 / (f.shape[-1] - 1)
        return f[..., 1:, -1] + self.diffusivity * (f[..., 1:, -1] - f[..., 1:, -2]) / dx

    def losses(self, u: torch.Tensor, u0: torch.Tensor) -> dict[str, torch.Tensor]:
        """Physics-only loss terms of fields ``u`` ``(S, num_t, num_x)`` with initial fields ``u0``
        ``(S, num_x)``: the root mean square, per sample, of the PDE residual over the residual region
        (``pde``, per ``time_unit``) and of each condition's misfit (``initial``, ``inflow``, ``outflow``), averaged
        over the samples."""
        self.check_shape(u)

        def rms(values: torch.Tensor) -> torch.Tensor:
            return values.square().flatten(1).mean(1).sqrt().mean()

        return {
            "pde": rms(self.pde_residual(*self.residual_terms(u))),
            "initial": rms(self.initial_rows(u) - u0),
            "inflow": rms(self.inflow_rows(u) - 1.0),
            "outflow": rms(self.outflow_rows(u)),
        }
