#!/usr/bin/env bash
# After train_default.sh: judges the v2 landscape model as a painter sees it
# and packages it. On held-out synthetic scenes (seed 1, never trained on):
# generated/real mIoU with the segmenter, per class; per-class mean colour ΔE,
# sharpness and streak ratios (style from the matching real photo, as
# `easel test` does for style models); each preset judged by the light
# classifier; grids for the docs. Writes evaluation.json and training.json
# into the run, imports the package (fp16) with its presets into OUT.
#   training/evaluate_default_v2.sh [OUT]      # from the repository root
# BASELINE=models/landscapes also scores the shipped model on the same scenes
# (EVAL/baseline.json); PRESET_COUNT (100) sets the maps per preset,
# PAINTED_LAYOUTS judges the presets on painter-like maps too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-checkpoints/eval_v2/package}
RUN=${RUN:-checkpoints/landscapes_v2}
DATA=${DATA:-datasets/landscapes}
HELD=${HELD:-datasets/landscapes_heldout}
EVAL=${EVAL:-checkpoints/eval_v2}
PRESET_COUNT=${PRESET_COUNT:-100}
JUDGES=training/judges
PY=.venv-train/bin/python
EASEL=./target/release/easel
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
export PYTHONPATH=$PWD/training
mkdir -p "$EVAL" "$JUDGES"

# The judges, trained once on the training set's photos and committed.
[ -f "$JUDGES/segmenter.pth" ] || $PY -m easel_training segmenter --label_dir "$DATA/train_label" \
  --image_dir "$DATA/train_img" --label_nc 12 --out "$JUDGES/segmenter.pth" --epochs 4 \
  --max_dataset_size 1500 --seed 0
[ -f "$JUDGES/light.pth" ] || $PY -m easel_training light "$DATA" --out "$JUDGES/light.pth"
# Held-out scenes: another seed, all of them a test split.
[ -f "$HELD/scenes.tsv" ] || $EASEL dataset synth --out "$HELD" --count 300 --seed 1 --test-fraction 1

# Served at 256² after training mostly at 128²: the batch norms' statistics
# recomputed over full 256² frames before export (weights unchanged), on a
# copy of the weights exported (the moving average of a run that kept one).
EXPORT=$EVAL/export
rm -rf "$EXPORT"
training/export_weights.sh "$RUN" "$EXPORT"
$PY -m easel_training recalibrate "$EXPORT" --label_dir "$DATA/train_label" \
  --image_dir "$DATA/train_img" --size 256

rm -rf "$OUT"
$EASEL import "$EXPORT" --out "$OUT" --classes landscapes --name landscapes --precision fp16 --crop-size 256 \
  --licence "Apache-2.0, as easel: trained by easel's own trainer on its synthetic scenes"
cp -r models/landscapes/examples "$OUT/"
# The package reads photos with the same judge that scores it (issue 17).
$EASEL import-segmenter "$JUDGES/segmenter.pth" --package "$OUT" --classes landscapes
$PY training/make_presets.py "$EXPORT" "$DATA" "$OUT"

# Style from each scene's own photo (easel test does that for style models).
rm -rf "$EVAL/results"
$EASEL test --name heldout --model "$OUT" --label_dir "$HELD/test_label" --image_dir "$HELD/test_img" \
  --results_dir "$EVAL/results" --which_epoch latest >/dev/null
GEN="$EVAL/results/heldout/test_latest/images/synthesized_image"
$PY -m easel_training evaluate --segmenter "$JUDGES/segmenter.pth" --label_dir "$HELD/test_label" \
  --image_dir "$HELD/test_img" --generated_dir "$GEN" --classes server/data/classes/landscapes-12.tsv \
  > "$EVAL/evaluation.json"

# The shipped model on the same scenes, with the same judges: the "before".
if [ -n "${BASELINE:-}" ]; then
  rm -rf "$EVAL/baseline"
  $EASEL test --name heldout --model "$BASELINE" --label_dir "$HELD/test_label" --image_dir "$HELD/test_img" \
    --results_dir "$EVAL/baseline" --which_epoch latest >/dev/null
  $PY -m easel_training evaluate --segmenter "$JUDGES/segmenter.pth" --label_dir "$HELD/test_label" \
    --image_dir "$HELD/test_img" --generated_dir "$EVAL/baseline/heldout/test_latest/images/synthesized_image" \
    --classes server/data/classes/landscapes-12.tsv > "$EVAL/baseline.json"
fi

# Each preset over the first PRESET_COUNT (100) held-out maps, judged by the
# light classifier; with PAINTED_LAYOUTS (a folder of painter-like maps,
# bench/painter_judges.sh's layouts/painted) over those too.
bench/preset_judges.sh "$OUT" "$HELD/test_label" "$EVAL/presets" "$PRESET_COUNT" > "$EVAL/presets.json"
if [ -n "${PAINTED_LAYOUTS:-}" ]; then
  bench/preset_judges.sh "$OUT" "$PAINTED_LAYOUTS" "$EVAL/presets-painted" "$PRESET_COUNT" \
    > "$EVAL/presets-painted.json"
fi
presets=$($PY -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))))" "$EVAL/presets.json")
for preset in $presets; do
  rm -rf "$EVAL/painted-$preset" && mkdir -p "$EVAL/painted-$preset"
  for label in "$OUT"/examples/*.png; do
    $EASEL generate --model "$OUT" --label "$label" --style-preset "$preset" \
      -o "$EVAL/painted-$preset/$(basename "$label")" >/dev/null
  done
done
# The run's opt.txt names its data relative to training/, where it trained.
(cd training && "$ROOT/$PY" -m easel_training summary "$ROOT/$RUN") > "$RUN/training.json"
# The figures go into the run (for later imports) and into this package's card.
$PY - "$EVAL" "$RUN" "$OUT" <<'PYEOF'
import json, sys
ev, run, out = sys.argv[1:4]
result = json.load(open(f"{ev}/evaluation.json"))
result["presets_light_share"] = json.load(open(f"{ev}/presets.json"))
try:
    result["presets_light_share_painted"] = json.load(open(f"{ev}/presets-painted.json"))
except FileNotFoundError:
    pass
result["heldout"] = "300 synthetic scenes, seed 1 (training used seed 0)"
json.dump(result, open(f"{run}/evaluation.json", "w"), indent=1)
card = json.load(open(f"{out}/model.json"))
card["evaluation"] = result
card["training"] = json.load(open(f"{run}/training.json"))
json.dump(card, open(f"{out}/model.json", "w"), indent=2)
print(json.dumps(result, indent=1))
PYEOF

columns=("real photo=$HELD/test_img" "generated (its photo's style)=$GEN")
$PY training/make_grid.py --classes server/data/classes/landscapes-12.tsv --labels "$HELD/test_label" \
  --columns "${columns[@]}" --count 6 --out docs/images/default-model-test.png
painted=()
for preset in $presets; do painted+=("$preset=$EVAL/painted-$preset"); done
$PY training/make_grid.py --classes server/data/classes/landscapes-12.tsv --labels "$OUT/examples" \
  --columns "${painted[@]}" --count 4 --out docs/images/default-model-painted.png
du -sh "$OUT"
