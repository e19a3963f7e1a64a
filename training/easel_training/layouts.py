"""Held-out layouts for judging the default model the way painters use it
(issue 27): maps drawn as a person draws them with a brush and fill tool
(full-frame classes, big blobs, lakes filling half the frame, tilted
horizons, strokes, frames without sky, the page's 2:1 and 3:2 canvases),
and the shared COCO-Stuff photos' layouts in landscape classes. None of
them is ever a training pair: the painted maps come from their own
generator and seed, the COCO layouts from real photographs.

  python -m easel_training layouts painted --seed 2701 --count 120 --out DIR
  python -m easel_training layouts coco --coco_dir ../shared/fixtures/coco_stuff --out DIR
"""

from __future__ import annotations

import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKY, CLOUDS, MOUNTAIN, SNOW, ROCK, HILL, GRASS, TREE, BUSH, WATER, SAND, DIRT = range(12)
CLASSES = ("sky", "clouds", "mountain", "snow", "rock", "hill", "grass", "tree", "bush",
           "water", "sand", "dirt")

# The page's canvases: square (most), 2:1 and 3:2.
SIZES = ((256, 256),) * 6 + ((512, 256), (384, 256))

# COCO-Stuff classes that are landscape classes, beyond the landscapes
# table's own `coco_stuff` column.
COCO_EXTRA = {
    "fog": CLOUDS, "river": WATER, "water-other": WATER, "waterdrops": WATER,
    "stone": ROCK, "gravel": DIRT, "mud": DIRT, "ground-other": DIRT, "playingfield": GRASS,
    "straw": GRASS, "leaves": TREE, "branch": TREE, "plant-other": BUSH, "flower": BUSH,
    "moss": GRASS,
}


class Painter:
    """A canvas of class indices and the strokes a person makes on it."""

    def __init__(self, rng: random.Random, size: tuple[int, int], fill: int):
        self.rng, self.w, self.h = rng, size[0], size[1]
        self.image = Image.new("L", size, fill)
        self.draw = ImageDraw.Draw(self.image)

    def band(self, top: float, bottom: float, cls: int, tilt: float = 0.0,
             wave: float = 0.0) -> None:
        """Fills from a horizon line (`top`, as a share of the height; tilted by
        `tilt` × height across the frame, waving by `wave` × height) down to
        `bottom`."""
        phase, period = self.rng.uniform(0, math.tau), self.rng.uniform(0.6, 2.0)
        points = []
        for i in range(25):
            x = self.w * i / 24
            y = (top + tilt * (i / 24 - 0.5)
                 + wave * math.sin(phase + math.tau * period * i / 24)) * self.h
            points.append((x, y))
        points += [(self.w, bottom * self.h), (0, bottom * self.h)]
        self.draw.polygon(points, fill=cls)

    def ridge(self, base: float, height: float, cls: int, peaks: int) -> list[tuple]:
        """A mountain or hill silhouette standing on `base`, `peaks` summits
        reaching up to `height` above it (shares of the frame's height)."""
        xs = sorted(self.rng.uniform(0, self.w) for _ in range(peaks * 2))
        points = [(0, (base - self.rng.uniform(0.2, 0.6) * height) * self.h)]
        for i, x in enumerate(xs):
            up = height * (self.rng.uniform(0.6, 1.0) if i % 2 == 0 else self.rng.uniform(0.1, 0.5))
            points.append((x, (base - up) * self.h))
        points += [(self.w, (base - self.rng.uniform(0.1, 0.5) * height) * self.h),
                   (self.w, base * self.h + 2), (0, base * self.h + 2)]
        self.draw.polygon(points, fill=cls)
        return points[1:-2]

    def blob(self, cx: float, cy: float, rx: float, ry: float, cls: int,
             rough: float = 0.25) -> None:
        """A filled irregular shape (a hand-drawn outline) around (cx, cy),
        all in shares of the frame."""
        n = self.rng.randint(10, 20)
        points = []
        for i in range(n):
            a = math.tau * i / n
            r = 1 + self.rng.uniform(-rough, rough)
            points.append(((cx + rx * r * math.cos(a)) * self.w,
                           (cy + ry * r * math.sin(a)) * self.h))
        self.draw.polygon(points, fill=cls)

    def stroke(self, cls: int, width: float, points: int = 5) -> None:
        """A brush stroke: a thick line through a few points wandering
        across the frame."""
        x, y = self.rng.uniform(0, 1), self.rng.uniform(0.2, 1)
        path = []
        for _ in range(points):
            path.append((x * self.w, y * self.h))
            x = min(max(x + self.rng.uniform(-0.3, 0.3), 0), 1)
            y = min(max(y + self.rng.uniform(-0.15, 0.15), 0), 1)
        self.draw.line(path, fill=cls, width=max(2, int(width * self.h)), joint="curve")

    def clouds(self, top: float, bottom: float, count: int) -> None:
        for _ in range(count):
            self.blob(self.rng.uniform(0, 1), self.rng.uniform(top, bottom),
                      self.rng.uniform(0.06, 0.2), self.rng.uniform(0.02, 0.06), CLOUDS)

    def trees(self, base: float, count: int, size: float) -> None:
        for _ in range(count):
            r = size * self.rng.uniform(0.6, 1.3)
            self.blob(self.rng.uniform(0, 1), base - r * 0.8, r * 0.6, r, TREE, rough=0.3)

    def result(self) -> Image.Image:
        return self.image


