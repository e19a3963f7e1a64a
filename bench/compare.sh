#!/usr/bin/env bash
# Times the full-size COCO-Stuff SPADE generator (ngf 64, 184 semantic
# channels, 256x256, random weights) in eager PyTorch and in easel, on the same
# weights, one after the other, and checks that their outputs agree.
#
#   bench/compare.sh [ITERS]
#
# Needs PyTorch for the baseline: TORCH_PYTHON (default .venv-train/bin/python;
# `make train-venv` installs it). Results are JSON lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS=${1:-3}
TORCH_PYTHON=${TORCH_PYTHON:-.venv-train/bin/python}
WORK=${BENCH_DIR:-target/bench}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$WORK"
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}

if [ ! -f "$WORK/coco_random/latest_net_G.pth" ]; then
  "$TORCH_PYTHON" bench/pytorch_eager.py --save-checkpoint "$WORK/coco_random" --save-io "$WORK/coco_random_io" --batch 1 --iters 1 >/dev/null
fi
if [ ! -f "$WORK/pkg/model.json" ]; then
  ./target/release/easel import "$WORK/coco_random" --out "$WORK/pkg" >&2
fi
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $THREADS" >&2
./target/release/easel bench --model "$WORK/pkg" --batch 1 8 --iters "$ITERS" --threads "$THREADS"
"$TORCH_PYTHON" bench/pytorch_eager.py --load-checkpoint "$WORK/coco_random" --batch 1 8 --iters "$ITERS" --threads "$THREADS"
.venv/bin/python bench/check_package_output.py "$WORK/pkg" "$WORK/coco_random_io"
