#!/usr/bin/env bash
# Trains the default landscape model v3 (issue 27) from v2's committed
# resume point on maps laid out as painters and photographs lay them out,
# beside the composer's scenes v2 learnt from (datasets/landscapes_v3, which
# training/datasets_v3.sh builds once).
# Resumable: training continues from
# checkpoints/landscapes_v3/latest when it exists, else from the committed
# training/resume/landscapes_v3 (pack it after each leg), else v2's, and
# stops after MINUTES, saving where it is. From leg 4 on it keeps the
# weights' moving average (--ema 0.999, about the last thousand steps), which
# training/package_run.sh packages.
#
#   training/train_v3.sh [MINUTES] [SIZE]     # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-60}
SIZE=${2:-128}
NAME=${NAME:-landscapes_v3}
PY=.venv-train/bin/python
export PYTHONPATH=$PWD/training
training/datasets_v3.sh
MIX=datasets/landscapes_v3
# bf16 autocast where the CPU has native bf16; elsewhere PyTorch would emulate it, slower than fp32.
bf16=()
grep -q -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo && bf16=(--bf16)
case "$SIZE" in
  128) batch=8 ;;
  256) batch=4 ;;
  *) echo "SIZE must be 128 or 256, not $SIZE" >&2; exit 2 ;;
esac
# A fresh machine resumes from the committed v3 point when there is one.
start=training/resume/landscapes_v2
[ -f training/resume/landscapes_v3/weights.pt ] && start=training/resume/landscapes_v3
[ -f "checkpoints/$NAME/latest_net_G.pth" ] || $PY -m easel_training unpack "$start" "checkpoints/$NAME"
cd training
exec ../.venv-train/bin/python -m easel_training train --name "$NAME" --checkpoints_dir ../checkpoints \
  --label_dir "../$MIX/train_label" --image_dir "../$MIX/train_img" --label_nc 12 --no_instance \
  --netG oasis --use_vae --z_dim 16 --ngf 16 --spade_hidden 32 \
  --ndf 32 --n_layers_D 3 --num_D 2 --no_vgg_loss "${bf16[@]}" \
  --preprocess_mode resize_and_crop --load_size "$SIZE" --crop_size "$SIZE" --batchSize "$batch" \
  --niter 100 --niter_decay 0 --gpu_ids -1 --seed 0 --nThreads 1 \
  --save_latest_freq 2000 --save_epoch_freq 5 --display_freq 4000 --print_freq 800 \
  --ema 0.999 --max_minutes "$MINUTES" --continue_train