def _sky(p: Painter, horizon: float) -> None:
    if p.rng.random() < 0.6:
        p.clouds(0.03, horizon * 0.7, p.rng.randint(1, 4))


def full_frame(p: Painter) -> None:
    cls = p.rng.choice([WATER, TREE, GRASS, SKY, SAND, MOUNTAIN, SNOW, ROCK, HILL, DIRT, BUSH])
    p.draw.rectangle((0, 0, p.w, p.h), fill=cls)
    if cls == SKY:
        p.clouds(0.05, 0.9, p.rng.randint(0, 5))
    elif p.rng.random() < 0.5:
        other = p.rng.choice([GRASS, TREE, ROCK, WATER, BUSH, SAND])
        for _ in range(p.rng.randint(1, 3)):
            p.blob(p.rng.uniform(0.1, 0.9), p.rng.uniform(0.3, 0.9), p.rng.uniform(0.05, 0.2),
                   p.rng.uniform(0.05, 0.15), other)


def lake(p: Painter) -> None:
    horizon = p.rng.uniform(0.3, 0.5)
    _sky(p, horizon)
    far = p.rng.choice([MOUNTAIN, HILL, TREE])
    p.ridge(horizon + 0.02, p.rng.uniform(0.1, 0.3), far, p.rng.randint(1, 4))
    if far == MOUNTAIN and p.rng.random() < 0.5:
        p.ridge(horizon - 0.12, 0.1, SNOW, 1)
        p.ridge(horizon + 0.02, p.rng.uniform(0.05, 0.12), MOUNTAIN, 2)
    p.band(horizon + 0.02, 1.0, WATER, tilt=p.rng.uniform(-0.05, 0.05))
    if p.rng.random() < 0.6:
        shore = p.rng.uniform(0.8, 0.95)
        p.band(shore, 1.0, p.rng.choice([GRASS, SAND, ROCK]), wave=0.03)
    if p.rng.random() < 0.5:
        p.trees(horizon + 0.1, p.rng.randint(1, 4), p.rng.uniform(0.06, 0.15))


def forest_blob(p: Painter) -> None:
    horizon = p.rng.uniform(0.25, 0.45)
    _sky(p, horizon)
    p.band(horizon, 1.0, p.rng.choice([GRASS, GRASS, HILL]), tilt=p.rng.uniform(-0.15, 0.15))
    p.blob(p.rng.uniform(0.3, 0.7), p.rng.uniform(0.45, 0.7), p.rng.uniform(0.2, 0.4),
           p.rng.uniform(0.15, 0.3), TREE, rough=0.2)
    if p.rng.random() < 0.5:
        p.blob(p.rng.uniform(0.1, 0.9), p.rng.uniform(0.7, 0.95), 0.12, 0.06, BUSH)


