"""Learning to relax on the heat simulation: relaxation-parameter policies against fixed ω and the oracle.

Per grid size, three passes over the Crank–Nicolson sequence of
`neuralsolvers.data_gen.sequences.CrankNicolsonHeat`:

1. **Oracle**: every system is solved with every ω of the grid (warm start: the previous state), and
   by plain CG; the state then advances by the exact solve. This gives the cost table
   ``iterations[t, ω]``, hence the best fixed ω in hindsight (smallest column total) and the
   instance-optimal costs (row minima).
2. **Replay**: each policy runs on the cost table (``trials`` seeds); since every policy picks from the
   grid, its costs and regrets are exact.
3. **Online** (``online: true``): the simulation is run again, driven by the method's own solutions,
   for plain CG, the fixed ω and each policy (first seed), timing everything a user would pay
   (assembly, preconditioner set-up, solve, the policy's own work; the device synchronized). The peak
   memory of one solve (set-up and solve of the middle system with the ω the method chose there) is
   measured apart, after the timed run, so that the memory sampler does not perturb the timings.
"""

from __future__ import annotations

from contextlib import nullcontext
from operator import itemgetter
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from neuralsolvers.data_gen.sequences import CrankNicolsonHeat
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import compare, verdict_text
from neuralsolvers.evaluate.measure import PeakMemory, clock
from neuralsolvers.solvers.classical.relaxation import ORDERINGS, SSOR, matrix_colors, sor
from neuralsolvers.solvers.krylov.conjugate_gradient import cg
from neuralsolvers.solvers.omega.policies import (
    BinnedTsallisINF,
    ChebCB,
    FixedOmega,
    RelaxationPolicy,
    TsallisINF,
    omega_grid,
    regret,
    replay,
)
from neuralsolvers.solvers.threads import torch_thread_budget

__all__ = ["POLICIES", "RelaxationEvaluation"]

POLICIES = {"tsallis_inf": "Tsallis-INF", "binned_tsallis_inf": "Tsallis-INF per context bin", "chebcb": "ChebCB"}
SOLVERS = ("ssor_pcg", "sor")


