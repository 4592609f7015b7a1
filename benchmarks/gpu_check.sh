#!/usr/bin/env bash
# One GPU check: the gpu tests and the CUDA rows of the benchmarks, at sizes that fit about 10 minutes
# on one H100/H200. Writes JSON and Markdown into the directory given (default results/gpu-check).
#   make gpu-check OUT=results/gpu-check
# Without CUDA it says so and exits 0 (nothing to check on this machine).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/gpu-check}"
PY="${PYTHON:-.venv/bin/python}"
NS="${NEURALSOLVERS:-.venv/bin/neuralsolvers}"
FAILED=()
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu-check: skipped, no CUDA device on this machine (torch.cuda.is_available() is False)"
    exit 0
fi
mkdir -p "$OUT"
"$PY" -c "import torch; print('gpu-check on', torch.cuda.get_device_name(0), 'torch', torch.__version__)" | tee "$OUT/device.txt"
step() {  # name, command...: run it, report its seconds, remember a failure and go on
    local name="$1" start=$SECONDS
    shift
    echo "== $name"
    "$@" || FAILED+=("$name")
    echo "   $name: $((SECONDS - start)) s"
}
# 1. the gpu-marked tests
step "pytest -m gpu" "$PY" -m pytest -m gpu -q -p no:cacheprovider --junitxml="$OUT/gpu-tests.xml"
# 2. solvers: CUDA rows and the bandwidth table (CPU rows included: they are the baseline of the same run)
step "solvers" "$PY" benchmarks/solvers.py --sizes 2d:1024 3d:128 --repeats 3 --out "$OUT"
# 3. geometric and algebraic multigrid on CUDA
step "geometric multigrid" "$PY" benchmarks/geometric_multigrid.py --sizes 2d:1024 2d:2048 3d:128 --repeats 3 --device cuda --out "$OUT"
# 4. the moving-obstacle sequence at reduced sizes (8 frames)
step "moving obstacles (data)" "$NS" generate --config configs/data/moving_obstacles_2d.yaml \
    --generator.init_args.grid='[1024,1024]' --generator.init_args.frames=8 --out "$OUT/data/moving_2d" --overwrite=true
step "moving obstacles (data 3d)" "$NS" generate --config configs/data/moving_obstacles_3d.yaml \
    --generator.init_args.grid='[128,128,128]' --generator.init_args.frames=8 --out "$OUT/data/moving_3d" --overwrite=true
step "moving obstacles" "$NS" evaluate --config configs/eval/moving_obstacle.yaml --requires='[]' \
    --task.init_args.device=cuda --task.init_args.methods='[amg, pyamg, gmg]' \
    --task.init_args.data="[$OUT/data/moving_2d/test, $OUT/data/moving_3d/test]" --out "$OUT/moving_obstacle" --wandb=false
# 5. the neural multigrid on CUDA: trained there (2D at 64², 3D at 32³, few epochs), evaluated on
#    held-out scenes at 2048² (against AMG, torch and PyAMG, and geometric multigrid) and 256³ (against
#    geometric multigrid)
step "neural multigrid (data)" bash -c "'$NS' generate --config configs/data/diffusion_scenes_2d.yaml --out '$OUT/data/scenes_2d' --overwrite=true \
    && '$NS' generate --config configs/data/diffusion_scenes_2d_large.yaml --out '$OUT/data/scenes_2d_large' --overwrite=true \
    && '$NS' generate --config configs/data/diffusion_scenes_3d.yaml --out '$OUT/data/scenes_3d' --overwrite=true \
    && '$NS' generate --config configs/data/diffusion_scenes_3d_large.yaml --out '$OUT/data/scenes_3d_large' --overwrite=true \
    && '$NS' generate --config configs/data/diffusion_scenes_2d_heldout.yaml --generator.init_args.grid='[2048,2048]' --out '$OUT/data/heldout_2048' --overwrite=true \
    && '$NS' generate --config configs/data/diffusion_scenes_3d_heldout.yaml --generator.init_args.grid='[256,256,256]' --splits='[{name: test, num_samples: 2, seed: 3}]' --out '$OUT/data/heldout_256' --overwrite=true"
step "neural multigrid (fit)" bash -c "'$NS' fit --config configs/neural_mg_poisson2d.yaml --trainer.accelerator=cuda --trainer.max_epochs=4 \
    --data.init_args.train='$OUT/data/scenes_2d/train' --data.init_args.val='$OUT/data/scenes_2d/val' --data.init_args.large='$OUT/data/scenes_2d_large/val' \
    --checkpoint.dirpath='$OUT/checkpoints/nmg2d' --trainer.enable_progress_bar=false \
    && '$NS' fit --config configs/neural_mg_poisson3d.yaml --trainer.accelerator=cuda --trainer.max_epochs=2 \
    --data.init_args.train='$OUT/data/scenes_3d/train' --data.init_args.val='$OUT/data/scenes_3d/val' --data.init_args.large='$OUT/data/scenes_3d_large/val' \
    --checkpoint.dirpath='$OUT/checkpoints/nmg3d' --trainer.enable_progress_bar=false"
