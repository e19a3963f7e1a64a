#!/usr/bin/env bash
# This build against an earlier release build, in the same run, through
# HTTP: two servers of the default model side by side (fp32, the same
# threads), `easel load` against each in turn (every request bypasses the
# answer cache), then `easel bench` of each; ROUNDS rounds, each build once
# per round, so that the machine's drift falls on both alike. JSON lines,
# one per build, concurrency (or batch) and round. Written to check that
# the Synthesizer refactor (issue 25) changed no speed.
#   bench/synthesizer_compare.sh PREVIOUS_EASEL [ROUNDS=3] [SECONDS=8]
# e.g. git worktree add ../prev 3a3658e && (cd ../prev && cargo build --release)
#      bench/synthesizer_compare.sh ../prev/target/release/easel 3 8
set -euo pipefail
cd "$(dirname "$0")/.."
PREV=${1:?give the earlier release build, e.g. ../prev/target/release/easel}
ROUNDS=${2:-3}
SECONDS_PER_RUN=${3:-8}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
NOW=./target/release/easel
MAP=models/landscapes/examples/mountain-lake.png
flags=$({ grep -o -w 'amx_bf16\|avx512_bf16\|avx512f' /proc/cpuinfo || true; } | sort -u | xargs)
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), flags: ${flags:-none}; previous: $PREV" >&2
LOGS=$(mktemp -d)
stop() { for f in "$LOGS"/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; rm -f "$f"; done; }
trap 'stop; rm -rf "$LOGS"' EXIT

serve() {  # binary label -> address (the server's pid in $LOGS/label.pid)
  "$1" serve --models models --bind 127.0.0.1:0 --compute fp32 --threads 1 \
    --request-timeout-ms 600000 --max-queue 64 > "$LOGS/$2" 2>&1 &
  echo $! > "$LOGS/$2.pid"
  for _ in $(seq 600); do grep -q "http://" "$LOGS/$2" && break; sleep 0.2; done
  grep -o 'http://[0-9.:]*' "$LOGS/$2" | head -1 | sed 's|http://||'
}
label() { python3 -c 'import json,sys
for l in sys.stdin:
    l = l.strip()
    if not l.startswith("{"): continue
    r = json.loads(l); r["build"] = sys.argv[1]; r["round"] = int(sys.argv[2]); print(json.dumps(r))' "$1" "$2"; }

prev_addr=$(serve "$PREV" previous)
now_addr=$(serve "$NOW" now)
for round in $(seq "$ROUNDS"); do
  "$PREV" load --addr "$prev_addr" --model landscapes --label "$MAP" --concurrency 1 4 --seconds "$SECONDS_PER_RUN" | label previous "$round"
  "$NOW" load --addr "$now_addr" --model landscapes --label "$MAP" --concurrency 1 4 --seconds "$SECONDS_PER_RUN" | label now "$round"
done
stop
sleep 1
for round in $(seq "$ROUNDS"); do
  "$PREV" bench --model models/landscapes --batch 1 4 --iters 5 --threads 2 --compute fp32 2>/dev/null | label previous "$round"
  "$NOW" bench --model models/landscapes --batch 1 4 --iters 5 --threads 2 --compute fp32 2>/dev/null | label now "$round"
done