class RelaxationEvaluation(Evaluation):
    """Online ω selection across the heat sequence, scored against fixed ω, CG and the oracle.

    Args:
        sizes: grid intervals per side (``(size − 1)²`` unknowns each; the paper: 25 … 400).
        num_steps: the sequence (the paper: 5,000 steps over 5 time units).
        stop_time: see `num_steps`.
        solver: ``ssor_pcg`` (CG preconditioned by SSOR(ω), the paper's heat experiment) or ``sor``.
        ordering: of the sweeps (``lexicographic``, the paper's; ``redblack``).
        rtol: relative residual to reach (the paper: 1e-8). maxiter: cap per solve (its cost if hit).
        omega_low: the grid of ω (the paper: 20 values in [1, 1.95]).
        omega_high: see `omega_low`.
        num_omegas: see `omega_low`.
        fixed_omegas: fixed ω to report (on the grid).
        policies: among ``tsallis_inf``, ``binned_tsallis_inf``, ``chebcb``.
        bins: of the contextual policies (the paper: 6 and 6).
        chebyshev_terms: see `bins`.
        trials: seeds per policy in the replay. seed: of the first trial.
        online: also run the timed simulations.
        device: where the solves run (``cpu``, ``cuda``, ``auto``). threads: torch CPU threads (None: leave as is).
    """

    component = "Learned relaxation ω"

    def __init__(
        self,
        sizes: list[int] | None = None,
        num_steps: int = 5000,
        stop_time: float = 5.0,
        solver: str = "ssor_pcg",
        ordering: str = "lexicographic",
        rtol: float = 1e-8,
        maxiter: int = 10000,
        omega_low: float = 1.0,
        omega_high: float = 1.95,
        num_omegas: int = 20,
        fixed_omegas: list[float] | None = None,
        policies: list[str] | None = None,
        bins: int = 6,
        chebyshev_terms: int = 6,
        trials: int = 3,
        seed: int = 0,
        online: bool = True,
        device: str = "cpu",
        threads: int | None = 1,
    ):
        self.sizes = [25] if sizes is None else [int(size) for size in sizes]
        self.grid = omega_grid(omega_low, omega_high, num_omegas)
        self.fixed_omegas = [1.0, 1.5] if fixed_omegas is None else [float(omega) for omega in fixed_omegas]
        self.policies = list(POLICIES) if policies is None else list(policies)
        if solver not in SOLVERS or ordering not in ORDERINGS:
            raise ConfigError(f"solver must be one of {SOLVERS} and ordering one of {ORDERINGS}, got {solver!r}, {ordering!r}")
        if unknown := set(self.policies) - set(POLICIES):
            raise ConfigError(f"unknown policies {sorted(unknown)}; choose from {sorted(POLICIES)}")
        if off := [omega for omega in self.fixed_omegas if not np.isclose(self.grid, omega).any()]:
            raise ConfigError(f"fixed ω {off} are not on the grid {np.round(self.grid, 4).tolist()}")
        if min(self.sizes) < 3 or num_steps < 2 or trials < 1 or not rtol > 0:
            raise ConfigError("sizes must be ≥ 3, num_steps ≥ 2, trials ≥ 1 and rtol > 0")
        self.num_steps, self.stop_time, self.solver, self.ordering = num_steps, stop_time, solver, ordering
        self.rtol, self.maxiter, self.bins, self.chebyshev_terms = rtol, maxiter, bins, chebyshev_terms
        self.trials, self.seed, self.online, self.device, self.threads = trials, seed, online, resolve_device(device), threads

    # -- one solve -------------------------------------------------------------------------------
    def _solve(self, A: Any, b: torch.Tensor, x0: torch.Tensor, omega: float | np.ndarray | None, colors: np.ndarray | None) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """Solution, iterations and convergence of one system: ``omega`` None is plain CG; an array
        of ω solves the system once per ω, all as columns of one batched solve."""
        if np.ndim(omega) == 1:
            b, x0 = b[:, None].expand(-1, len(omega)), x0[:, None].expand(-1, len(omega))
        if omega is None:
            result = cg(A, b, x0, rtol=self.rtol, maxiter=self.maxiter)
        elif self.solver == "ssor_pcg":
            M = SSOR(A, omega, ordering=self.ordering, colors=colors, dtype=b.dtype, device=b.device)
            result = cg(A, b, x0, rtol=self.rtol, maxiter=self.maxiter, M=M)
        else:
            result = sor(A, b, x0, omega=omega, rtol=self.rtol, maxiter=self.maxiter, ordering=self.ordering, colors=colors)
        return result.x, torch.as_tensor(result.iterations).cpu().numpy(), torch.as_tensor(result.converged).cpu().numpy()

    def _tensor(self, values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float64, device=self.device)

    def _operator(self, A: Any) -> Any:
        """The step's matrix where the solves run (SciPy CSR on the CPU is converted by the solvers)."""
        return A if self.device.type == "cpu" else torch.sparse_csr_tensor(
            torch.as_tensor(A.indptr), torch.as_tensor(A.indices), torch.as_tensor(A.data), A.shape, device=self.device)  # fmt: skip

    # -- the three passes ------------------------------------------------------------------------
    def oracle(self, simulation: CrankNicolsonHeat) -> dict[str, np.ndarray]:
        """Cost table ``(T, d)`` of every ω on every system, CG iterations ``(T,)``, contexts ``(T,)``."""
        L = simulation.laplacian()
        colors = matrix_colors(L) if self.ordering == "redblack" else None
        u = simulation.initial()
        costs = np.zeros((self.num_steps, len(self.grid)), dtype=np.int64)
        cg_costs = np.zeros(self.num_steps, dtype=np.int64)
        failures = 0
        for step in tqdm(range(self.num_steps), desc=f"oracle n={simulation.size}", mininterval=5):
            A, b = simulation.system(step, u, L)
            A_device, b_device, x0 = self._operator(A), self._tensor(b), self._tensor(u)
            _, costs[step], converged = self._solve(A_device, b_device, x0, self.grid, colors)
            failures += int((~converged).sum())
            _, cg_costs[step], _ = self._solve(A_device, b_device, x0, None, None)
            u = simulation.exact_solve(step, b)
        contexts = np.array([simulation.context(step) for step in range(self.num_steps)])
        return {"costs": np.maximum(costs, 1), "cg": cg_costs, "contexts": contexts, "failures": np.array(failures)}

    def make_policy(self, name: str, seed: int, context_range: tuple[float, float]) -> RelaxationPolicy:
        """A fresh policy ``name`` on the grid (contextual ones on ``context_range``)."""
        low, high = context_range
        if name == "tsallis_inf":
            return TsallisINF(self.grid, seed)
        if name == "binned_tsallis_inf":
            return BinnedTsallisINF(low, high, self.bins, self.grid, seed)
        return ChebCB(low, high, self.chebyshev_terms, self.grid, seed)

    def run_online(self, simulation: CrankNicolsonHeat, policy: RelaxationPolicy | None) -> dict[str, Any]:
        """The simulation driven by ``policy`` (None: plain CG): iterations, ω and cumulative seconds per step."""
        L = simulation.laplacian()
        colors = matrix_colors(L) if self.ordering == "redblack" else None
        u = self._tensor(simulation.initial())
        iterations, omegas, unconverged = np.zeros(self.num_steps, dtype=np.int64), np.full(self.num_steps, np.nan), 0
        elapsed = np.zeros(self.num_steps)
        start = clock(self.device)
        for step in range(self.num_steps):
            A, b = simulation.system(step, u.cpu().numpy(), L)
            omega = None if policy is None else policy.choose(simulation.context(step))
            if step == self.num_steps // 2:
                middle = (A, b, u, omega)
            u, iterations[step], converged = self._solve(self._operator(A), self._tensor(b), u, omega, colors)
            unconverged += int(not converged)
            if policy is not None:
                omegas[step] = omega
                policy.update(omega, max(int(iterations[step]), 1))
            elapsed[step] = clock(self.device) - start
        peak = self._peak_memory(*middle, colors)
        return {"iterations": iterations, "seconds": float(elapsed[-1]), "elapsed": elapsed, "omegas": omegas, "unconverged": unconverged, "peak_bytes": peak}

    def _peak_memory(self, A: Any, b: np.ndarray, x0: torch.Tensor, omega: float | None, colors: np.ndarray | None) -> int:
        """Peak bytes of one solve (moving the system to the device, set-up and solve) beyond what was held."""
        with PeakMemory(self.device) as memory:
            self._solve(self._operator(A), self._tensor(b), x0, omega, colors)
        return memory.bytes

    def evaluate_size(self, size: int) -> tuple[list[dict[str, Any]], Figure, dict[str, np.ndarray]]:
        """Rows of the table, the figure and the oracle's cost table for one grid size."""
        simulation = CrankNicolsonHeat(size, self.num_steps, self.stop_time)
        table = self.oracle(simulation)
        if table["failures"]:
            print(f"warning: {int(table['failures'])} oracle solves hit maxiter={self.maxiter}; their cost is the cap", flush=True)
        costs, contexts = table["costs"], table["contexts"]
        context_range = simulation.context_range()
        best = int(np.argmin(costs.sum(0)))
        curves: dict[str, np.ndarray] = {}
        choices: dict[str, np.ndarray] = {}
        replayed: dict[str, list[dict[str, float]]] = {}
        for omega in self.fixed_omegas:
            j = int(np.flatnonzero(np.isclose(self.grid, omega))[0])
            replayed[f"ω = {omega:g}"] = [regret(costs, np.full(len(costs), j))]
            curves[f"ω = {omega:g}"] = costs[:, j]
        replayed[f"best fixed ω = {self.grid[best]:.3g} (hindsight)"] = [regret(costs, np.full(len(costs), best))]
        curves["best fixed ω"] = costs[:, best]
        replayed["instance-optimal (oracle)"] = [regret(costs, np.argmin(costs, 1))]
        curves["instance-optimal"] = costs.min(1)
        for name in self.policies:
            runs = []
            for trial in range(self.trials):
                chosen = replay(self.make_policy(name, self.seed + trial, context_range), costs, self.grid, contexts)
                runs.append(regret(costs, chosen))
                if trial == 0:
                    choices[POLICIES[name]], curves[POLICIES[name]] = chosen, costs[np.arange(len(costs)), chosen]
            replayed[POLICIES[name]] = runs
        online: dict[str, dict[str, Any]] = {}
        if self.online:
            methods: dict[str, RelaxationPolicy | None] = {"CG (no preconditioner)": None}
            methods.update({f"ω = {omega:g}": FixedOmega(omega) for omega in self.fixed_omegas})
            methods.update({POLICIES[name]: self.make_policy(name, self.seed, context_range) for name in self.policies})
            for label, policy in tqdm(methods.items(), desc=f"online n={size}"):
                online[label] = self.run_online(simulation, policy)
        rows = self._rows(size, table, replayed, online)
        figure = self._figure(size, costs, best, curves, choices, online)
        return rows, figure, {"omegas": self.grid, **table}

    def _rows(self, size: int, table: dict[str, np.ndarray], replayed: dict[str, list[dict[str, float]]], online: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        costs = table["costs"]
        best_total = float(costs.sum(0).min())
        reference = online.get(f"ω = {self.fixed_omegas[0]:g}") if self.fixed_omegas else None
        base = {"size": size, "unknowns": (size - 1) ** 2}
        rows = [{**base, "method": "CG (no preconditioner)", "iterations": int(table["cg"].sum()), "± (trials)": None,
                 "vs best fixed": float(table["cg"].sum()) / best_total, "regret to best fixed": None, "regret to instance-optimal": None}]  # fmt: skip
        for label, runs in replayed.items():
            totals = np.array([run["total"] for run in runs])
            rows.append({**base, "method": label, "iterations": float(totals.mean()), "± (trials)": float(totals.std()) if len(runs) > 1 else None,
                         "vs best fixed": float(totals.mean()) / best_total,
                         "regret to best fixed": float(np.mean([run["regret_to_best_fixed"] for run in runs])),
                         "regret to instance-optimal": float(np.mean([run["regret_to_instance_optimal"] for run in runs]))})  # fmt: skip
        for row in rows:
            run = online.get(row["method"])
            row["online iterations"] = int(run["iterations"].sum()) if run else None
            row["online seconds"] = float(run["seconds"]) if run else None
            row["online unconverged"] = int(run["unconverged"]) if run else None
            row["peak_MiB"] = run["peak_bytes"] / 2**20 if run else None
            row[f"time vs ω = {self.fixed_omegas[0]:g}" if self.fixed_omegas else "time ratio"] = (
                float(run["seconds"] / reference["seconds"]) if run and reference else None
            )
        return rows

    def _figure(self, size: int, costs: np.ndarray, best: int, curves: dict[str, np.ndarray], choices: dict[str, np.ndarray], online: dict[str, dict[str, Any]]) -> Figure:
        steps = np.arange(1, len(costs) + 1)
        window = max(1, len(costs) // 100)
        kernel = np.ones(window)
        counts = np.convolve(np.ones(len(costs)), kernel, mode="same")  # fewer terms at the ends

        def smooth(values: np.ndarray) -> np.ndarray:
            return np.convolve(values, kernel, mode="same") / counts

        panels = 4 if online else 3
        figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
        image = axes[0].pcolormesh(steps, self.grid, costs.T, shading="nearest", cmap="viridis")
        figure.colorbar(image, ax=axes[0], label="iterations")
        axes[0].plot(steps, smooth(self.grid[np.argmin(costs, 1)]), "w", lw=1.5, label="instance-optimal ω")
        axes[0].axhline(self.grid[best], color="k", ls=":", lw=2, label="best fixed ω")
        for label, chosen in choices.items():
            axes[0].plot(steps, smooth(self.grid[chosen]), lw=1.5, label=f"{label} (moving mean)")
        axes[0].set(xlabel="system (time step)", ylabel="ω", title=f"cost of each ω, n = {(size - 1) ** 2}", ylim=(self.grid[0], self.grid[-1]))
        axes[0].legend(fontsize=7, loc="lower right")
        best_cumulative = np.cumsum(costs[:, best])
        for label, chosen in choices.items():
            axes[1].plot(steps, np.cumsum(costs[np.arange(len(costs)), chosen]) - best_cumulative, label=label)
        axes[1].axhline(0, color="k", lw=0.8)
        axes[1].set(xlabel="system", ylabel="cumulative iterations − best fixed ω", title="regret to the best fixed ω")
        axes[1].legend(fontsize=8)
        for label, values in curves.items():
            axes[2].plot(steps, np.cumsum(values), label=label)
        axes[2].set(xlabel="system", ylabel="cumulative iterations", title="iterations (replay on the cost table)")
        axes[2].legend(fontsize=7)
        if online:
            for label, run in online.items():
                axes[3].plot(steps, run["elapsed"], label=label)
            axes[3].set(xlabel="system", ylabel="cumulative seconds", title=f"online wall-clock ({self.device.type})")
            axes[3].legend(fontsize=7)
        figure.tight_layout()
        return figure

    def evaluate(self) -> Outcome:
        rows, figures, arrays = [], {}, {}
        with nullcontext(torch.get_num_threads()) if self.threads is None else torch_thread_budget(self.threads) as used:
            for size in self.sizes:
                size_rows, figures[f"relax_n{size}"], arrays[f"costs_{size}"] = self.evaluate_size(size)
                rows += size_rows
        config = {key: value for key, value in vars(self).items() if key != "grid"} | {"grid": self.grid.tolist(), "device": str(self.device)}
        title = f"Learning to relax: {self.solver} ({self.ordering}) on the Crank–Nicolson heat sequence, rtol {self.rtol:g}"
        classical = ("CG (no preconditioner)", "ω = ")  # fixed ω and plain CG; the policies learn ω online
        last = [row for row in rows if row["size"] == self.sizes[-1]]
        scope = f"at n = {self.sizes[-1]} (the whole sequence, online)"
        comparison = compare(last, itemgetter("online seconds"), lambda row: not row["method"].startswith(classical),
                             where=f"{self.num_steps} heat systems, {self.solver} {scope}", iterations=itemgetter("online iterations"))  # fmt: skip
        return Outcome(title, rows, self.device, config, figures, verdict_text(comparison, scope), [comparison], arrays, threads=used)
