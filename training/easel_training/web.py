"""checkpoints/<name>/web/: sample label / synthesized / real images taken
during training and an index.html that shows them, newest first."""

from __future__ import annotations

import html
import os
import re

import numpy as np
import torch
from PIL import Image

from .checkpoints import atomic_write_text

KINDS = ("label", "synthesized", "real")
_NAME = re.compile(r"epoch(\d+)_iter(\d+)_(label|synthesized|real)\.png")


def palette(n: int) -> np.ndarray:
    """(n, 3) uint8 colours, fixed per class index, the last one (dontcare
    when present) included; deterministic so pages stay comparable."""
    colours = np.random.default_rng(20190318).integers(40, 256, (max(n, 1), 3))
    return colours.astype(np.uint8)


def label_to_rgb(label: torch.Tensor, classes: int) -> np.ndarray:
    return palette(classes)[label.cpu().numpy().clip(0, classes - 1)]


def image_to_rgb(image: torch.Tensor) -> np.ndarray:
    """(3,H,W) in [-1, 1] → (H,W,3) uint8."""
    arr = (image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5
    return arr.round().byte().permute(1, 2, 0).numpy()


class SamplePage:
    def __init__(self, ckpt_dir: str, name: str, classes: int):
        self.dir = os.path.join(ckpt_dir, "web")
        self.images = os.path.join(self.dir, "images")
        self.name = name
        self.classes = classes
        os.makedirs(self.images, exist_ok=True)

    def add(self, epoch: int, epoch_iter: int, label, synthesized, real) -> None:
        arrays = (label_to_rgb(label, self.classes), image_to_rgb(synthesized),
                  image_to_rgb(real))
        for kind, arr in zip(KINDS, arrays):
            path = os.path.join(self.images, f"epoch{epoch:03d}_iter{epoch_iter:08d}_{kind}.png")
            Image.fromarray(arr).save(path)
        self.write_index()

    def write_index(self) -> None:
        steps = sorted({(int(m[1]), int(m[2])) for m in map(_NAME.fullmatch,
                        os.listdir(self.images)) if m}, reverse=True)
        rows = []
        for epoch, it in steps:
            cells = "".join(
                f'<figure><img src="images/epoch{epoch:03d}_iter{it:08d}_{k}.png" alt="{k}">'
                f"<figcaption>{k}</figcaption></figure>" for k in KINDS)
            rows.append(f"<section><h2>epoch {epoch}, images {it}</h2>{cells}</section>")
        title = html.escape(f"{self.name}: training samples")
        page = (
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><meta http-equiv=\"refresh\" content=\"60\">"
            "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;"
            "margin:0 .5em .5em 0}img{width:256px;image-rendering:pixelated}"
            "h2{font-size:1em;margin:1em 0 .3em}</style></head>\n<body>"
            f"<h1>{title}</h1>\n" + "\n".join(rows) + "\n</body></html>\n")
        atomic_write_text(page, os.path.join(self.dir, "index.html"))
