#!/usr/bin/env bash
# A run's latest weights as a package to judge, without touching the run:
# a copy recalibrated at 256² (batch norms only), imported (fp16) with the
# judge segmenter, the examples and presets made from the composer's photos.
# For judging a run in progress (bench/painter_judges.sh with MODEL=OUT);
# the release is made by the evaluate script. WEIGHTS=live packages the last
# step's weights of a run trained with --ema instead of their average;
# PACKAGE_NAME names the package (landscapes).
#   training/package_run.sh RUN OUT [PER_LIGHT]     # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1
OUT=$2
PER_LIGHT=${3:-64}
DATA=${DATA:-datasets/landscapes}
PY=.venv-train/bin/python
EASEL=./target/release/easel
export PYTHONPATH=$PWD/training
COPY=$(mktemp -d)
trap 'rm -rf "$COPY"' EXIT
training/export_weights.sh "$RUN" "$COPY"
$PY -m easel_training recalibrate "$COPY" --label_dir "$DATA/train_label" --image_dir "$DATA/train_img" --size 256
rm -rf "$OUT"
$EASEL import "$COPY" --out "$OUT" --classes landscapes --name "${PACKAGE_NAME:-landscapes}" --precision fp16 --crop-size 256 \
  --licence "Apache-2.0, as easel: trained by easel's own trainer on its synthetic scenes" >/dev/null
cp -r models/landscapes/examples "$OUT/"
$EASEL import-segmenter training/judges/segmenter.pth --package "$OUT" --classes landscapes >/dev/null
$PY training/make_presets.py "$COPY" "$DATA" "$OUT" --per-light "$PER_LIGHT"
