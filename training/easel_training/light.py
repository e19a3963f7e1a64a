"""A small classifier of a landscape photo's light (noon, golden hour,
overcast, dawn), trained on the renderer's photos and their lights
(`scenes.tsv`): the judge of whether a style preset makes its look.
Light is a property of the whole picture, so it looks at 64×64 thumbnails.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from . import checkpoints, data

LIGHTS = ("noon", "golden-hour", "overcast", "dawn")
SIZE = 64


class LightClassifier(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        layers, cin = [], 3
        for cout in (width, 2 * width, 4 * width, 4 * width):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, len(LIGHTS))
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


def thumbnail(path: str) -> torch.Tensor:
    image = data.read_image(path).resize((SIZE, SIZE), Image.BILINEAR)
    return data.image_to_tensor(image)


def read_scenes(dataset: str, split: str) -> list[tuple[str, int]]:
    """(photo path, light index) of the scenes of `split` in scenes.tsv."""
    out = []
    with open(os.path.join(dataset, "scenes.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            ident, s, _kind, light = line.rstrip("\n").split("\t")
            if s == split:
                out.append((os.path.join(dataset, f"{split}_img", f"{ident}.jpg"),
                            LIGHTS.index(light)))
    if not out:
        raise ValueError(f"{dataset}/scenes.tsv lists no {split} scenes")
    return out


def train(dataset: str, out: str, epochs: int = 6, max_images: int = 3000, seed: int = 0) -> float:
    """Trains on the train split; returns the accuracy on the test split."""
    torch.manual_seed(seed)
    scenes = read_scenes(dataset, "train")[:max_images]
    x = torch.stack([thumbnail(p) for p, _ in scenes])
    y = torch.tensor([light for _, light in scenes])
    model = LightClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        start, correct = time.perf_counter(), 0
        model.train()
        for batch in torch.randperm(len(x), generator=g).split(32):
            images = x[batch]
            flip = torch.rand(len(batch), generator=g) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
            logits = model(images)
            loss = F.cross_entropy(logits, y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += int((logits.argmax(1) == y[batch]).sum())
        print(f"light epoch {epoch}: train accuracy {correct / len(x):.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    model.eval()
    test = read_scenes(dataset, "test")
    accuracy = float(np.mean(predict(model, [p for p, _ in test]) == np.array([t for _, t in test])))
    checkpoints.atomic_save({"state_dict": model.state_dict(), "width": model.width,
                             "lights": LIGHTS, "test_accuracy": accuracy}, out)
    print(f"saved {out}: test accuracy {accuracy:.3f}", flush=True)
    return accuracy


def load(path: str) -> LightClassifier:
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = LightClassifier(state["width"])
    model.load_state_dict(state["state_dict"])
    return model.eval()


def predict(model: LightClassifier, paths: list[str]) -> np.ndarray:
    """The light index of each image."""
    with torch.inference_mode():
        return np.concatenate([model(torch.stack([thumbnail(p) for p in paths[i:i + 64]]))
                               .argmax(1).numpy() for i in range(0, len(paths), 64)])


def share_of(model: LightClassifier, folder: str, light: str) -> float:
    """The share of the images in `folder` that the classifier calls `light`."""
    paths = list(data.list_images(folder).values())
    if not paths:
        raise ValueError(f"{folder} holds no images")
    return float(np.mean(predict(model, paths) == LIGHTS.index(light)))
