"""Style presets for a package from the run that trained it: every training
photo of each light (the dataset's scenes.tsv) through the run's style
encoder. A preset's z is the mean of its light's mu, pushed away from the
mean of all the lights' means by GUIDANCE times the difference; its spread
is their standard deviation, so "New variation" stays within the look.
Thumbnails: the package's first example map painted under each preset.

Why the push: the bare mean of the overcast photos' z painted a clear map
with a blue sky about half the time (light classifier share 0.50-0.55;
overcast scenes' maps are mostly cloud, and the look leans on the map). With
GUIDANCE 1 every light's share on 32 training maps was 1.00 (and 0.91-1.00
on the held-out maps; docs/benchmarks.md).

  python training/make_presets.py RUN_DIR DATASET PACKAGE [--per-light N] [--guidance G]

Writes PACKAGE/styles/<light>.jpg and the card's `styles` (model.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from easel_training import checkpoints, light  # noqa: E402

DESCRIPTIONS = {
    "noon": "high sun, blue sky, crisp shadows",
    "golden-hour": "low warm sun, long shadows, orange light",
    "overcast": "grey sky, soft light, no shadows",
    "dawn": "cool pink and violet light before sunrise",
}
THUMBNAIL = 96


def photo(path: str) -> torch.Tensor:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(rgb).permute(2, 0, 1)


def one_hot(label: np.ndarray, classes: int) -> torch.Tensor:
    t = torch.from_numpy(label.astype(np.int64))[None]
    return F.one_hot(t, classes).permute(0, 3, 1, 2).float()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("dataset")
    p.add_argument("package")
    p.add_argument("--per-light", type=int, default=200, help="photos encoded per light")
    p.add_argument("--guidance", type=float, default=1.0,
                   help="how far each preset is pushed from the mean of all lights (0: the bare mean)")
    args = p.parse_args()
    opt, generator, encoder = checkpoints.load_checkpoint(args.run)
    if encoder is None:
        print(f"error: {args.run} has no style encoder (train with --use_vae)", file=sys.stderr)
        return 2
    card_path = os.path.join(args.package, "model.json")
    with open(card_path, encoding="utf-8") as f:
        card = json.load(f)
    examples = sorted(os.listdir(os.path.join(args.package, "examples")))
    label = np.asarray(Image.open(os.path.join(args.package, "examples", examples[0])))
    seg = one_hot(label, opt.label_nc + int(opt.contain_dontcare_label))
    os.makedirs(os.path.join(args.package, "styles"), exist_ok=True)
    scenes = light.read_scenes(args.dataset, "train")
    mus = {}
    for name in light.LIGHTS:
        paths = [p for p, i in scenes if light.LIGHTS[i] == name][: args.per_light]
        if not paths:
            print(f"error: no training scene with light {name} in scenes.tsv", file=sys.stderr)
            return 2
        with torch.inference_mode():
            mus[name] = torch.cat([encoder(torch.stack([photo(p) for p in paths[s:s + 16]]))[0]
                                   for s in range(0, len(paths), 16)])
    centre = torch.stack([mu.mean(0) for mu in mus.values()]).mean(0)
    styles = []
    for name, mu in mus.items():
        z = mu.mean(0) + args.guidance * (mu.mean(0) - centre)
        with torch.inference_mode():
            image = generator(seg, z[None])[0]
        rgb = ((image.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        thumbnail = f"{name}.jpg"
        Image.fromarray(rgb).resize((THUMBNAIL, THUMBNAIL), Image.LANCZOS).save(
            os.path.join(args.package, "styles", thumbnail), quality=90)
        styles.append({"name": name, "description": DESCRIPTIONS[name],
                       "z": [round(float(v), 6) for v in z],
                       "spread": [round(float(v), 6) for v in mu.std(0)],
                       "thumbnail": thumbnail})
        print(f"{name}: {len(mu)} photos, |z| {float(z.norm()):.2f}, "
              f"mean spread {float(mu.std(0).mean()):.2f}")
    card["styles"] = styles
    with open(card_path, "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
