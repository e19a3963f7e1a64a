#!/usr/bin/env bash
# The default model's real-photo segmenter, end to end: the shared
# DeepLabV3 + MobileNetV2 (ADE20K) translated with its raw scores, a linear
# head over them trained on the renderer's scenes (seed 0, the training
# seed; seed 1 stays held out) and on the shared COCO-Stuff photos as the
# segmenter itself reads them (their labels are not used), then attached to
# models/landscapes with the head and the refinements that find clouds and
# snow. About 5 minutes on 2 cores.
#
#   training/train_photo_head.sh [SHARED_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
tflite=$shared/fixtures/segmenters/ade20k_deeplabv3_mnv2/deeplabv3_mobilenetv2_ade20k.tflite
easel=target/release/easel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make -s release train-venv
export ORT_DYLIB_PATH=$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)
"$easel" dataset synth --out "$work/scenes" --count 200 --size 256 --seed 0 --test-fraction 0 >/dev/null
cp -r models/landscapes "$work/scores"
"$easel" attach-photo-segmenter "$tflite" --package "$work/scores" --scores >/dev/null
(cd training && ../.venv-train/bin/python -m easel_training photo-head \
    --graph "$work/scores/photo_segmenter.onnx" --scenes "$work/scenes" --max_scenes 200 \
    --photos "$shared/fixtures/coco_stuff/val_img" "$shared/fixtures/coco_stuff/train_img" \
    --out judges/photo_head.json)
"$easel" attach-photo-segmenter "$tflite" --package models/landscapes \
    --head training/judges/photo_head.json \
    --refine sky:clouds --refine mountain,rock,hill:snow,rock,mountain,hill \
    --refine-white sky:clouds --refine-white mountain,rock,hill,dirt,sand:snow
