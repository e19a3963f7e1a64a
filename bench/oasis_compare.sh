#!/usr/bin/env bash
# OASIS's ADE20K generator (random weights, 256x256) in eager PyTorch and in
# easel, on the same weights: checks that easel's import gives PyTorch's
# image, then times both in interleaved rounds, batch 1.
#
#   bench/oasis_compare.sh [ROUNDS] [ITERS]
#
# Needs PyTorch: TORCH_PYTHON (default .venv-train/bin/python; `make train-venv`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
ITERS=${2:-3}
TORCH_PYTHON=${TORCH_PYTHON:-.venv-train/bin/python}
WORK=${BENCH_DIR:-target/bench}/oasis
THREADS=${THREADS:-$(nproc)}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}

if [ ! -f "$WORK/ckpt/models/latest_EMA.pth" ]; then
  "$TORCH_PYTHON" bench/oasis_eager.py --save "$WORK/ckpt"
fi
if [ ! -f "$WORK/pkg/model.json" ]; then
  ./target/release/easel import "$WORK/ckpt" --out "$WORK/pkg" --classes ade20k >&2
fi
./target/release/easel generate --model "$WORK/pkg" --label "$WORK/ckpt/io/label.png" \
  --z "$WORK/ckpt/io/z.npy" -o "$WORK/out.png" --raw "$WORK/out.npy" --threads "$THREADS" >&2
"$TORCH_PYTHON" -c "
import numpy as np, sys
a, b = np.load('$WORK/out.npy'), np.load('$WORK/ckpt/io/output.npy')
err = float(np.abs(a - b).max())
print(f'# easel vs PyTorch: max abs difference {err:.2e}', file=sys.stderr)
sys.exit(0 if err < 1e-3 else 1)"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $THREADS" >&2
for round in $(seq "$ROUNDS"); do
  ./target/release/easel bench --model "$WORK/pkg" --batch 1 --iters "$ITERS" --threads "$THREADS"
  "$TORCH_PYTHON" bench/oasis_eager.py --load "$WORK/ckpt" --batch 1 --iters "$ITERS" --threads "$THREADS"
done