step "neural multigrid (2048²)" "$NS" evaluate --config configs/eval/neural_mg_poisson2d.yaml --requires='[]' --task.init_args.device=cuda \
    --task.init_args.scenes="[$OUT/data/heldout_2048/test]" --task.init_args.checkpoint="$OUT/checkpoints/nmg2d/best.ckpt" \
    --task.init_args.dcdm_checkpoint=null --task.init_args.methods='[amg, pyamg, gmg, nmg]' --task.init_args.num_scenes=2 \
    --out "$OUT/neural_mg_2d" --wandb=false
step "neural multigrid (256³)" "$NS" evaluate --config configs/eval/neural_mg_poisson3d.yaml --requires='[]' --task.init_args.device=cuda \
    --task.init_args.scenes="[$OUT/data/heldout_256/test]" --task.init_args.checkpoint="$OUT/checkpoints/nmg3d/best.ckpt" \
    --task.init_args.methods='[gmg, nmg]' --task.init_args.num_scenes=2 --out "$OUT/neural_mg_3d" --wandb=false  # PyAMG's set-up at 16M unknowns alone takes minutes
# 6. any contrast: the Galerkin neural multigrid trained on CUDA (few epochs) against Black Box Multigrid and
#    PyAMG's Ruge–Stüben AMG on binary fields of contrast 1 to 10⁶ at 1024² and 2048²
step "galerkin neural multigrid (fit)" bash -c "'$NS' generate --config configs/data/diffusion_scenes_2d_mixed.yaml --out '$OUT/data/mixed_2d' --overwrite=true \
    && '$NS' fit --config configs/neural_mg_galerkin2d.yaml --trainer.accelerator=cuda --trainer.max_epochs=4 \
    --data.init_args.train='$OUT/data/mixed_2d/train' --data.init_args.val='$OUT/data/mixed_2d/val' --data.init_args.large='$OUT/data/scenes_2d_large/val' \
    --checkpoint.dirpath='$OUT/checkpoints/galerkin2d' --trainer.enable_progress_bar=false"
step "high contrast" "$PY" benchmarks/high_contrast.py --device cuda --sizes 1024 2048 --methods bbmg pyamg_rs \
    --checkpoint "$OUT/checkpoints/galerkin2d/best.ckpt" --out "$OUT"
# 7. the learned AMG on finite elements: trained on CUDA, evaluated on CUDA on the held-out meshes
step "learned AMG (fit)" bash -c "'$NS' generate --config configs/data/fe_diffusion_2d_mixed.yaml --out '$OUT/data/fe_2d' --overwrite=true \
    && '$NS' generate --config configs/data/fe_diffusion_2d_heldout.yaml --out '$OUT/data/fe_2d_heldout' --overwrite=true \
    && '$NS' fit --config configs/learned_amg_fe2d.yaml --trainer.accelerator=cuda \
    --data.init_args.train='$OUT/data/fe_2d/train' --data.init_args.val='$OUT/data/fe_2d/val' --data.init_args.large='$OUT/data/fe_2d_heldout/test' \
    --checkpoint.dirpath='$OUT/checkpoints/learned_amg' --trainer.enable_progress_bar=false"
step "learned AMG (evaluate)" "$NS" evaluate --config configs/eval/learned_amg_fe2d.yaml --requires='[]' --task.init_args.device=cuda \
    --task.init_args.systems="[$OUT/data/fe_2d_heldout/test]" --task.init_args.checkpoints="{learned_amg: $OUT/checkpoints/learned_amg/best.ckpt}" \
    --task.init_args.methods='[jacobi, pyamg_rs, amg, l1amg, learned_amg]' --out "$OUT/learned_amg_fe2d" --wandb=false
# 8. DCDM at reduced sizes, when the main job's checkpoint is there
if [ -f checkpoints/dcdm_poisson2d/best.ckpt ]; then
    step "dcdm" "$PY" benchmarks/dcdm.py --checkpoint-2d checkpoints/dcdm_poisson2d/best.ckpt --sizes-2d 256 1024 --out "$OUT"
else
    echo "== dcdm: skipped, no checkpoints/dcdm_poisson2d/best.ckpt (run make demo first)"
fi
echo "gpu-check: results in $OUT"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "gpu-check: failed: ${FAILED[*]}"
    exit 1
fi
