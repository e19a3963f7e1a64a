"""A package's segmenter on real COCO-Stuff photos (issue 17): each photo goes
through `easel segment` at its own size, and the answer is scored against the
photo's COCO-Stuff labels, carried to the package's classes by name (a class's
`coco_stuff` name, as the page's model switching carries them). Pixels whose
COCO class has no counterpart in the package are left out; the share kept is
reported beside the scores.

    .venv-train/bin/python bench/segmenter_coco.py --easel target/release/easel \
        --model models/landscapes --coco ../shared/fixtures/coco_stuff \
        --coco-classes ../shared/fixtures/classes/coco-stuff-182.tsv
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def coco_names(tsv: Path) -> dict[int, str]:
    names = {}
    for line in tsv.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        index, name = line.split("\t")[:2]
        names[int(index)] = name
    return names


def carry_table(card: dict, names: dict[int, str]) -> np.ndarray:
    """COCO label value → package class (-1 where the package has none)."""
    package = {c.get("coco_stuff", c["name"]): i for i, c in enumerate(card["classes"])}
    table = np.full(256, -1, dtype=np.int64)
    for value, name in names.items():
        table[value] = package.get(name, -1)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--easel", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--coco", type=Path, required=True, help="folder with {train,val}_{img,label}")
    parser.add_argument("--coco-classes", type=Path, required=True)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--judge", action="store_true",
                        help="read with the package's judge (its own segmenter) instead of its photo segmenter")
    args = parser.parse_args()

    card = json.loads((args.model / "model.json").read_text())
    classes = len(card["classes"])
    table = carry_table(card, coco_names(args.coco_classes))
    confusion = np.zeros((classes, classes), dtype=np.int64)
    labelled = kept = 0
    photos = sorted(p for split in ("train", "val") for p in (args.coco / f"{split}_img").glob("*.jpg"))
    if not photos:
        sys.exit(f"no photos under {args.coco}/{{train,val}}_img")
    with tempfile.TemporaryDirectory() as scratch:
        for photo in photos:
            label_path = photo.parent.parent / photo.parent.name.replace("_img", "_label") / f"{photo.stem}.png"
            label = np.asarray(Image.open(label_path))
            height, width = label.shape
            answer = Path(scratch) / f"{photo.stem}.png"
            subprocess.run(
                [str(args.easel), "segment", "--model", str(args.model), "--photo", str(photo),
                 "--size", f"{width}x{height}", "-o", str(answer)] + (["--judge"] if args.judge else []),
                check=True, capture_output=True,
            )
            segmented = np.asarray(Image.open(answer)).astype(np.int64)
            truth = table[label]
            labelled += int((label != 255).sum())
            mask = truth >= 0
            kept += int(mask.sum())
            np.add.at(confusion, (truth[mask], segmented[mask]), 1)

    present = confusion.sum(axis=1) > 0
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - np.diag(confusion)
    iou = np.where(union > 0, np.diag(confusion) / np.maximum(union, 1), 0.0)
    figures = {
        "photos": len(photos),
        "labelled_pixels": labelled,
        "pixels_with_a_package_class": kept,
        "share_scored": kept / max(labelled, 1),
        "pixel_accuracy": float(np.diag(confusion).sum() / max(kept, 1)),
        "mean_iou": float(iou[present].mean()) if present.any() else 0.0,
        "per_class": {
            card["classes"][c]["name"]: {"pixels": int(confusion[c].sum()), "iou": round(float(iou[c]), 4),
                                         "accuracy": round(float(confusion[c, c] / confusion[c].sum()), 4)}
            for c in range(classes) if present[c]
        },
    }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
