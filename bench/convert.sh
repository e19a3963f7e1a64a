#!/usr/bin/env bash
# Times `easel dataset convert` against the custom-dataset guide's numpy +
# OpenCV loop (bench/convert_reference.py) on the same generated CamVid-style
# annotations, checks that both give the same class maps, and prints both
# times and the speed-up.
#
#   bench/convert.sh [COUNT] [WIDTH] [HEIGHT]      (default 100 960 720)
#
# Installs opencv-python-headless into .venv when it is missing. The palette
# is the shared fixtures' CamVid label_colors.txt ($EASEL_SHARED_DIR/fixtures,
# else ../shared/fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-100}
WIDTH=${2:-960}
HEIGHT=${3:-720}
PY=.venv/bin/python
SHARED=${EASEL_SHARED_DIR:-../shared}
PALETTE=$SHARED/fixtures/classes/camvid-32-label_colors.txt
WORK=${BENCH_DIR:-target/bench}/convert
THREADS=${THREADS:-$(nproc)}

"$PY" -c "import cv2" 2>/dev/null || .venv/bin/pip install --quiet --disable-pip-version-check opencv-python-headless
cargo build --release --locked --quiet
rm -rf "$WORK" && mkdir -p "$WORK"
"$PY" bench/make_annotations.py --palette "$PALETTE" --out "$WORK/rgb" --count "$COUNT" --width "$WIDTH" --height "$HEIGHT"

# Wall and CPU (user + system) seconds of a command: CPU time is the steadier
# figure on a machine that other jobs share.
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$out" "$@" >/dev/null 2>"$out.log" || { cat "$out.log" >&2; exit 1; }
}
timed "$WORK/t_easel" ./target/release/easel dataset convert --palette "$PALETTE" "$WORK/rgb" "$WORK/easel" --strip-suffix _L --threads "$THREADS"
timed "$WORK/t_easel1" ./target/release/easel dataset convert --palette "$PALETTE" "$WORK/rgb" "$WORK/easel1" --strip-suffix _L --threads 1
timed "$WORK/t_reference" "$PY" bench/convert_reference.py --palette "$PALETTE" "$WORK/rgb" "$WORK/reference"

"$PY" - "$WORK" <<'PYEOF'
import os, sys
import cv2, numpy as np
work = sys.argv[1]
names = sorted(n for n in os.listdir(f"{work}/reference") if n.endswith(".png"))
assert names == sorted(n for n in os.listdir(f"{work}/easel") if n.endswith(".png")), "different files"
for n in names:
    a = cv2.imread(f"{work}/easel/{n}", cv2.IMREAD_UNCHANGED)
    b = cv2.imread(f"{work}/reference/{n}", cv2.IMREAD_UNCHANGED)
    assert a.shape == b.shape and (a == b).all(), f"{n} differs"
    assert (a == cv2.imread(f"{work}/easel1/{n}", cv2.IMREAD_UNCHANGED)).all()
print(f"outputs agree: {len(names)} maps, every pixel", file=sys.stderr)
PYEOF

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg); $COUNT annotations ${WIDTH}x${HEIGHT}"
read -r ew eu es <"$WORK/t_easel"
read -r e1w e1u e1s <"$WORK/t_easel1"
read -r rw ru rs <"$WORK/t_reference"
awk -v ew="$ew" -v ec="$(echo "$eu + $es" | bc)" -v e1w="$e1w" -v e1c="$(echo "$e1u + $e1s" | bc)" \
    -v rw="$rw" -v rc="$(echo "$ru + $rs" | bc)" -v n="$COUNT" -v th="$THREADS" 'BEGIN {
  printf "                                   wall       CPU\n"
  printf "easel dataset convert (%d threads): %6.2f s  %6.2f s  (%.1f files/s)\n", th, ew, ec, n / ew
  printf "easel dataset convert (1 thread):  %6.2f s  %6.2f s  (%.1f files/s)\n", e1w, e1c, n / e1w
  printf "numpy + OpenCV reference loop:     %6.2f s  %6.2f s  (%.1f files/s)\n", rw, rc, n / rw
  printf "speed-up, wall: %.0fx (%d threads), %.0fx (1 thread); CPU time: %.0fx less\n", rw / ew, th, rw / e1w, rc / ec
}'