def close_tree(p: Painter) -> None:
    p.draw.rectangle((0, 0, p.w, p.h), fill=SKY)
    _sky(p, 0.5)
    ground = p.rng.uniform(0.7, 0.9)
    p.band(ground, 1.0, p.rng.choice([GRASS, GRASS, DIRT, SAND]), wave=0.02)
    cx = p.rng.uniform(0.35, 0.65)
    p.draw.rectangle(((cx - 0.03) * p.w, 0.55 * p.h, (cx + 0.03) * p.w, ground * p.h + 4),
                     fill=DIRT)
    p.blob(cx, p.rng.uniform(0.3, 0.45), p.rng.uniform(0.3, 0.45), p.rng.uniform(0.25, 0.38),
           TREE, rough=0.2)


def beach(p: Painter) -> None:
    horizon = p.rng.uniform(0.3, 0.5)
    _sky(p, horizon)
    p.band(horizon, 1.0, WATER, tilt=p.rng.uniform(-0.08, 0.08))
    p.band(p.rng.uniform(0.55, 0.75), 1.0, SAND, tilt=p.rng.uniform(-0.3, 0.3), wave=0.05)
    if p.rng.random() < 0.5:
        p.blob(p.rng.choice([0.05, 0.95]), p.rng.uniform(0.55, 0.8), 0.15, 0.12, ROCK)
    if p.rng.random() < 0.4:
        p.trees(p.rng.uniform(0.6, 0.8), p.rng.randint(1, 2), 0.12)


def mountain_field(p: Painter) -> None:
    top = p.rng.uniform(0.05, 0.3)
    _sky(p, top + 0.1)
    p.ridge(1.0, 1.0 - top, MOUNTAIN, p.rng.randint(1, 3))
    if p.rng.random() < 0.6:
        p.ridge(top + 0.25, 0.2, SNOW, p.rng.randint(1, 2))
    for _ in range(p.rng.randint(0, 3)):
        p.blob(p.rng.uniform(0, 1), p.rng.uniform(0.5, 0.95), p.rng.uniform(0.05, 0.15), 0.06,
               ROCK)
    if p.rng.random() < 0.5:
        p.band(p.rng.uniform(0.8, 0.92), 1.0, p.rng.choice([GRASS, TREE, SNOW]), wave=0.03)


def no_sky(p: Painter) -> None:
    p.draw.rectangle((0, 0, p.w, p.h), fill=p.rng.choice([HILL, TREE, MOUNTAIN, GRASS]))
    y = p.rng.uniform(0.2, 0.5)
    for cls in p.rng.sample([GRASS, WATER, TREE, BUSH, DIRT, SAND], 3):
        p.band(y, 1.0, cls, tilt=p.rng.uniform(-0.2, 0.2), wave=0.04)
        y += p.rng.uniform(0.1, 0.25)
        if y > 0.9:
            break


def doodle(p: Painter) -> None:
    horizon = p.rng.uniform(0.3, 0.6)
    _sky(p, horizon)
    p.band(horizon, 1.0, p.rng.choice([GRASS, HILL, SAND, WATER]),
           tilt=p.rng.uniform(-0.2, 0.2), wave=p.rng.uniform(0, 0.05))
    for _ in range(p.rng.randint(2, 6)):
        p.stroke(p.rng.choice([GRASS, TREE, BUSH, WATER, DIRT, ROCK, SAND]),
                 p.rng.uniform(0.03, 0.09))


KINDS = {
    "full-frame": full_frame, "lake": lake, "forest-blob": forest_blob, "close-tree": close_tree,
    "beach": beach, "mountain-field": mountain_field, "no-sky": no_sky, "doodle": doodle,
}


