#!/usr/bin/env bash
# easel's CPU paths against PyTorch's, on the same weights, in the same run:
# easel `--compute fp32` (ONNX Runtime) and `--compute auto` (OpenVINO: bf16
# on CPUs with native bf16, fp32 elsewhere), PyTorch eager fp32 and
# torch.compile fp32, and on CPUs with native bf16 also eager bf16 autocast
# and torch.compile with bf16 (without it PyTorch emulates bf16, which no one
# would serve with), for the full-size COCO-Stuff SPADE generator (ngf 64,
# random weights) and the default model (its trainer's networks from the
# committed resume point), batch 1 and 8.
# Every variant runs once per round, in turn, so that the machine's drift
# falls on all alike. JSON lines on stdout, a markdown table at the end.
#
#   bench/compute_compare.sh [ROUNDS=2] [ITERS=3]
# BATCH ("1 8"), THREADS (all cores), VARIANTS (PyTorch's, as above).
#
# Needs PyTorch (`make train-venv`) and OpenVINO (`make venv`) for bf16.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
ITERS=${2:-3}
TORCH_PYTHON=${TORCH_PYTHON:-.venv-train/bin/python}
WORK=${BENCH_DIR:-target/bench}
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-1 8}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

if [ ! -f "$WORK/coco_random/latest_net_G.pth" ]; then
  "$TORCH_PYTHON" bench/pytorch_eager.py --save-checkpoint "$WORK/coco_random" --batch 1 --iters 1 >/dev/null
fi
if [ ! -f "$WORK/pkg/model.json" ]; then
  ./target/release/easel import "$WORK/coco_random" --out "$WORK/pkg" >&2
fi
flags=$({ grep -o -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo || true; } | sort -u | xargs)
if [ -n "$flags" ]; then default_variants="eager-fp32 eager-bf16 compile-fp32 compile-bf16"
else default_variants="eager-fp32 compile-fp32"; fi
VARIANTS=${VARIANTS:-$default_variants}
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), bf16 flags: ${flags:-none}; threads $THREADS, $ROUNDS rounds of $ITERS" >&2

for round in $(seq "$ROUNDS"); do
  echo "# round $round" >&2
  for model in "$WORK/pkg" models/landscapes; do
    for compute in fp32 auto; do
      ./target/release/easel bench --model "$model" --batch $BATCH --iters "$ITERS" \
        --threads "$THREADS" --compute "$compute" | tee -a "$OUT"
    done
  done
  # One process per round: torch.compile's compiles are paid in each round's
  # setup, not in the timed calls.
  PYTHONPATH=bench "$TORCH_PYTHON" bench/gpu_bench.py run --device cpu --routes pytorch \
    --variants $VARIANTS --batch $BATCH --iters "$ITERS" --warmup 1 \
    --threads "$THREADS" --coco-checkpoint "$WORK/coco_random" --coco-package "$WORK/pkg" | tee -a "$OUT"
done
"$TORCH_PYTHON" bench/gpu_bench.py table "$OUT"
