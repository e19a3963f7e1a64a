#!/usr/bin/env bash
# Soak test of `easel serve`: high concurrency, valid and invalid requests
# mixed (30% invalid: truncated PNGs, wrong content types, bad options), for
# a long time. Reports statuses, p99 latency and the server's resident
# memory at the start and the end; fails on any 5xx other than 503 or a
# connection error. With DISTINCT=1 every valid request asks for a new seed
# and may be cached, so the answer cache fills and evicts for the whole run
# (its bound: CACHE_MB, default 64); the end reports what it holds.
#   [DISTINCT=1] [CACHE_MB=64] tests/soak.sh [SECONDS=600] [CLIENTS=64]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-600}
CLIENTS=${2:-64}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
EASEL=${EASEL:-./target/release/easel}
LOG=$(mktemp)
trap 'rm -f "$LOG"; kill "$PID" 2>/dev/null || true' EXIT
CACHE_MB=${CACHE_MB:-64}
DISTINCT_FLAG=()
[ "${DISTINCT:-0}" = 1 ] && DISTINCT_FLAG=(--distinct)
"$EASEL" serve --models models --bind 127.0.0.1:0 --max-queue 64 --cache-mb "$CACHE_MB" > "$LOG" 2>&1 &
PID=$!
for _ in $(seq 600); do grep -q "http://" "$LOG" && break; sleep 0.2; done
ADDR=$(grep -o 'http://[0-9.:]*' "$LOG" | head -1 | sed 's|http://||')
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
MAP=models/landscapes/examples/mountain-lake.png
"$EASEL" load --addr "$ADDR" --model landscapes --label "$MAP" --concurrency "$CLIENTS" --seconds 20 --invalid-percent 30 "${DISTINCT_FLAG[@]}" > /dev/null
START=$(rss)
echo "# $(date -u +%FT%TZ) $(nproc) cores; $CLIENTS clients, 30% invalid, ${SECONDS_TOTAL}s, cache ${CACHE_MB} MiB ${DISTINCT_FLAG[*]}; rss after warm-up ${START} KiB" >&2
REPORT=$("$EASEL" load --addr "$ADDR" --model landscapes --label "$MAP" --concurrency "$CLIENTS" \
    --seconds "$SECONDS_TOTAL" --invalid-percent 30 "${DISTINCT_FLAG[@]}")
END=$(rss)
echo "$REPORT"
echo "{\"rss_start_kib\": $START, \"rss_end_kib\": $END}"
curl -s "http://$ADDR/metrics" | grep '^easel_cache_' || true
HEALTH=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/healthz" || true)
echo "{\"healthz_after\": \"$HEALTH\"}"
BAD=$(echo "$REPORT" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(n for s,n in r["statuses"].items() if not (s=="200" or s=="503" or s.startswith("4"))))')
[ "$BAD" = 0 ] && [ "$HEALTH" = 200 ] || { echo "soak failed: $BAD unexplained answers, healthz $HEALTH" >&2; exit 1; }
