#!/usr/bin/env bash
# Two default models side by side on the maps painters and photographs make
# (issue 27's pictures): a full-frame lake, a close-up tree, a forest blob on
# a meadow, a hand-drawn beach and an opened photo, each under two presets.
# Rows are maps; columns the map, then each preset under model A and B.
# The maps come from bench/painter_judges.sh's held-out layouts (run it
# first); every image is `easel generate` with the package's preset.
#   bench/painter_pictures.sh OUT.png          # from the repository root
# A (models/landscapes), B (the candidate), PRESETS ("noon golden-hour"),
# LAYOUTS (checkpoints/painter_judges/layouts), MAPS (the five maps).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1
A=${A:-models/landscapes}
B=${B:?set B to the model package to compare with A}
PRESETS=${PRESETS:-noon golden-hour}
LAYOUTS=${LAYOUTS:-checkpoints/painter_judges/layouts}
MAPS=${MAPS:-painted/lake-0085.png painted/close-tree-0001.png painted/forest-blob-0003.png \
painted/beach-0000.png opened/opened-000000350505.png}
EASEL=./target/release/easel
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -1)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rows=()
for map in $MAPS; do
  [ -f "$LAYOUTS/$map" ] || { echo "no map $LAYOUTS/$map: run bench/painter_judges.sh first, or set MAPS" >&2; exit 2; }
  stem=$(basename "${map%.png}")
  row="$LAYOUTS/$map"
  for preset in $PRESETS; do
    for side in A B; do
      model=${!side}
      image="$WORK/$stem-$preset-$side.png"
      $EASEL generate --model "$model" --label "$LAYOUTS/$map" --style-preset "$preset" -o "$image" >/dev/null
      row="$row,$image"
    done
  done
  rows+=("$row")
done
.venv-train/bin/python - "$OUT" "$PRESETS" "${rows[@]}" <<'PY'
import sys
from PIL import Image, ImageDraw
out, presets, rows = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
colours = {}
for line in open("server/data/classes/landscapes-12.tsv"):
    if line.startswith("#") or not line.strip():
        continue
    index, _, colour = line.split("\t")[:3]
    colours[int(index)] = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
H, PAD, HEAD = 160, 4, 22
def shown(path, is_map):
    im = Image.open(path)
    if is_map:
        flat = bytes(c for v in im.convert("L").getdata() for c in colours.get(v, (0, 0, 0)))
        im = Image.frombytes("RGB", im.size, flat)
    im = im.convert("RGB")
    return im.resize((round(im.width * H / im.height), H), Image.BILINEAR)
cells = [[shown(p, i == 0) for i, p in enumerate(row.split(","))] for row in rows]
widths = [max(r[c].width for r in cells) for c in range(len(cells[0]))]
sheet = Image.new("RGB", (sum(widths) + PAD * (len(widths) + 1), HEAD + len(cells) * (H + PAD) + PAD), "white")
draw = ImageDraw.Draw(sheet)
titles = ["map"] + [f"{p}: {m}" for p in presets for m in ("A", "B")]
x = PAD
for c, w in enumerate(widths):
    draw.text((x + 4, 5), titles[c], fill="black")
    for r, row in enumerate(cells):
        sheet.paste(row[c], (x, HEAD + PAD + r * (H + PAD)))
    x += w + PAD
sheet.save(out)
print(out)
PY
