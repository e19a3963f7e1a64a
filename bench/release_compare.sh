#!/usr/bin/env bash
# This build against an earlier release build, in the same run: fp32 (the
# path of CPUs without native bf16) on both, and this build's bf16 where
# the CPU has it; the full-size random COCO-Stuff package
# (target/bench/pkg, from compute_compare.sh) and the default model, batch
# 1 and 8. Every variant once per round, in turn. JSON lines, one per
# variant, batch and round.
#   bench/release_compare.sh PREVIOUS_EASEL [ROUNDS=2]
# e.g. git worktree add ../prev 29308c1 && (cd ../prev && cargo build --release)
#      bench/release_compare.sh ../prev/target/release/easel 2
set -euo pipefail
cd "$(dirname "$0")/.."
PREV=${1:?give the earlier release build, e.g. ../prev/target/release/easel}
ROUNDS=${2:-2}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
NOW=./target/release/easel
[ -f target/bench/pkg/model.json ] || { echo "run bench/compute_compare.sh first (it writes target/bench/pkg)" >&2; exit 2; }
flags=$({ grep -o -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo || true; } | sort -u | xargs)
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), bf16 flags: ${flags:-none}; previous: $PREV ($("$PREV" --version))" >&2
label() { python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l); r["build"] = sys.argv[1]; r["round"] = int(sys.argv[2]); print(json.dumps(r))' "$1" "$2"; }
for round in $(seq "$ROUNDS"); do
  for model in target/bench/pkg models/landscapes; do
    iters=$([ "$model" = models/landscapes ] && echo 5 || echo 2)
    "$PREV" bench --model "$model" --batch 1 8 --iters "$iters" --threads 2 2>/dev/null | label previous "$round"
    "$NOW" bench --model "$model" --batch 1 8 --iters "$iters" --threads 2 --compute fp32 2>/dev/null | label now "$round"
    if [ -n "$flags" ]; then
      "$NOW" bench --model "$model" --batch 1 8 --iters "$iters" --threads 2 --compute bf16 2>/dev/null | label now "$round"
    fi
  done
done
