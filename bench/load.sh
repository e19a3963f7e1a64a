#!/usr/bin/env bash
# Load test of `easel serve`: concurrency 1, 8 and 32 against the default
# model and against a full-size random-weight COCO-Stuff generator (ngf 64,
# 184 channels, 256×256). One JSON line per run (throughput, p50/p99,
# statuses, batch sizes, the server's inference time per image). Each
# concurrency runs once per round, in turn, so that the machine's drift in
# speed falls on all of them alike.
#   bench/load.sh [SECONDS_PER_RUN] [FULL_SECONDS_PER_RUN] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SHORT=${1:-8}
LONG=${2:-30}
ROUNDS=${3:-4}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
EASEL=./target/release/easel
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

run() {  # models-folder model label seconds
  "$EASEL" serve --models "$1" --bind 127.0.0.1:0 --request-timeout-ms 600000 --max-queue 64 > "$LOG" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do grep -q "http://" "$LOG" && break; sleep 0.2; done
  local addr
  addr=$(grep -o 'http://[0-9.:]*' "$LOG" | head -1 | sed 's|http://||')
  echo "# $2 at $addr: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
  "$EASEL" load --addr "$addr" --model "$2" --label "$3" --concurrency 1 8 32 --seconds "$4" --rounds "$ROUNDS"
  kill -TERM "$pid"
  wait "$pid"
}

run models landscapes models/landscapes/examples/mountain-lake.png "$SHORT"
[ -f target/bench/random-full/model.json ] || "$EASEL" bench --keep target/bench/random-full --batch 1 --iters 1 >/dev/null
# The landscape map's classes (0-11) are valid COCO-Stuff classes too.
run target/bench/random-full random-coco-full models/landscapes/examples/mountain-lake.png "$LONG"
