#!/usr/bin/env bash
# The default model judged on maps laid out as painters and photographs lay
# them out (issue 27), with the reference-free judges of the trainer's
# `evaluate --reference_free`: anisotropy (median, p90), detail per class as
# a ratio to the renderer's photos, read-back pixel accuracy by the judge
# segmenter. Four held-out sets, none ever trained on:
#   painted  python -m easel_training layouts painted (seed 2701): brush, fill,
#            full frames, blobs, tilted horizons, 2:1 and 3:2 canvases
#   coco     the shared COCO-Stuff photos' layouts in landscape classes
#   opened   the shared COCO-Stuff photos opened as maps (`easel segment`)
#   heldout  renderer scenes of seed 1, with their photos (also ΔE, sharpness)
# Each image in the model's default look (`easel test` without photos), the
# held-out scenes' in the look of their own photos.
#   bench/painter_judges.sh [OUT]        # from the repository root
# MODEL (models/landscapes), COUNT (painted maps, 120), HELD_COUNT (100).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-checkpoints/painter_judges}
MODEL=${MODEL:-models/landscapes}
COUNT=${COUNT:-120}
HELD_COUNT=${HELD_COUNT:-100}
HELD=${HELD:-datasets/landscapes_heldout}
SHARED=${EASEL_SHARED_DIR:-../shared}
PY=.venv-train/bin/python
EASEL=./target/release/easel
JUDGE=training/judges/segmenter.pth
CLASSES=server/data/classes/landscapes-12.tsv
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
export PYTHONPATH=$PWD/training
LAYOUTS=$OUT/layouts
mkdir -p "$LAYOUTS"

[ -d "$LAYOUTS/painted" ] || $PY -m easel_training layouts painted --seed 2701 --count "$COUNT" \
  --out "$LAYOUTS/painted" >/dev/null
[ -d "$LAYOUTS/coco" ] || $PY -m easel_training layouts coco --coco_dir "$SHARED/fixtures/coco_stuff" \
  --out "$LAYOUTS/coco" >/dev/null
if [ ! -d "$LAYOUTS/opened" ]; then
  mkdir -p "$LAYOUTS/opened.tmp"
  for photo in "$SHARED"/fixtures/coco_stuff/{val,train}_img/*.jpg; do
    $EASEL segment --model models/landscapes --photo "$photo" --size 256x256 \
      -o "$LAYOUTS/opened.tmp/opened-$(basename "${photo%.*}").png" >/dev/null
  done
  mv "$LAYOUTS/opened.tmp" "$LAYOUTS/opened"
fi
[ -f "$HELD/scenes.tsv" ] || $EASEL dataset synth --out "$HELD" --count 300 --seed 1 --test-fraction 1 >/dev/null
if [ ! -d "$LAYOUTS/heldout_label" ]; then
  mkdir -p "$LAYOUTS/heldout_label.tmp" "$LAYOUTS/heldout_img"
  for label in $(ls "$HELD"/test_label/*.png | head -"$HELD_COUNT"); do
    stem=$(basename "${label%.*}")
    cp "$label" "$LAYOUTS/heldout_label.tmp/"
    cp "$HELD"/test_img/"$stem".* "$LAYOUTS/heldout_img/"
  done
  mv "$LAYOUTS/heldout_label.tmp" "$LAYOUTS/heldout_label"
fi

judge() {  # set label_dir [image_dir: style from each map's photo, and ΔE, sharpness, streaks]
  local set=$1 labels=$2 photos=()
  [ -z "${3:-}" ] || photos=(--image_dir "$3")
  rm -rf "$OUT/results/$set"
  $EASEL test --name "$set" --model "$MODEL" --label_dir "$labels" "${photos[@]}" \
    --results_dir "$OUT/results" --which_epoch latest >/dev/null
  $PY -m easel_training evaluate --segmenter "$JUDGE" --label_dir "$labels" "${photos[@]}" \
    --generated_dir "$OUT/results/$set/test_latest/images/synthesized_image" --classes "$CLASSES" \
    --reference_free --reference_label_dir "$LAYOUTS/heldout_label" \
    --reference_image_dir "$LAYOUTS/heldout_img" > "$OUT/$set.json"
}
judge painted "$LAYOUTS/painted"
judge coco "$LAYOUTS/coco"
judge opened "$LAYOUTS/opened"
judge heldout "$LAYOUTS/heldout_label" "$LAYOUTS/heldout_img"

$PY - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
print(f"{'set':8} {'images':>6} {'aniso med':>9} {'p90':>6} {'read-back':>9}  detail ratio grass / tree / water")
for name in ("painted", "coco", "opened", "heldout"):
    r = json.load(open(f"{out}/{name}.json"))
    f, d = r["reference_free"], r["reference_free"].get("detail_ratio", {})
    ratios = " / ".join(f"{d[c]:.2f}" if c in d else "-" for c in ("grass", "tree", "water"))
    print(f"{name:8} {f['images']:>6} {f['anisotropy_median']:>9.3f} {f['anisotropy_p90']:>6.3f} "
          f"{r['generated']['pixel_accuracy']:>9.3f}  {ratios}")
EOF
