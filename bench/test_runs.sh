#!/usr/bin/env bash
# What `easel test` makes per second with and without scores (--evaluate),
# in fp32 and bf16 (where the CPU has it): COUNT held-out synthetic scenes
# with their photos, the default model, every variant once per round, in
# turn. One line per run.
#   bench/test_runs.sh [COUNT=100] [ROUNDS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-100}
ROUNDS=${2:-2}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
EASEL=./target/release/easel
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$EASEL" dataset synth --out "$WORK/held" --count "$COUNT" --seed 1 --test-fraction 1 >/dev/null 2>&1
computes=(fp32)
grep -q -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo && computes+=(bf16)
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
for round in $(seq "$ROUNDS"); do
  for scores in "" --evaluate; do
    for compute in "${computes[@]}"; do
      rm -rf "$WORK/results"
      line=$("$EASEL" test --name r --model models/landscapes --label_dir "$WORK/held/test_label" \
        --image_dir "$WORK/held/test_img" --results_dir "$WORK/results" --compute "$compute" $scores 2>/dev/null | sed -n 1p)
      echo "round $round, $compute${scores:+, $scores}: $line"
    done
  done
done
