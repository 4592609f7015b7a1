#!/usr/bin/env bash
# Antiderivative DeepONet benchmark: generate, train with the committed config, evaluate in and out
# of distribution. Prints the training wall time and the evaluation table (device and versions in it).
set -euo pipefail
cd "$(dirname "$0")/.."
NS=.venv/bin/neuralsolvers
$NS generate --config configs/data/antiderivative.yaml
$NS generate --config configs/data/antiderivative_ood.yaml
start=$(date +%s)
$NS fit --config configs/deeponet_antiderivative.yaml --trainer.enable_progress_bar=false "$@"
end=$(date +%s)
echo "training wall time: $((end - start)) s (nproc: $(nproc))"
$NS evaluate --config configs/eval/deeponet_antiderivative.yaml
