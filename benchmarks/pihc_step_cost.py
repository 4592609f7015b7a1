"""Cost of one training step of the soft constraint, one global hard constraint and the mixture of
experts (PI-SC, PI-HC, PI-HC-MoE) on diffusion–sorption, at the committed configs' sizes.

Each variant: the committed FNO (width 32, 8 × 8 modes, 4 layers) on the ``--num_t`` × ``--num_x``
grid, a batch of ``--batch`` initial levels, the physics loss, backward and an Adam step. Reported:
the median time per step over ``--repeats`` steps after two warm-ups (synchronized on CUDA), the LM
iterations of the last step, and the memory the step's autograd graph keeps for backward (the bytes
of the distinct tensors saved during the forward pass, on any device) and, on CUDA, the peak
allocated memory of the step.

    .venv/bin/python benchmarks/pihc_step_cost.py --repeats 10
"""

from __future__ import annotations

import argparse
import time
from statistics import median

import numpy as np
import torch

from neuralsolvers.data_gen import DiffusionSorption
from neuralsolvers.evaluate.report import write_benchmark
from neuralsolvers.models import FNO
from neuralsolvers.train import DiffusionSorption1D, HardConstraint, PhysicsOperatorModule

VARIANTS = {  # name: (network outputs, constraint arguments or None)
    "soft constraint (PI-SC)": (1, None),
    "one hard constraint (PI-HC)": (16, {"experts": 1, "points": 4000}),
    "4 experts (PI-HC-MoE)": (16, {"experts": 4, "points": 1000}),
}


class SavedBytes:
    """Bytes of the distinct tensors autograd saves for backward while active."""

    def __init__(self) -> None:
        self.storages: dict[int, int] = {}

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        self.storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    @property
    def total(self) -> int:
        return sum(self.storages.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_x", type=int, default=129)
    parser.add_argument("--num_t", type=int, default=101)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    device = torch.device(args.device)
    arrays = DiffusionSorption(num_x=args.num_x, num_t=args.num_t).generate(args.batch, np.random.default_rng(0))
    u0 = torch.from_numpy(arrays["u0"]).float().to(device)
    rows = []
    for name, (outputs, constraint) in VARIANTS.items():
        torch.manual_seed(0)
        network = FNO(n_modes=(8, 8), hidden_channels=32, n_layers=4, in_channels=3, out_channels=outputs, normalize=False)
        module = PhysicsOperatorModule(network, DiffusionSorption1D(num_t=args.num_t), None if constraint is None else HardConstraint(**constraint)).to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        times, saved = [], SavedBytes()
        for repeat in range(args.repeats + 2):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
                torch.cuda.reset_peak_memory_stats(device)
            start = time.perf_counter()
            if repeat == 0:  # a warm-up step: the counting hook stays off the timed steps
                with torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda tensor: tensor):
                    loss = sum(module.physics.losses(module(u0), u0).values())
            else:
                loss = sum(module.physics.losses(module(u0), u0).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
        result = getattr(module.constraint, "last_result", None)
        rows.append({
            "variant": name,
            "grid": f"{args.num_t}x{args.num_x}",
            "batch": args.batch,
            "step_ms": round(1e3 * median(times[2:]), 1),
            "lm_iterations": None if result is None else result.iterations,
            "saved_for_backward_MB": round(saved.total / 2**20, 1),
            "cuda_peak_MB": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
        })  # fmt: skip
    write_benchmark(args.out, "pihc_step_cost", rows, device=str(device))


if __name__ == "__main__":
    main()
