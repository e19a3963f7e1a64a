#!/usr/bin/env bash
# A lighter default model (issue 29), distilled from the default model's run:
# the student keeps the teacher's trunk (--ngf 16) and style encoder and
# makes its SPADE layers per-pixel (--spade_ks 1 --spade_hidden 16): 2.8
# GMAC at 256² against the teacher's 10.2 (bench/gmac.py).
#   1. the teacher: the run's exported weights (its moving average when it
#      kept one), batch norms recalibrated at 256², in checkpoints/$NAME-teacher
#   2. its images of v3's training maps (datasets/landscapes_v3, or MAPS of
#      them, evenly spread over its four sets), once: datasets/$NAME-cache
#      (resumable; the teacher costs ~0.4 s an image on an AVX2 CPU)
#   3. the student, from the teacher, for MINUTES (resumable: run it again)
#
#   training/distill_fast.sh [MINUTES]          # from the repository root
# TEACHER: a run folder (checkpoints/landscapes_v2, the model that ships,
# unpacked from its committed resume point when missing); NAME
# (landscapes_fast); MAPS (all).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-60}
TEACHER=${TEACHER:-checkpoints/landscapes_v2}
NAME=${NAME:-landscapes_fast}
PY=.venv-train/bin/python
export PYTHONPATH=$PWD/training
training/datasets_v3.sh
MIX=datasets/landscapes_v3
if [ -n "${MAPS:-}" ]; then
  # Every k-th map of the sorted mix: the four sets in their shares.
  SUB=datasets/$NAME-maps-$MAPS
  if [ ! -f "$SUB/done" ]; then
    rm -rf "$SUB" && mkdir -p "$SUB/train_label" "$SUB/train_img"
    mapfile -t all < <(ls "$MIX/train_label")
    for ((i = 0; i < MAPS && i * ${#all[@]} / MAPS < ${#all[@]}; i++)); do
      name=${all[i * ${#all[@]} / MAPS]}
      cp -P "$MIX/train_label/$name" "$SUB/train_label/"
      cp -P "$MIX/train_img/${name%.png}.jpg" "$SUB/train_img/"
    done
    touch "$SUB/done"
  fi
  MIX=$SUB
fi
if [ "$TEACHER" = checkpoints/landscapes_v2 ] && [ ! -f "$TEACHER/latest_net_G.pth" ]; then
  $PY -m easel_training unpack training/resume/landscapes_v2 "$TEACHER"
fi
# bf16 autocast where the CPU has native bf16; elsewhere PyTorch would emulate it, slower than fp32.
bf16=()
grep -q -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo && bf16=(--bf16)
T=checkpoints/$NAME-teacher
if [ ! -f "$T/done" ]; then
  rm -rf "$T"
  training/export_weights.sh "$TEACHER" "$T"
  cp "$TEACHER/latest_net_D.pth" "$T/"
  $PY -m easel_training recalibrate "$T" --label_dir datasets/landscapes/train_label \
    --image_dir datasets/landscapes/train_img --size 256
  touch "$T/done"
fi
$PY -m easel_training distill-cache "$T" --label_dir "$MIX/train_label" --image_dir "$MIX/train_img" \
  --out "datasets/$NAME-cache"
resume=()
[ -f "checkpoints/$NAME/latest_net_G.pth" ] && resume=(--continue_train)
cd training
exec ../.venv-train/bin/python -m easel_training train --name "$NAME" --checkpoints_dir ../checkpoints \
  --teacher "../$T" --distill_cache "../datasets/$NAME-cache" \
  --label_dir "../$MIX/train_label" --image_dir "../$MIX/train_img" --label_nc 12 --no_instance \
  --netG oasis --use_vae --z_dim 16 --ngf 16 --spade_hidden 16 --spade_ks 1 \
  --ndf 32 --n_layers_D 3 --num_D 2 --no_vgg_loss "${bf16[@]}" \
  --preprocess_mode resize_and_crop --load_size 256 --crop_size 256 --batchSize 4 \
  --niter 100 --niter_decay 0 --gpu_ids -1 --seed 0 --nThreads 1 \
  --save_latest_freq 2000 --save_epoch_freq 5 --display_freq 4000 --print_freq 800 \
  --ema 0.999 --max_minutes "$MINUTES" "${resume[@]}"
