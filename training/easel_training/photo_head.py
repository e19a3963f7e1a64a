"""A head for a real-photo segmenter, trained on its class scores.

The shared DeepLabV3 (ADE20K) reads real photographs well, but the
renderer's scenes are not photographs: it calls their grass tree and their
bushes trees. Its 151 class scores still tell the renderer's classes apart,
so a linear head over them (one row of 151 weights and a bias per package
class) can learn the renderer's classes from its scenes, while real photos
keep the answers the mapping gives today: on them the head is taught the
mapped argmax of the segmenter itself (distillation: no photo's labels are
used), and its weights are held near the mapping's one-hot start.

    easel attach-photo-segmenter SEG.tflite --package /tmp/scores --scores
    python -m easel_training photo-head --graph /tmp/scores/photo_segmenter.onnx \\
        --scenes DATASET --photos FOLDER ... --out head.json

Needs numpy, pillow and onnxruntime (the `test` extra). Deterministic for a
seed on one machine.
"""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image

SIDE = 513
# Pixels taken from each image, on a grid.
STRIDE = 8


def add_arguments(p) -> None:
    p.add_argument("--graph", required=True,
                   help="photo_segmenter.onnx attached with --scores (outputs `logits`)")
    p.add_argument("--card", help="its model.json (default: beside the graph)")
    p.add_argument("--scenes", required=True,
                   help="a folder `easel dataset synth` wrote (train_img/, train_label/)")
    p.add_argument("--photos", nargs="*", default=[],
                   help="folders of real photos, read by the segmenter itself (no labels used)")
    p.add_argument("--max_scenes", type=int, default=300)
    p.add_argument("--photo_weight", type=float, default=1.0,
                   help="weight of the real photos' pixels against the scenes'")
    p.add_argument("--prior", type=float, default=1e-3,
                   help="pull of the weights towards the mapping's one-hot start")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="the head, JSON")


