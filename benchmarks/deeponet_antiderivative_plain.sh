#!/usr/bin/env bash
# Ablation for the antiderivative benchmark: the plain DeepONet (2 hidden layers of 40, tanh, p = 40,
# no normalization, constant lr 1e-3, no schedule) on 1,000 training functions for 3 minutes.
# Needs the data of benchmarks/deeponet_antiderivative.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
NS=.venv/bin/neuralsolvers
$NS fit --config configs/deeponet_antiderivative.yaml --trainer.enable_progress_bar=false \
  --model.init_args.model.init_args.branch_widths='[40, 40]' \
  --model.init_args.model.init_args.trunk_widths='[40, 40]' \
  --model.init_args.model.init_args.num_basis=40 \
  --model.init_args.model.init_args.activation=tanh \
  --model.init_args.model.init_args.normalize_input=false \
  --model.init_args.model.init_args.normalize_output=false \
  --model.init_args.optimizer.init_args.lr=0.001 --model.init_args.scheduler=null \
  --data.init_args.num_train=1000 --trainer.max_epochs=100000 --trainer.max_time=00:00:03:00 \
  --checkpoint.dirpath=checkpoints/deeponet_antiderivative_plain "$@"
$NS evaluate --config configs/eval/deeponet_antiderivative.yaml \
  --task.init_args.checkpoint=checkpoints/deeponet_antiderivative_plain/best.ckpt \
  --out results/deeponet_antiderivative_plain
