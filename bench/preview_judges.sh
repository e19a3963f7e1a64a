#!/usr/bin/env bash
# The page's preview judged as a painter sees it (issue 29): the map
# nearest-scaled by SCALE (0.75, the page's PREVIEW_SCALE; each side
# rounded to a multiple of 32, as previewSize and LabelMap.resized make
# it), generated at that size, scaled back up to the map's size
# (bicubic) and read back by the judge segmenter against the full-size map;
# beside it the native image of the same map, in the same run. Two held-out
# sets from bench/painter_judges.sh's layouts: the renderer's scenes of seed
# 1 and the painted maps of seed 2701, each in the model's default look.
#   bench/preview_judges.sh LAYOUTS [OUT]     # from the repository root
# LAYOUTS: a painter_judges.sh run's layouts/ folder. MODEL (models/landscapes).
set -euo pipefail
cd "$(dirname "$0")/.."
LAYOUTS=$1
OUT=${2:-checkpoints/preview_judges}
MODEL=${MODEL:-models/landscapes}
SCALE=${SCALE:-0.75}
PY=.venv-train/bin/python
EASEL=./target/release/easel
JUDGE=training/judges/segmenter.pth
CLASSES=server/data/classes/landscapes-12.tsv
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
export PYTHONPATH=$PWD/training
for set in heldout_label painted; do
  [ -d "$LAYOUTS/$set" ] || { echo "$LAYOUTS/$set is missing: run bench/painter_judges.sh first" >&2; exit 2; }
done
rm -rf "$OUT" && mkdir -p "$OUT"

for set in heldout_label painted; do
  mkdir -p "$OUT/small/$set"
  $PY - "$LAYOUTS/$set" "$OUT/small/$set" "$SCALE" <<'PY'
import os, sys
import numpy as np
from PIL import Image
src, out, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
for name in sorted(os.listdir(src)):
    label = np.asarray(Image.open(os.path.join(src, name)))
    h, w = label.shape
    # previewSize: scale each side, in multiples of 32 (Math.round); LabelMap.resized:
    # floor(dst·in/out) in single precision.
    hh, hw = (max(32, int(side * scale / 32 + 0.5) * 32) for side in (h, w))
    ys = np.minimum(h - 1, (np.arange(hh, dtype=np.float32) * np.float32(h / hh)).astype(int))
    xs = np.minimum(w - 1, (np.arange(hw, dtype=np.float32) * np.float32(w / hw)).astype(int))
    Image.fromarray(label[ys][:, xs]).save(os.path.join(out, name))
PY
  for kind in native preview; do
    labels=$LAYOUTS/$set
    [ "$kind" = preview ] && labels=$OUT/small/$set
    $EASEL test --name "$set-$kind" --model "$MODEL" --label_dir "$labels" --results_dir "$OUT/results" \
      --which_epoch latest >/dev/null
    $PY -m easel_training evaluate --segmenter "$JUDGE" --label_dir "$LAYOUTS/$set" \
      --generated_dir "$OUT/results/$set-$kind/test_latest/images/synthesized_image" --classes "$CLASSES" \
      > "$OUT/$set-$kind.json"
  done
done

$PY - "$OUT" "$SCALE" <<'EOF'
import json, sys
out = sys.argv[1]
print(f"| set | images | read-back native | read-back preview (×{sys.argv[2]}, scaled up) |")
print("|---|---:|---:|---:|")
for name, label in (("heldout_label", "held-out renderer scenes"), ("painted", "painted maps")):
    native, preview = (json.load(open(f"{out}/{name}-{k}.json"))["generated"] for k in ("native", "preview"))
    print(f"| {label} | {native.get('images', '')} | {native['pixel_accuracy']:.3f} | "
          f"{preview['pixel_accuracy']:.3f} |")
EOF