def letterbox(photo: Image.Image) -> tuple[np.ndarray, tuple[int, int]]:
    """As easel's Letterbox: fitted without distortion, top-left, padded with
    mid grey; (3, 513, 513) in [-1, 1] and the photo's (w, h) inside."""
    w, h = photo.size
    scale = min(SIDE / w, SIDE / h)
    iw, ih = max(1, min(SIDE, round(w * scale))), max(1, min(SIDE, round(h * scale)))
    resized = photo.convert("RGB").resize((iw, ih), Image.BILINEAR)
    x = np.zeros((3, SIDE, SIDE), np.float32)
    x[:, :ih, :iw] = np.asarray(resized, np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    return x, (iw, ih)


def samples(session, photo: Image.Image, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores (n, C) at grid pixels inside the photo, their (x, y) in the
    photo's own pixels."""
    x, (iw, ih) = letterbox(photo)
    logits = session.run(["logits"], {"photo": x[None]})[0][0]  # (C, 513, 513)
    ox, oy = rng.integers(0, STRIDE, 2)
    ys, xs = np.mgrid[oy:ih:STRIDE, ox:iw:STRIDE]
    ys, xs = ys.ravel(), xs.ravel()
    w, h = photo.size
    px = np.minimum((xs + 0.5) * w / iw, w - 1).astype(int)
    py = np.minimum((ys + 0.5) * h / ih, h - 1).astype(int)
    return logits[:, ys, xs].T.copy(), px, py


def train(args) -> dict:
    import onnxruntime as ort

    card_path = args.card or os.path.join(os.path.dirname(args.graph), "model.json")
    card = json.load(open(card_path))
    names = [c["name"] for c in card["classes"]]
    entry = card["photo_segmenter"]
    session = ort.InferenceSession(args.graph, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(args.seed)

    # The mapping: package class of each mapped segmenter class (its labels
    # are ADE20K's 151; the card lists the pairs by name).
    from_names = ade20k_labels() if entry["labels"] == "ade20k" else read_labels(entry["labels"])
    mapped = {from_names.index(f): names.index(t) for f, t in entry["pairs"]}
    n_classes, k = len(from_names), len(names)

    feats, targets, weights = [], [], []
    scene_dir = args.scenes
    stems = sorted(os.listdir(os.path.join(scene_dir, "train_img")))[: args.max_scenes]
    for stem in stems:
        photo = Image.open(os.path.join(scene_dir, "train_img", stem))
        label = np.asarray(Image.open(os.path.join(scene_dir, "train_label",
                                                   os.path.splitext(stem)[0] + ".png")))
        f, px, py = samples(session, photo, rng)
        feats.append(f)
        targets.append(label[py, px].astype(np.int64))
        weights.append(np.ones(len(f), np.float32))
    n_scene = sum(len(t) for t in targets)
    kept = np.array(sorted(mapped))
    to_package = np.array([mapped[c] for c in kept])
    photo_pixels = 0
    for folder in args.photos:
        for name in sorted(os.listdir(folder)):
            photo = Image.open(os.path.join(folder, name))
            f, _, _ = samples(session, photo, rng)
            feats.append(f)
            # The mapping's answer: the argmax over the mapped classes.
            targets.append(to_package[np.argmax(f[:, kept], axis=1)])
            photo_pixels += len(f)
    if photo_pixels:
        weights.append(np.full(photo_pixels, args.photo_weight * n_scene / photo_pixels, np.float32))
    x = np.concatenate(feats).astype(np.float32)
    y = np.concatenate(targets)
    sw = np.concatenate(weights)
    sw /= sw.sum()

    # Start: each package class scores as its first-listed member (water as
    # water, tree as tree); classes with none (clouds, snow) start unlikely.
    w0 = np.zeros((k, n_classes), np.float32)
    for f, t in reversed(entry["pairs"]):
        w0[names.index(t)] = 0.0
        w0[names.index(t), from_names.index(f)] = 1.0
    b0 = np.where(w0.sum(1) > 0, 0.0, -5.0).astype(np.float32)
    w, b = w0.copy(), b0.copy()
    adam = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
    lr, beta1, beta2 = 0.05, 0.9, 0.999
    onehot = np.eye(k, dtype=np.float32)[y]
    for step in range(1, args.steps + 1):
        s = x @ w.T + b
        s -= s.max(1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(1, keepdims=True)
        loss = -(sw * np.log(p[np.arange(len(y)), y] + 1e-12)).sum() + args.prior * ((w - w0) ** 2).sum()
        g = (p - onehot) * sw[:, None]
        gw = g.T @ x + 2 * args.prior * (w - w0)
        gb = g.sum(0)
        for i, (param, grad) in enumerate(((w, gw), (b, gb))):
            m, v = adam[2 * i], adam[2 * i + 1]
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= lr * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + 1e-8)
        if step % 100 == 0 or step == 1:
            pred = np.argmax(x @ w.T + b, 1)
            scene_acc = (pred[:n_scene] == y[:n_scene]).mean()
            photo_acc = (pred[n_scene:] == y[n_scene:]).mean() if photo_pixels else float("nan")
            print(f"step {step}: loss {loss:.4f}; agreement with scenes' labels {scene_acc:.3f}, "
                  f"with the mapping on photos {photo_acc:.3f}", flush=True)
    pred = np.argmax(x @ w.T + b, 1)
    scene_agreement = float((pred[:n_scene] == y[:n_scene]).mean())
    head = {
        "classes": names,
        "weight": w.round(6).tolist(),
        "bias": b.round(6).tolist(),
        "trained": {
            "scenes": len(stems), "scene_pixels": int(n_scene), "photo_pixels": int(photo_pixels),
            "photo_weight": args.photo_weight, "prior": args.prior, "steps": args.steps,
            "seed": args.seed, "scenes_from": os.path.abspath(scene_dir),
            "scene_agreement": round(scene_agreement, 4),
        },
    }
    with open(args.out, "w") as f:
        json.dump(head, f)
    return head


def ade20k_labels() -> list[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    tsv = os.path.join(here, "..", "..", "server", "data", "classes", "ade20k-151.tsv")
    names = [line.rstrip("\n").split("\t")[1] for line in open(tsv)
             if line[:1].isdigit()]
    names[0] = "background"
    return names


def read_labels(path: str) -> list[str]:
    out = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        first, _, rest = line.partition("\t") if "\t" in line else line.partition(" ")
        out.append(rest.strip() if first.isdigit() and rest else line)
    return out
