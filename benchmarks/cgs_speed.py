"""CGS forward + backward time on a batch of random graphs (the issue's target: 64 graphs of 200
nodes under 50 ms on the CPU).

Each graph: ``--nodes`` nodes, ``--edges`` random directed edges (self-loops dropped), 4 node and 3
edge features; loss = mean of the squared node outputs. Median of ``--repeats`` timed steps after two
warm-ups (synchronized on CUDA).

    .venv/bin/python benchmarks/cgs_speed.py --graphs 64 --nodes 200 --edges 1200 --hidden 64 16 \
        --solvers fixed_point gmres bicgstab
"""

from __future__ import annotations

import argparse
import time
from statistics import median

import torch
from torch_geometric.data import Batch, Data

from neuralsolvers.evaluate.report import write_benchmark
from neuralsolvers.models import CGS
from neuralsolvers.models.cgs import SOLVERS


def random_graph(nodes: int, edges: int, generator: torch.Generator) -> Data:
    edge_index = torch.randint(nodes, (2, edges), generator=generator)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    return Data(x=torch.randn(nodes, 4, generator=generator), edge_index=edge_index, edge_attr=torch.randn(edge_index.shape[1], 3, generator=generator))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=64)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--edges", type=int, default=1200)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 16])
    parser.add_argument("--solvers", nargs="+", default=["fixed_point"], choices=SOLVERS)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    batch = Batch.from_data_list([random_graph(args.nodes, args.edges, generator) for _ in range(args.graphs)]).to(device)
    rows = []
    for solver, hidden in ((solver, hidden) for solver in args.solvers for hidden in args.hidden):
        model = CGS(node_features=4, edge_features=3, hidden=hidden, solver=solver).to(device)
        times = []
        for _ in range(args.repeats + 2):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            model(batch.x, batch.edge_index, batch.edge_attr, batch.batch).square().mean().backward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
            model.zero_grad()
        rows.append({
            "graphs": args.graphs, "nodes": args.nodes, "edges": int(batch.edge_index.shape[1]), "solver": solver, "hidden": hidden,
            "parameters": sum(p.numel() for p in model.parameters()),
            "forward_iterations": model.last_solve["forward"].iterations,
            "backward_iterations": model.last_solve["backward"].iterations,
            "forward_backward_ms": round(1e3 * median(times[2:]), 1),
        })
    write_benchmark(args.out, "cgs_speed", rows, device=device)


if __name__ == "__main__":
    main()
