"""Priors inside proximal splitting on held-out imaging inverse problems: PSNR, SSIM, convergence.

The measurements of an ``image_patches`` split (denoising, Gaussian blur or subsampled Fourier, with
its noise) are reconstructed by ADMM or PGD (`neuralsolvers.solvers.proximal.splitting`) with each prior:
trained networks as the prox (an LPN, or the same network trained without the convexity constraint),
TV (Chambolle) and Haar-wavelet soft-thresholding. The classical priors' weight ``λ`` is chosen from a
grid by mean PSNR on the first ``tune_images`` images, which are then left out; every method is scored
on the same remaining images. Reported: mean and standard deviation of PSNR and SSIM (data range 1,
after clipping to [0, 1]), iterations, how many runs met the relative-change tolerance, the last
relative change, seconds per image, peak memory beyond what was held (measured during the solve: on the CPU
by a 1 ms resident-set sampler); the figure shows reconstructions of the first two images.
"""

from __future__ import annotations

from operator import itemgetter
from statistics import median
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from neuralsolvers.data_gen.imaging import ImagePatches
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.evaluate.base import Evaluation, Outcome, resolve_device
from neuralsolvers.evaluate.comparison import Comparison
from neuralsolvers.evaluate.economics import device_hours, trained_network
from neuralsolvers.evaluate.measure import PeakMemory
from neuralsolvers.solvers.proximal.operators import (
    HaarThreshold,
    NetworkProx,
    ProximalOperator,
    TotalVariation,
)
from neuralsolvers.solvers.proximal.splitting import ProximalResult, admm, pgd

__all__ = ["InverseProblemEvaluation"]


