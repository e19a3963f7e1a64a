#!/usr/bin/env bash
# Each style preset of a package over a set of label maps, judged by the
# light classifier (training/judges/light.pth): the share of images it
# labels with the preset's own light. Prints one JSON object,
# {"preset": share, …}; the images stay in OUT/<preset>/.
#   bench/preset_judges.sh MODEL LABEL_DIR OUT [COUNT=100]   # from the repository root
# COUNT: the first COUNT maps in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$1
LABELS=$2
OUT=$3
COUNT=${4:-100}
PY=.venv-train/bin/python
EASEL=./target/release/easel
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
export PYTHONPATH=$PWD/training
presets=$($PY -c "import json,sys; print(' '.join(s['name'] for s in json.load(open(sys.argv[1]))['styles']))" \
  "$MODEL/model.json")
[ -n "$presets" ] || { echo "$MODEL has no style presets to judge" >&2; exit 2; }
printf '{'
sep=
for preset in $presets; do
  rm -rf "${OUT:?}/$preset" && mkdir -p "$OUT/$preset"
  for label in $(ls "$LABELS"/*.png | head -"$COUNT"); do
    $EASEL generate --model "$MODEL" --label "$label" --style-preset "$preset" \
      -o "$OUT/$preset/$(basename "$label")" >/dev/null
  done
  share=$($PY -m easel_training light-share --classifier training/judges/light.pth "$OUT/$preset" "$preset")
  printf '%s"%s": %s' "$sep" "$preset" "$share"
  sep=", "
done
printf '}\n'
