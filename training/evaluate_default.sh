#!/usr/bin/env bash
# After train_default.sh: scores the landscape model as the SPADE paper does
# (a segmenter trained on real photos; pixel accuracy and mIoU on generated
# test images against their input maps, next to real test photos), writes
# training.json and evaluation.json into the run's folder, imports the
# package into models/landscapes (fp16, 256×256), and draws the docs' grids.
#   training/evaluate_default.sh        # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=checkpoints/landscapes
EVAL=checkpoints/eval
DATA=${DATA:-datasets/landscapes}
PY=.venv-train/bin/python
EASEL=./target/release/easel
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
mkdir -p "$EVAL"

[ -f "$EVAL/segmenter.pth" ] || $PY -m easel_training segmenter --label_dir "$DATA/train_label" \
  --image_dir "$DATA/train_img" --label_nc 12 --out "$EVAL/segmenter.pth" --epochs 4 --max_dataset_size 1500 --seed 0

import_package() {
  $EASEL import "$RUN" --out "$1" --crop-size 256 --classes landscapes --name landscapes --precision fp16
}
import_package "$EVAL/package"
rm -rf "$EVAL/generated" && mkdir -p "$EVAL/generated"
for label in "$DATA"/test_label/*.png; do
  $EASEL generate --model "$EVAL/package" --label "$label" -o "$EVAL/generated/$(basename "$label")" >/dev/null
done
$PY -m easel_training evaluate --segmenter "$EVAL/segmenter.pth" --label_dir "$DATA/test_label" \
  --image_dir "$DATA/test_img" --generated_dir "$EVAL/generated" > "$RUN/evaluation.json"
$PY -m easel_training summary "$RUN" > "$RUN/training.json"
import_package models/landscapes

rm -rf "$EVAL/painted" && mkdir -p "$EVAL/painted"
for label in models/landscapes/examples/*.png; do
  $EASEL generate --model models/landscapes --label "$label" -o "$EVAL/painted/$(basename "$label")" >/dev/null
done
$PY training/make_grid.py --classes server/data/classes/landscapes-12.tsv --labels "$DATA/test_label" \
  --columns "real photo=$DATA/test_img" "generated=$EVAL/generated" --count 6 --out docs/images/default-model-test.png
$PY training/make_grid.py --classes server/data/classes/landscapes-12.tsv --labels models/landscapes/examples \
  --columns "generated=$EVAL/painted" --count 4 --out docs/images/default-model-painted.png
cat "$RUN/evaluation.json"
$EASEL bench --model models/landscapes --batch 1 8 --iters 10