def _scores(reconstruction: torch.Tensor, clean: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-image PSNR and SSIM of ``(B, H, W)`` reconstructions clipped to [0, 1]."""
    recon = reconstruction.clamp(0, 1).cpu().double().numpy()
    truth = clean.cpu().double().numpy()
    psnr = np.array([peak_signal_noise_ratio(t, r, data_range=1.0) for t, r in zip(truth, recon, strict=True)])
    ssim = np.array([structural_similarity(t, r, data_range=1.0) for t, r in zip(truth, recon, strict=True)])
    return psnr, ssim


class InverseProblemEvaluation(Evaluation):
    """Learned and classical priors in ADMM/PGD on the same measured images.

    Args:
        data: an ``image_patches`` split (``measured``, ``clean``; its parameters define ``A``).
        checkpoints: name → checkpoint of a proximal network (``neuralsolvers fit --config
            configs/lpn_images.yaml``; with ``--model.init_args.model.init_args.convex=false`` the
            unconstrained contrast).
        tv: λ grids of the TV and Haar-wavelet priors (empty: method left out).
        haar: see `tv`.
        solver: ``admm`` (CG data step) or ``pgd``.
        rho: ADMM penalty; step: PGD step (default ``1/‖AᵀA‖``).
        box: ``[lo, hi]``: ADMM with the indicator of the box as a third term, for every prior
            (`neuralsolvers.solvers.proximal.splitting.admm`); None: two-term ADMM.
        maxiter: iteration cap and relative-change tolerance.
        tol: see `maxiter`.
        num_images: images scored (after the tuning ones); tune_images: images for choosing λ.
        device: where the reconstructions run (``cpu``, ``cuda``, ``auto``).
    """

    component = "LPN proximal"

    def __init__(
        self,
        data: str,
        checkpoints: dict[str, str] | None = None,
        tv: list[float] | None = None,
        haar: list[float] | None = None,
        solver: str = "admm",
        rho: float = 1.0,
        step: float | None = None,
        box: list[float] | None = None,
        maxiter: int = 300,
        tol: float = 1e-5,
        num_images: int = 20,
        tune_images: int = 4,
        device: str = "cpu",
    ):
        if solver not in ("admm", "pgd"):
            raise ValueError(f"solver must be 'admm' or 'pgd', got {solver!r}")
        if box is not None and (solver != "admm" or len(box) != 2):
            raise ValueError(f"box must be [lo, hi] and needs solver 'admm', got {box} with {solver!r}")
        if num_images < 1 or tune_images < 0 or maxiter < 1:
            raise ValueError("num_images and maxiter must be positive, tune_images non-negative")
        if not (checkpoints or tv or haar):
            raise ValueError("nothing to evaluate: give checkpoints, tv or haar")
        self.data, self.checkpoints = data, dict(checkpoints or {})
        self.grids = {"TV": list(tv or []), "Haar wavelet": list(haar or [])}
        self.solver, self.rho, self.step, self.maxiter, self.tol = solver, rho, step, maxiter, tol
        self.box = None if box is None else (float(box[0]), float(box[1]))
        self.num_images, self.tune_images = num_images, tune_images
        self.device = resolve_device(device)

    def _comparison(self, rows: list[dict[str, Any]], where: str) -> Comparison:
        """The best prior by PSNR, and the best learned prior against the best classical one (by PSNR;
        their seconds per image beside)."""
        best = max(rows, key=itemgetter("PSNR"))
        comparison = Comparison(where, metric="PSNR [dB]", note=f"best PSNR {best['PSNR']:.2f} dB with {best['prior']}")
        learned = [row for row in rows if row["prior"] in self.checkpoints]
        classical = [row for row in rows[1:] if row["prior"] not in self.checkpoints]
        if learned:
            top = max(learned, key=itemgetter("PSNR"))
            comparison.learned, comparison.learned_s, comparison.learned_metric = top["prior"], top["s_per_image"], top["PSNR"]
            comparison.learned_iterations = top["iterations_median"]
        if classical:
            bar = max(classical, key=itemgetter("PSNR"))
            comparison.classical, comparison.classical_s, comparison.classical_metric = bar["prior"], bar["s_per_image"], bar["PSNR"]
            comparison.classical_iterations = bar["iterations_median"]
        return comparison

    @staticmethod
    def _verdict(comparison: Comparison) -> str:
        """The best prior by PSNR, and the best learned prior's PSNR against the best classical one's."""
        line = f"verdict: {comparison.note}"
        if comparison.learned and comparison.classical:
            gain = comparison.learned_metric - comparison.classical_metric
            line += f"; best learned {comparison.learned} {gain:+.2f} dB against the best classical {comparison.classical} ({comparison.classical_metric:.2f} dB)"
        return line

    def _solve(self, prox: ProximalOperator, measured: torch.Tensor) -> ProximalResult:
        if self.solver == "admm":
            return admm(measured, prox, self.operator, rho=self.rho, maxiter=self.maxiter, rtol=self.tol, box=self.box)
        return pgd(measured, prox, self.operator, step=self.step, maxiter=self.maxiter, rtol=self.tol)

    def _tuned(self, name: str, make: type[ProximalOperator], grid: list[float], measured: torch.Tensor, clean: torch.Tensor) -> tuple[ProximalOperator, float]:
        """The prior with the λ of best mean PSNR on the tuning images."""
        if len(grid) == 1 or self.tune_images == 0:
            return make(grid[0]), grid[0]
        scores = [_scores(self._solve(make(lam), measured).x, clean)[0].mean() for lam in grid]
        best = grid[int(np.argmax(scores))]
        print(f"{name}: λ grid {grid}, tuning PSNR {np.round(scores, 2).tolist()} → λ = {best}", flush=True)
        return make(best), best

    def evaluate(self) -> Outcome:
        dataset = ShardedDataset(self.data, generator="image_patches")
        parameters = dataset.metadata["parameters"]
        self.operator = ImagePatches(**parameters).forward_operator()
        arrays = dataset.load(["measured", "clean"])
        needed = self.tune_images + self.num_images
        if len(arrays["clean"]) < needed:
            raise ValueError(f"{self.data}: {len(arrays['clean'])} images, need {needed} (tune_images + num_images)")
        measured = torch.from_numpy(arrays["measured"][:needed]).double().to(self.device)
        if parameters["operator"] == "fourier":  # stored as (real, imaginary) pairs of the kept coefficients
            measured = torch.view_as_complex(measured.contiguous())
        clean = torch.from_numpy(arrays["clean"][:needed]).double().to(self.device)
        tune, test = slice(0, self.tune_images), slice(self.tune_images, needed)
        priors: dict[str, tuple[ProximalOperator, str]] = {}
        clocks = {}
        for name, path in self.checkpoints.items():
            network, clocks[name] = trained_network(path, self.device)
            priors[name] = (NetworkProx(network.double()), "learned")
        for name, make in (("TV", TotalVariation), ("Haar wavelet", HaarThreshold)):
            if self.grids[name]:
                prox, lam = self._tuned(name, make, self.grids[name], measured[tune], clean[tune])
                priors[name] = (prox, f"λ = {lam:g}")
        rows, shown = [], {}
        start = self.operator.adjoint(measured[test])  # Aᵀy: the measurement itself, or zero-filled Fourier
        baseline_psnr, baseline_ssim = _scores(start, clean[test])
        rows.append({"prior": "none (Aᵀy)", "setting": "–", "PSNR": float(baseline_psnr.mean()), "PSNR_std": float(baseline_psnr.std()),
                     "SSIM": float(baseline_ssim.mean()), "iterations_median": 0, "iterations_max": 0, "converged": "–",
                     "last_change_max": None, "s_per_image": 0.0, "peak_MiB": None, "training_device_h": None})  # fmt: skip
        for name, (prox, setting) in priors.items():
            with PeakMemory(self.device) as memory:
                result = self._solve(prox, measured[test])
            psnr, ssim = _scores(result.x, clean[test])
            last = result.changes[torch.clamp(result.iterations - 1, min=0), torch.arange(len(psnr))]
            rows.append({
                "prior": name, "setting": setting, "PSNR": float(psnr.mean()), "PSNR_std": float(psnr.std()),
                "SSIM": float(ssim.mean()), "iterations_median": median(result.iterations.tolist()),
                "iterations_max": int(result.iterations.max()), "converged": f"{int(result.converged.sum())}/{len(psnr)}",
                "last_change_max": float(last.max()), "s_per_image": result.time / len(psnr), "peak_MiB": memory.bytes / 2**20,
                "training_device_h": device_hours(clocks.get(name)),
            })
            shown[name] = (result.x[:2].clamp(0, 1).cpu().numpy(), psnr[:2])
        figure = _figure(clean[test][:2].cpu().numpy(), start[:2].cpu().numpy(), shown)
        config = {"data": self.data, "checkpoints": self.checkpoints, "grids": self.grids, "solver": self.solver, "rho": self.rho,
                  "step": self.step, "box": self.box, "maxiter": self.maxiter, "tol": self.tol, "num_images": self.num_images,
                  "tune_images": self.tune_images, "problem": parameters, "device": str(self.device)}  # fmt: skip
        solver = self.solver.upper() if self.box is None else f"ADMM with the box {list(self.box)}"
        title = f"Priors in {solver}: {parameters['operator']}, noise {parameters['noise_sigma']}, {self.num_images} held-out images"
        comparison = self._comparison(rows, f"{parameters['operator']}, noise {parameters['noise_sigma']}, {self.num_images} images, {solver}")
        return Outcome(title, rows, self.device, config, {"reconstructions": figure}, self._verdict(comparison), [comparison])


def _figure(clean: np.ndarray, start: np.ndarray, shown: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Two images: clean, Aᵀy and each reconstruction with its PSNR."""
    columns = [("clean", clean, None), ("Aᵀy", start, None)]
    columns += [(name, images, psnr) for name, (images, psnr) in shown.items()]
    figure, axes = plt.subplots(2, len(columns), figsize=(2.3 * len(columns), 4.8), squeeze=False)
    for column, (name, images, psnr) in enumerate(columns):
        for row in range(2):
            axes[row, column].imshow(np.clip(images[row], 0, 1), cmap="gray", vmin=0, vmax=1)
            axes[row, column].set_axis_off()
            axes[row, column].set_title(name if psnr is None else f"{name}\n{psnr[row]:.2f} dB", fontsize=8)
    figure.tight_layout()
    return figure
