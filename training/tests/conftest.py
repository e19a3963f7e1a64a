"""Tiny synthetic datasets written into tmp_path, and tiny training options."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from PIL import Image

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REPO = os.path.dirname(PACKAGE_ROOT)


def _shared_fixture(name: str) -> str:
    """A reference's tiny checkpoints and outputs, found as the Rust tests find
    them: fixtures/<name> under $EASEL_SHARED_DIR, under shared/ beside the
    repository (the usual checkout), or inside it."""
    shared = [os.environ.get("EASEL_SHARED_DIR"), os.path.join(REPO, "..", "shared"),
              os.path.join(REPO, "shared")]
    candidates = [os.path.join(d, "fixtures", name) for d in shared if d]
    return next((d for d in candidates if os.path.isdir(d)), candidates[0])


SPADE_FIXTURES = os.environ.get("SPADE_FIXTURES") or _shared_fixture("spade")
OASIS_FIXTURE = _shared_fixture("oasis_tiny")

sys.path.insert(0, PACKAGE_ROOT)

from easel_training import options  # noqa: E402
from easel_training.__main__ import build_parser  # noqa: E402

CLASSES = 4
COLOURS = np.array([[40, 90, 200], [60, 160, 60], [150, 120, 80], [230, 230, 240]], np.uint8)


def blob_label(rng, size: int, classes: int = CLASSES) -> np.ndarray:
    """Voronoi cells with random classes: blobby maps like real ones."""
    cells = 6
    ys, xs = rng.uniform(0, size, cells), rng.uniform(0, size, cells)
    gy, gx = np.mgrid[0:size, 0:size]
    region = ((gy[..., None] - ys) ** 2 + (gx[..., None] - xs) ** 2).argmin(-1)
    return rng.integers(0, classes, cells)[region].astype(np.uint8)


def photo_for(label: np.ndarray, rng) -> np.ndarray:
    noise = rng.integers(-25, 26, (*label.shape, 3))
    return np.clip(COLOURS[label % len(COLOURS)].astype(np.int64) + noise, 0, 255).astype(np.uint8)


def write_dataset(root, pairs: int = 4, size: int = 64, seed: int = 0, instances: bool = False,
                  stems=None, dontcare: bool = False):
    """root/{label,image[,instance]}/<stem>.png; returns the folders. With
    `dontcare`, a corner of every label map is 255."""
    rng = np.random.default_rng(seed)
    dirs = {k: os.path.join(root, k) for k in ("label", "image", "instance")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for stem in stems or [f"scene_{i:03d}" for i in range(pairs)]:
        label = blob_label(rng, size)
        if dontcare:
            label[: size // 4, : size // 4] = 255
        Image.fromarray(label, "L").save(os.path.join(dirs["label"], f"{stem}.png"))
        Image.fromarray(photo_for(label, rng)).save(os.path.join(dirs["image"], f"{stem}.jpg"),
                                                    quality=95)
        if instances:
            inst = (label.astype(np.uint16) * 1000 + (np.arange(size) // 16)[None, :])
            Image.fromarray(inst.astype(np.uint16)).save(os.path.join(dirs["instance"],
                                                                      f"{stem}.png"))
    return dirs


TINY = ["--label_nc", str(CLASSES), "--ngf", "2", "--spade_hidden", "8",
        "--ndf", "4", "--n_layers_D", "2", "--num_D", "2", "--crop_size", "64",
        "--load_size", "64", "--preprocess_mode", "resize_and_crop", "--no_vgg_loss",
        "--batchSize", "2", "--print_freq", "1000", "--display_freq", "1000",
        "--save_latest_freq", "1000", "--gpu_ids", "-1"]


def train_opt(dirs, checkpoints_dir, *extra, instances=False):
    """Options as `python -m easel_training train` would build them."""
    inst = ["--instance_dir", dirs["instance"]] if instances else ["--no_instance"]
    argv = ["train", "--name", "tiny", "--checkpoints_dir", str(checkpoints_dir),
            "--label_dir", dirs["label"], "--image_dir", dirs["image"], *TINY, *inst, *extra]
    return options.finalize(build_parser().parse_args(argv))


def easel_binary() -> str:
    """The easel binary for import-parity tests; they skip without one."""
    if os.environ.get("EASEL_BIN"):
        return os.environ["EASEL_BIN"]
    for build in ("release", "debug"):
        path = os.path.join(REPO, "target", build, "easel")
        if os.path.isfile(path):
            return path
    pytest.skip("no easel binary: build it (cargo build --release) or set EASEL_BIN")


def max_error(got, expected) -> float:
    got, expected = (np.asarray(a.numpy() if isinstance(a, torch.Tensor) else a, np.float64)
                     for a in (got, expected))
    assert got.shape == expected.shape, (got.shape, expected.shape)
    return float(np.abs(got - expected).max())


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "data")