def painted(seed: int, count: int, square: bool = False) -> list[tuple[str, Image.Image]]:
    """`count` painted maps, the kinds in turn, each from its own stream of
    the seed (one map does not shift the next); with `square`, all 256²
    (for training at square crops)."""
    out = []
    kinds = sorted(KINDS)
    for i in range(count):
        rng = random.Random(seed * 100003 + i)
        kind = kinds[i % len(kinds)]
        size = rng.choice(SIZES)
        p = Painter(rng, (256, 256) if square else size, SKY)
        KINDS[kind](p)
        image = p.result()
        if rng.random() < 0.3:
            # A map simplified the way a painter's fill leaves it: small
            # islands gone, outlines rounded.
            image = image.filter(ImageFilter.ModeFilter(5))
        out.append((f"{kind}-{i:04d}", image))
    return out


def coco_table(coco_classes: str, landscapes: str) -> np.ndarray:
    """COCO-Stuff label value → landscape class, 255 where it has none."""
    table = np.full(256, 255, np.uint8)
    by_name = {}
    with open(landscapes, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if not line.startswith("#") and len(fields) >= 4:
                by_name[fields[3]] = int(fields[0])
    by_name.update(COCO_EXTRA)
    with open(coco_classes, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if not line.startswith("#") and len(fields) >= 2 and fields[1] in by_name:
                table[int(fields[0])] = by_name[fields[1]]
    return table


def coco_layout(label: np.ndarray, table: np.ndarray, min_share: float = 0.25) -> np.ndarray | None:
    """A COCO-Stuff map in landscape classes: pixels of other classes
    (people, buildings, unlabelled) take their nearest landscape pixel's
    class. None when under `min_share` of the photo is landscape."""
    from scipy import ndimage

    mapped = table[label]
    known = mapped != 255
    if known.mean() < min_share:
        return None
    _, (rows, cols) = ndimage.distance_transform_edt(~known, return_indices=True)
    return mapped[rows, cols]


def write(maps: list[tuple[str, Image.Image]], out: str) -> None:
    os.makedirs(out, exist_ok=True)
    for name, image in maps:
        image.save(os.path.join(out, name + ".png"))


def main(args) -> dict:
    if args.kind == "painted":
        maps = painted(args.seed, args.count, args.square)
    else:
        root = os.path.dirname(os.path.abspath(__file__))
        repo = os.path.dirname(os.path.dirname(root))
        classes = os.path.join(repo, "server", "data", "classes")
        table = coco_table(os.path.join(classes, "coco-stuff-182.tsv"),
                           os.path.join(classes, "landscapes-12.tsv"))
        maps, skipped = [], []
        for split in ("val_label", "train_label"):
            folder = os.path.join(args.coco_dir, split)
            for name in sorted(os.listdir(folder)):
                label = np.asarray(Image.open(os.path.join(folder, name)))
                layout = coco_layout(label, table)
                stem = os.path.splitext(name)[0]
                if layout is None:
                    skipped.append(stem)
                    continue
                image = Image.fromarray(layout.astype(np.uint8))
                # At the page's scale: 256 high, the photo's aspect kept.
                width = max(8, round(image.width * 256 / image.height / 8) * 8)
                maps.append((f"coco-{stem}", image.resize((width, 256), Image.NEAREST)))
    write(maps, args.out)
    return {"written": len(maps), "out": args.out}


def add_arguments(p) -> None:
    p.add_argument("kind", choices=("painted", "coco"))
    p.add_argument("--out", required=True, help="folder for the 8-bit class-index PNGs")
    p.add_argument("--seed", type=int, default=2701,
                   help="painted: the stream of maps (training never uses 2701)")
    p.add_argument("--count", type=int, default=120)
    p.add_argument("--square", action="store_true",
                   help="painted: every map 256×256 (training crops are square)")
    p.add_argument("--coco_dir", help="coco: the shared COCO-Stuff folder (val_label, train_label)")
