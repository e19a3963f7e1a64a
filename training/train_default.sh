#!/usr/bin/env bash
# Trains easel's default landscape model, v2: OASIS's generator with a style
# encoder whose z (16 values) is the noise, so the model takes a look (noon,
# golden hour, overcast, dawn…) and any canvas size. bf16 autocast on the CPU.
# Resumable: it continues from checkpoints/landscapes_v2/latest when that
# exists (--continue_train), and stops after MINUTES, saving where it is.
#
#   training/train_default.sh [MINUTES] [SIZE]     # from the repository root
#
# SIZE 128 (default): whole 256² frames scaled to 128², most of the budget;
# SIZE 256: full-frame fine-tuning at the serving size.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-60}
SIZE=${2:-128}
DATA=${DATA:-datasets/landscapes}
NAME=${NAME:-landscapes_v2}
[ -f "$DATA/scenes.tsv" ] || ./target/release/easel dataset synth --out "$DATA" --count 6000 --seed 0
case "$SIZE" in
  128) batch=8 ;;
  256) batch=4 ;;
  *) echo "SIZE must be 128 or 256, not $SIZE" >&2; exit 2 ;;
esac
resume=()
[ -f "checkpoints/$NAME/latest_net_G.pth" ] && resume=(--continue_train)
cd training
exec ../.venv-train/bin/python -m easel_training train --name "$NAME" --checkpoints_dir ../checkpoints \
  --label_dir "../$DATA/train_label" --image_dir "../$DATA/train_img" --label_nc 12 --no_instance \
  --netG oasis --use_vae --z_dim 16 --ngf 16 --spade_hidden 32 \
  --ndf 32 --n_layers_D 3 --num_D 2 --no_vgg_loss --bf16 \
  --preprocess_mode resize_and_crop --load_size "$SIZE" --crop_size "$SIZE" --batchSize "$batch" \
  --niter 100 --niter_decay 0 --gpu_ids -1 --seed 0 --nThreads 1 \
  --save_latest_freq 2000 --save_epoch_freq 5 --display_freq 4000 --print_freq 800 \
  --max_minutes "$MINUTES" "${resume[@]}"
