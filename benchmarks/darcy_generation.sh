#!/usr/bin/env bash
# Darcy generation throughput: 1,000 piecewise-constant samples on a 128 × 128 interior grid
# (130 nodes per side with the boundary), solved by SuperLU in a process pool, self-checked.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
start=$(date +%s)
.venv/bin/neuralsolvers generate --config configs/data/darcy_piecewise.yaml \
  --generator.init_args.resolution=130 --splits '[{name: train, num_samples: 1000, seed: 0}]' \
  --shard_size 250 --out "$out"
end=$(date +%s)
echo "darcy2d 1000 samples at 128x128 unknowns: $((end - start)) s wall (nproc $(nproc))"
rm -rf "$out"
