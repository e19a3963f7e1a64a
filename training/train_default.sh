#!/usr/bin/env bash
# Trains easel's default landscape model on the CPU (about 65-80 minutes on
# 2 cores), resuming from checkpoints/landscapes/latest when interrupted.
#   training/train_default.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-datasets/landscapes}
[ -d "$DATA/train_label" ] || ./target/release/easel dataset synth --out "$DATA" --count 4000 --seed 0
resume=()
[ -f checkpoints/landscapes/latest_net_G.pth ] && resume=(--continue_train)
exec .venv-train/bin/python -m easel_training train --name landscapes --checkpoints_dir checkpoints \
  --label_dir "$DATA/train_label" --image_dir "$DATA/train_img" --label_nc 12 --no_instance \
  --preprocess_mode crop --load_size 256 --crop_size 128 --batchSize 8 \
  --ngf 16 --spade_hidden 32 --ndf 32 --n_layers_D 3 --num_D 2 \
  --niter 5 --niter_decay 4 --max_dataset_size 3000 --bf16 --no_vgg_loss --gpu_ids -1 --seed 0 \
  --save_latest_freq 1000 --save_epoch_freq 1 --display_freq 2000 --print_freq 200 --nThreads 1 \
  "${resume[@]}" "$@"
