"""Draws blocky random RGB annotations in a palette's colours, for timing
`easel dataset convert` against bench/convert_reference.py on the same files.

    python bench/make_annotations.py --palette label_colors.txt --out DIR \
        [--count 100] [--width 960] [--height 720] [--seed 0]

Each map is a coarse grid of random classes with random rectangles painted
over it, saved as <id>_L.png (CamVid's naming). Only palette colours occur.
"""

import argparse
import os

import cv2
import numpy as np


def read_palette(path):
    """CamVid `R G B<ws>name` lines, in order."""
    colours = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and not line.startswith("#"):
                colours.append([int(p) for p in parts[:3]])
    return np.array(colours, dtype=np.uint8)


def annotation(rng, palette, width, height):
    cell = 40
    grid = rng.integers(0, len(palette), size=(height // cell + 1, width // cell + 1))
    classes = np.repeat(np.repeat(grid, cell, axis=0), cell, axis=1)[:height, :width]
    for _ in range(30):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(10, width // 3), rng.integers(10, height // 3)
        classes[y0 : y0 + h, x0 : x0 + w] = rng.integers(0, len(palette))
    return palette[classes]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--palette", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--width", type=int, default=960)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    palette = read_palette(a.palette)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.count):
        rgb = annotation(rng, palette, a.width, a.height)
        cv2.imwrite(os.path.join(a.out, f"{i:04d}_L.png"), rgb[:, :, ::-1])


if __name__ == "__main__":
    main()
