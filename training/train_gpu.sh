#!/usr/bin/env bash
# Trains (or fine-tunes) the default model on one CUDA GPU in bf16 for
# MINUTES, continuing from the packed resume point committed in
# training/resume/landscapes_v2, and writes the new packed point to OUT in
# pieces under 16 MiB (the device tool brings back files up to 16 MiB).
#
#   training/train_gpu.sh MINUTES [SIZE] [OUT]     # from the repository root
#
# It needs only python3 with PyTorch (CUDA), numpy and pillow (what the lent
# GPU machines have; nothing is installed) and an easel binary to render the
# dataset there (EASEL, default target/easel-synth: `make gpu-bundle` strips
# one small enough to carry). Dry run on the CPU: DEVICE=cpu MINUTES=0.2.
# Back here: cat OUT/weights.pt.part-* > DIR/weights.pt, copy OUT's opt.txt
# and iter.txt beside it, and `python -m easel_training unpack DIR RUN`.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-8}
SIZE=${2:-256}
OUT=${3:-${OUT:-target/gpu-out}}
EASEL=${EASEL:-target/easel-synth}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/easel-gpu}
DATA=$WORK/data
RUN=$WORK/checkpoints/landscapes_v2
case "$SIZE" in
  128) batch=32 ;;
  256) batch=16 ;;
  *) echo "SIZE must be 128 or 256, not $SIZE" >&2; exit 2 ;;
esac
gpu=(--gpu_ids 0)
workers=8
[ "$DEVICE" = cpu ] && { gpu=(--gpu_ids -1); batch=4; workers=1; }

[ -f "$DATA/scenes.tsv" ] || "$EASEL" dataset synth --out "$DATA" --count 6000 --seed 0 >&2
export PYTHONPATH=$PWD/training
[ -f "$RUN/latest_net_G.pth" ] || "$PY" -m easel_training unpack training/resume/landscapes_v2 "$RUN"
"$PY" -m easel_training train --name landscapes_v2 --checkpoints_dir "$WORK/checkpoints" \
  --label_dir "$DATA/train_label" --image_dir "$DATA/train_img" --label_nc 12 --no_instance \
  --netG oasis --use_vae --z_dim 16 --ngf 16 --spade_hidden 32 \
  --ndf 32 --n_layers_D 3 --num_D 2 --no_vgg_loss --bf16 \
  --preprocess_mode resize_and_crop --load_size "$SIZE" --crop_size "$SIZE" --batchSize "$batch" \
  --niter 100 --niter_decay 0 "${gpu[@]}" --seed 0 --nThreads "$workers" \
  --save_latest_freq 4000 --save_epoch_freq 1000 --display_freq 100000 --print_freq 1600 \
  --max_minutes "$MINUTES" --continue_train
mkdir -p "$OUT"
"$PY" -m easel_training pack "$RUN" "$WORK/packed"
split -b 15M -d "$WORK/packed/weights.pt" "$OUT/weights.pt.part-"
cp "$WORK/packed/opt.txt" "$WORK/packed/iter.txt" "$OUT/"
ls -l "$OUT"
