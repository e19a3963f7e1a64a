#!/usr/bin/env bash
# Time per photo through the segment route on this machine: the default
# model's real-photo reading (DeepLabV3 at 513², its head, the refinements
# with the package's own segmenter) against the judge alone (the package's
# own segmenter), interleaved, ROUNDS rounds of one request each, after a
# warm-up; wall time at the client, as a painter's page waits for it.
#
#   bench/photo_segment.sh [ROUNDS] [WxH]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
size=${2:-256x256}
w=${size%x*}; h=${size#*x}
photo=tests/fixtures/photos/evening_glow.jpg
export ORT_DYLIB_PATH=$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)
port=$((20000 + RANDOM % 20000))
target/release/easel serve --models models --bind 127.0.0.1:$port >/tmp/easel-bench-photo.log 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
url="http://127.0.0.1:$port/api/v1/models/landscapes/segment?width=$w&height=$h"
one() { curl -sf -o /dev/null -w '%{time_total}\n' -H 'content-type: image/jpeg' --data-binary @"$photo" "$1"; }
one "$url" >/dev/null; one "$url&judge=true" >/dev/null
photo_t=(); judge_t=()
for _ in $(seq "$rounds"); do
  photo_t+=("$(one "$url")"); judge_t+=("$(one "$url&judge=true")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
p=$(median "${photo_t[@]}"); j=$(median "${judge_t[@]}")
echo "photo ${w}×${h} from a 960×540 JPEG, median of $rounds: photo reading $(awk -v p="$p" 'BEGIN{printf "%.0f", p*1000}') ms, judge alone $(awk -v j="$j" 'BEGIN{printf "%.0f", j*1000}') ms"
grep -m1 -o 'model name.*' /proc/cpuinfo || true
