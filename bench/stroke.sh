#!/usr/bin/env bash
# What a painter's stroke costs at the server: one client posting the
# default model's painted map at 256², every request past the answer cache
# (easel load bypasses it), the page's own throttle not counted. One server
# per --compute, started side by side: fp32 (ONNX Runtime) and auto
# (OpenVINO: bf16 where the CPU has native bf16, its fp32 elsewhere); the rounds take them in turn so that the machine's drift
# falls on both. Each is asked for the native image and for the page's
# preview while the pointer is down (the map nearest-scaled to 192², as
# the page's previewSize and LabelMap.resized make it), in turn. One JSON
# line per round, server and size (p50, p99, the server's own inference
# time), then a markdown table.
#   bench/stroke.sh [SECONDS_PER_RUN=15] [ROUNDS=3]
# MODEL: the model of models/ to post to (landscapes).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-15}
ROUNDS=${2:-3}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
EASEL=${EASEL:-./target/release/easel}
MODEL=${MODEL:-landscapes}
MAP=models/landscapes/examples/mountain-lake.png
WORK=$(mktemp -d)
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT
.venv-train/bin/python - "$MAP" "$WORK/preview.png" <<'PY'
import sys
import numpy as np
from PIL import Image
label = np.asarray(Image.open(sys.argv[1]))
# LabelMap.resized: source pixel floor(dst · in/out), in single precision.
src = (np.arange(192, dtype=np.float32) * np.float32(label.shape[0] / 192)).astype(int)
Image.fromarray(label[src][:, src]).save(sys.argv[2])
PY
declare -A maps=([native]="$MAP" [preview]="$WORK/preview.png")

computes=(fp32 auto)
flags=$({ grep -o -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo || true; } | sort -u | xargs)
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), bf16 flags: ${flags:-none}" >&2

declare -A addr path
for compute in "${computes[@]}"; do
  "$EASEL" serve --models models --bind 127.0.0.1:0 --compute "$compute" --request-timeout-ms 60000 \
    > "$WORK/$compute.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do grep -q "http://" "$WORK/$compute.log" && break; sleep 0.2; done
  addr[$compute]=$(grep -o 'http://[0-9.:]*' "$WORK/$compute.log" | head -1 | sed 's|http://||')
  # "compute: bf16 on cpu (openvino; why)": the runtime and the arithmetic.
  path[$compute]=$(grep -m1 '^compute:' "$WORK/$compute.log" | sed -E 's/^compute: ([a-z0-9]+) on [^ ]+ \(([a-z]+);.*/\2 \1/')
  echo "# $compute at ${addr[$compute]}: $(grep -m1 '^compute:' "$WORK/$compute.log")" >&2
done

for round in $(seq "$ROUNDS"); do
  for compute in "${computes[@]}"; do
    for size in native preview; do
      "$EASEL" load --addr "${addr[$compute]}" --model "$MODEL" --label "${maps[$size]}" --concurrency 1 \
        --seconds "$SECONDS_PER_RUN" --rounds 1 |
        python3 -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line); r["compute"], r["size"], r["round"] = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(r))' "--compute $compute: ${path[$compute]}" "$size" "$round" |
        tee -a "$WORK/runs.jsonl"
    done
  done
done

python3 - "$WORK/runs.jsonl" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print("\n| compute | image | p50 ms (per round) | p99 ms (per round) | server inference ms/image | images/s |")
print("|---|---|---|---|---:|---:|")
for compute, size in dict.fromkeys((r["compute"], r["size"]) for r in runs):
    rs = [r for r in runs if (r["compute"], r["size"]) == (compute, size)]
    col = lambda k: " / ".join(f"{r[k]:.0f}" for r in rs)
    inf = sorted(r.get("server_inference_ms_per_image") or 0 for r in rs)[len(rs) // 2]
    ips = sorted(r["images_per_second"] for r in rs)[len(rs) // 2]
    label = "native 256²" if size == "native" else "preview 192²"
    print(f"| {compute} | {label} | {col('p50_ms')} | {col('p99_ms')} | {inf:.0f} | {ips:.2f} |")
PY
