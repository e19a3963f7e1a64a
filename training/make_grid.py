"""An image grid for the docs: each row is a label map drawn in its class
colours, then the images for it (real photo, generated image…).

  python training/make_grid.py --classes classes.tsv --out grid.png \
      --labels DIR --columns real=DIR generated=DIR [--stems a b c] [--count 6]
"""

import argparse
import os

from PIL import Image, ImageDraw


def read_palette(path):
    colors = []
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        hex_color = line.rstrip("\n").split("\t")[2]
        colors.extend(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return colors + [0] * (768 - len(colors))


def find(folder, stem):
    for ext in (".png", ".jpg", ".jpeg"):
        path = os.path.join(folder, stem + ext)
        if os.path.exists(path):
            return path
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--columns", nargs="*", default=[], help="NAME=DIR, images named like the labels")
    p.add_argument("--stems", nargs="*")
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--tile", type=int, default=192)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    palette = read_palette(args.classes)
    columns = [c.split("=", 1) for c in args.columns]
    stems = args.stems or sorted(os.path.splitext(f)[0] for f in os.listdir(args.labels))[: args.count]
    t, pad, head = args.tile, 4, 22
    names = ["label map"] + [name for name, _ in columns]
    grid = Image.new("RGB", (len(names) * (t + pad) + pad, head + len(stems) * (t + pad) + pad), "white")
    draw = ImageDraw.Draw(grid)
    for i, name in enumerate(names):
        draw.text((pad + i * (t + pad) + 4, 5), name, fill="black")
    for row, stem in enumerate(stems):
        label = Image.open(find(args.labels, stem))
        label = label.convert("L").convert("P")
        label.putpalette(palette)
        tiles = [label.convert("RGB")] + [Image.open(find(d, stem)).convert("RGB") for _, d in columns]
        for col, tile in enumerate(tiles):
            resample = Image.NEAREST if col == 0 else Image.BILINEAR
            grid.paste(tile.resize((t, t), resample), (pad + col * (t + pad), head + pad + row * (t + pad)))
    grid.save(args.out)


if __name__ == "__main__":
    main()
