"""Paints a few landscape label maps the way a person would with a brush and
fill (flat regions, simple shapes), for trying the default model and as the
painting page's starting maps. Writes 8-bit class-index PNGs.

  python training/paint_examples.py models/landscapes/examples
"""

import os
import sys

from PIL import Image, ImageDraw

SKY, CLOUDS, MOUNTAIN, SNOW, ROCK, HILL, GRASS, TREE, BUSH, WATER, SAND, DIRT = range(12)
SIZE = 256


def canvas(fill=SKY):
    img = Image.new("L", (SIZE, SIZE), fill)
    return img, ImageDraw.Draw(img)


def mountain_lake():
    img, d = canvas()
    d.ellipse((20, 30, 90, 50), fill=CLOUDS)
    d.ellipse((150, 20, 230, 45), fill=CLOUDS)
    d.polygon([(0, 140), (60, 70), (110, 120), (170, 55), (256, 135), (256, 150), (0, 150)], fill=MOUNTAIN)
    d.polygon([(48, 84), (60, 70), (74, 86), (62, 92)], fill=SNOW)
    d.polygon([(155, 72), (170, 55), (188, 74), (170, 80)], fill=SNOW)
    d.rectangle((0, 150, 256, 200), fill=WATER)
    d.rectangle((0, 200, 256, 256), fill=GRASS)
    for x in (20, 60, 215):
        d.ellipse((x, 120, x + 30, 175), fill=TREE)
    d.ellipse((120, 215, 170, 245), fill=BUSH)
    return img


def seaside():
    img, d = canvas()
    d.ellipse((90, 35, 200, 65), fill=CLOUDS)
    d.rectangle((0, 120, 256, 190), fill=WATER)
    d.polygon([(0, 190), (256, 170), (256, 256), (0, 256)], fill=SAND)
    d.polygon([(0, 120), (0, 100), (50, 95), (90, 120)], fill=HILL)
    d.ellipse((170, 200, 210, 225), fill=ROCK)
    d.ellipse((20, 215, 70, 245), fill=BUSH)
    return img


def meadow():
    img, d = canvas()
    d.ellipse((10, 20, 120, 50), fill=CLOUDS)
    d.polygon([(0, 130), (80, 100), (160, 125), (256, 95), (256, 140), (0, 140)], fill=HILL)
    d.rectangle((0, 140, 256, 256), fill=GRASS)
    d.polygon([(110, 256), (150, 256), (132, 140), (126, 140)], fill=DIRT)
    for x, y, r in ((30, 150, 28), (190, 145, 32), (230, 170, 25)):
        d.ellipse((x - r, y - 2 * r, x + r, y + r // 2), fill=TREE)
    d.ellipse((60, 215, 110, 240), fill=BUSH)
    return img


def alpine():
    img, d = canvas()
    d.polygon([(0, 170), (40, 60), (90, 130), (140, 40), (200, 120), (256, 80), (256, 180), (0, 180)], fill=MOUNTAIN)
    d.polygon([(28, 92), (40, 60), (55, 85)], fill=SNOW)
    d.polygon([(122, 75), (140, 40), (162, 70), (145, 82)], fill=SNOW)
    d.polygon([(236, 96), (256, 80), (256, 104)], fill=SNOW)
    d.polygon([(150, 150), (185, 140), (200, 165), (160, 172)], fill=ROCK)
    d.rectangle((0, 180, 256, 256), fill=GRASS)
    for x in range(0, 256, 36):
        d.ellipse((x, 150, x + 26, 200), fill=TREE)
    return img


MAPS = {"mountain-lake": mountain_lake, "seaside": seaside, "meadow": meadow, "alpine": alpine}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, paint in MAPS.items():
        paint().save(os.path.join(out, f"{name}.png"))


if __name__ == "__main__":
    main()
