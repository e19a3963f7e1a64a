"""The custom-dataset guide's conversion loop, re-implemented as the
baseline for `easel dataset convert`: numpy + OpenCV, one class at a time,
and any colour not in the palette silently class 0.

    python bench/convert_reference.py --palette label_colors.txt RGB_DIR OUT_DIR

Outputs are named like easel's with --strip-suffix _L: <stem without _L>.png.
"""

import argparse
import os

import cv2
import numpy as np


def read_palette(path):
    colours = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and not line.startswith("#"):
                colours.append([int(p) for p in parts[:3]])
    return colours


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--palette", required=True)
    p.add_argument("rgb_dir")
    p.add_argument("out_dir")
    a = p.parse_args()
    # OpenCV reads BGR: compare against the colours reversed.
    colours = [np.array(c[::-1], dtype=np.uint8) for c in read_palette(a.palette)]
    os.makedirs(a.out_dir, exist_ok=True)
    for name in sorted(os.listdir(a.rgb_dir)):
        if not name.endswith(".png"):
            continue
        img = cv2.imread(os.path.join(a.rgb_dir, name))
        out = np.zeros(img.shape[:2], dtype=np.uint8)
        for i, colour in enumerate(colours):
            mask = np.all(img == colour, axis=-1)
            out[mask] = i
        stem = os.path.splitext(name)[0]
        if stem.endswith("_L"):
            stem = stem[:-2]
        cv2.imwrite(os.path.join(a.out_dir, stem + ".png"), out)


if __name__ == "__main__":
    main()
