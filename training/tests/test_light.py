"""The light classifier learns the renderer's lights from colour, and
judges a folder of images."""

from __future__ import annotations

import os

import numpy as np
from easel_training import light
from PIL import Image

COLOURS = {"noon": (90, 150, 230), "golden-hour": (240, 150, 60), "overcast": (150, 150, 150),
           "dawn": (200, 120, 170)}


def fake_dataset(root, per_light=12):
    """Flat-colour 'photos' (with noise) in the synth layout, one colour per light."""
    rng = np.random.default_rng(0)
    lines = ["# id\tsplit\tkind\tlight"]
    i = 0
    for split, n in (("train", per_light), ("test", 3)):
        os.makedirs(os.path.join(root, f"{split}_img"), exist_ok=True)
        for name, colour in COLOURS.items():
            for _ in range(n):
                pixels = np.clip(np.array(colour) + rng.normal(0, 12, (32, 32, 3)), 0, 255)
                Image.fromarray(pixels.astype(np.uint8)).save(
                    os.path.join(root, f"{split}_img", f"{i:06d}.jpg"))
                lines.append(f"{i:06d}\t{split}\tseaside\t{name}")
                i += 1
    with open(os.path.join(root, "scenes.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def test_learns_lights_and_judges_a_folder(tmp_path):
    fake_dataset(str(tmp_path))
    out = str(tmp_path / "light.pth")
    accuracy = light.train(str(tmp_path), out, epochs=12)
    assert accuracy >= 0.9
    model = light.load(out)
    share = light.share_of(model, str(tmp_path / "test_img"), "overcast")
    assert share == 0.25, "three of the twelve test images are overcast"
