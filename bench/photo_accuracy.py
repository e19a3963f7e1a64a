#!/usr/bin/env python3
"""Grouped pixel accuracy of a package's photo reading on labelled photos.

Each photo is read into a map at its own size (`easel segment --size WxH`),
and scored on the pixels its labels call sky, mountain, grass, tree or
water, with classes grouped as issue 26 scores them: sky+clouds,
mountain+hill+rock+snow, grass, tree+bush, water (sea, river, lake, …).

    bench/photo_accuracy.py --model models/landscapes \\
        --photos ../shared/fixtures/coco_stuff/val_img ../shared/fixtures/coco_stuff/train_img

Labels are read from the sibling `*_label` folder (COCO-Stuff class indices,
0..181, 255 unlabeled); the package's classes are grouped by name. Needs
numpy and pillow (`make train-venv` has both).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

GROUPS = {
    "sky": {"sky", "sky-other", "clouds"},
    "mountain": {"mountain", "hill", "rock", "snow", "stone"},
    "grass": {"grass"},
    "tree": {"tree", "bush", "palm"},
    "water": {"water", "sea", "river", "lake", "water-other"},
}


def group_of(name):
    for group, names in GROUPS.items():
        if name in names:
            return group
    return None


def coco_names(tsv):
    names = {}
    for line in open(tsv):
        fields = line.rstrip("\n").split("\t")
        if fields[0].isdigit():
            names[int(fields[0])] = fields[1]
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--photos", nargs="+", required=True, help="folders of photos (labels in the sibling *_label)")
    ap.add_argument("--easel", default="target/release/easel")
    ap.add_argument("--coco-classes", default=None, help="coco-stuff-182.tsv (default: beside the photos' fixtures)")
    ap.add_argument("--judge", action="store_true", help="read with the package's judge instead")
    ap.add_argument("--json", help="write the per-photo figures here")
    args = ap.parse_args()

    card = json.load(open(os.path.join(args.model, "model.json")))
    package_group = [group_of(c["name"]) for c in card["classes"]]
    right = {g: 0 for g in GROUPS}
    total = {g: 0 for g in GROUPS}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for folder in args.photos:
            labels = folder.rstrip("/").replace("_img", "_label")
            tsv = args.coco_classes or os.path.join(folder, "..", "..", "classes", "coco-stuff-182.tsv")
            names = coco_names(tsv)
            truth_group = np.array([GROUPS_INDEX.get(group_of(names.get(i, "")), 255) for i in range(256)], dtype=np.uint8)
            for photo in sorted(os.listdir(folder)):
                stem = os.path.splitext(photo)[0]
                label = np.array(Image.open(os.path.join(labels, stem + ".png")))
                truth = truth_group[label]
                if (truth != 255).sum() == 0:
                    continue
                h, w = label.shape
                out = os.path.join(tmp, stem + ".png")
                cmd = [args.easel, "segment", "--model", args.model, "--photo", os.path.join(folder, photo),
                       "--size", f"{w}x{h}", "-o", out] + (["--judge"] if args.judge else [])
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                read = np.array(Image.open(out)).astype(np.int64)
                pg = np.array([GROUPS_INDEX.get(g, 254) for g in package_group] + [254] * 300, dtype=np.uint8)[read]
                scored = truth != 255
                ok = (pg == truth) & scored
                row = {"photo": photo, "pixels": int(scored.sum()), "accuracy": float(ok.sum() / scored.sum())}
                for i, g in enumerate(GROUPS):
                    in_g = truth == i
                    right[g] += int((ok & in_g).sum())
                    total[g] += int(in_g.sum())
                rows.append(row)
                print(f"{photo}: {row['accuracy']:.3f} of {row['pixels']} landscape pixels")
    pooled = sum(right.values()) / max(1, sum(total.values()))
    per = ", ".join(f"{g} {right[g] / total[g]:.2f} ({total[g]} px)" for g in GROUPS if total[g])
    print(f"grouped pixel accuracy {pooled:.3f} over {len(rows)} photos; {per}")
    if args.json:
        json.dump({"pooled": pooled, "groups": {g: [right[g], total[g]] for g in GROUPS}, "photos": rows},
                  open(args.json, "w"), indent=1)


GROUPS_INDEX = {g: i for i, g in enumerate(GROUPS)}

if __name__ == "__main__":
    sys.exit(main())
