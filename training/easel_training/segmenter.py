"""The SPADE paper's evaluation at small scale: a compact U-Net segmenter is
trained on real photos and their label maps; generated images are then
scored by how well it recovers their input labels (pixel accuracy, mIoU),
next to the same scores on real test photos as the ceiling.
"""

from __future__ import annotations

import json
import os
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from . import checkpoints, data, quality

LEVELS = 4  # resolutions in the U-Net; inputs are padded to a multiple of 2**(LEVELS-1)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))


class CompactUNet(nn.Module):
    """Four resolutions, widths w·(1, 2, 4, 8): about 470 K parameters at
    w = 16."""

    def __init__(self, classes: int, width: int = 16):
        super().__init__()
        widths = [width * 2 ** i for i in range(LEVELS)]
        self.down = nn.ModuleList(_block(cin, cout) for cin, cout in zip([3] + widths, widths))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in range(LEVELS - 1))
        self.merge = nn.ModuleList(_block(2 * widths[i], widths[i]) for i in range(LEVELS - 1))
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(LEVELS - 1)):
            x = self.merge[i](torch.cat([self.up[i](x), skips[i]], 1))
        return self.head(x)

    def predict(self, image: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) in [-1,1], any size → (N,H,W) class indices."""
        h, w = image.shape[2:]
        m = 2 ** (LEVELS - 1)
        padded = F.pad(image, (0, -w % m, 0, -h % m), mode="replicate")
        return self(padded)[:, :, :h, :w].argmax(1)


# ---------------------------------------------------------------- metrics

def confusion(pred: torch.Tensor, target: torch.Tensor, classes: int) -> torch.Tensor:
    """classes×classes counts, rows = true class; target values >= classes
    (dontcare) are left out."""
    keep = target < classes
    idx = target[keep] * classes + pred[keep]
    return torch.bincount(idx, minlength=classes * classes).reshape(classes, classes)


def scores(conf: torch.Tensor) -> dict:
    """Pixel accuracy and mean IoU over the classes present in the labels or
    the predictions (a class absent from both has no IoU)."""
    conf = conf.double()
    tp = conf.diag()
    union = conf.sum(0) + conf.sum(1) - tp
    present = union > 0
    iou = torch.where(present, tp / union.clamp(min=1), torch.zeros_like(tp))
    return {
        "pixel_accuracy": float(tp.sum() / conf.sum().clamp(min=1)),
        "mean_iou": float(iou[present].mean()) if present.any() else 0.0,
        "class_iou": [round(float(v), 4) if p else None for v, p in zip(iou, present)],
    }


# ---------------------------------------------------------------- training

def _dataset_opt(args, train: bool) -> SimpleNamespace:
    """Options for the trainer's paired dataset: same pairing, checks, crop
    and flip code as training the GAN."""
    return SimpleNamespace(
        label_dir=args.label_dir, image_dir=args.image_dir, instance_dir="", no_instance=True,
        label_nc=args.label_nc, contain_dontcare_label=args.contain_dontcare_label,
        preprocess_mode="crop", load_size=args.crop_size, crop_size=args.crop_size,
        aspect_ratio=1.0, no_flip=not train,
        max_dataset_size=args.max_dataset_size, seed=args.seed)


def train_segmenter(args) -> dict:
    torch.manual_seed(args.seed)
    dataset = data.PairedDataset(_dataset_opt(args, train=True), generator_size=False)
    model = CompactUNet(args.label_nc, args.width)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loader_args = dict(batch_size=args.batch_size, shuffle=True, drop_last=False,
                       num_workers=args.workers, generator=torch.Generator().manual_seed(args.seed))
    params = sum(p.numel() for p in model.parameters())
    print(f"segmenter: {len(dataset)} pairs, {params / 1e3:.0f} K parameters, "
          f"{args.epochs} epochs of {args.crop_size}×{args.crop_size} crops", flush=True)
    steps = args.epochs * -(-len(dataset) // args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=steps)
    model.train()
    for epoch in range(1, args.epochs + 1):
        dataset.set_epoch(epoch)
        start, total, conf = time.perf_counter(), 0.0, torch.zeros(args.label_nc, args.label_nc,
                                                                  dtype=torch.long)
        for batch in torch.utils.data.DataLoader(dataset, **loader_args):
            logits = model(batch["image"])
            loss = F.cross_entropy(logits, batch["label"], ignore_index=args.label_nc)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(batch["label"])
            conf += confusion(logits.detach().argmax(1), batch["label"], args.label_nc)
        s = scores(conf)
        print(f"epoch {epoch}: loss {total / len(dataset):.3f}, train pixel accuracy "
              f"{s['pixel_accuracy']:.3f}, mIoU {s['mean_iou']:.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    state = {"state_dict": model.state_dict(), "label_nc": args.label_nc, "width": args.width,
             "contain_dontcare_label": args.contain_dontcare_label}
    checkpoints.atomic_save(state, args.out)
    print(f"saved {args.out}", flush=True)
    return state


def load_segmenter(path: str) -> tuple[CompactUNet, dict]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = CompactUNet(state["label_nc"], state["width"])
    model.load_state_dict(state["state_dict"])
    return model.eval(), state


# ---------------------------------------------------------------- evaluation

def _score_images(model, pairs, label_nc: int, dontcare: bool) -> dict:
    """pairs: (label path, image path). Images of another size than their
    label are resized to it (bicubic)."""
    conf = torch.zeros(label_nc, label_nc, dtype=torch.long)
    with torch.inference_mode():
        for label_path, image_path in pairs:
            label = torch.from_numpy(data.read_label_map(label_path, label_nc, dontcare).astype(
                np.int64))
            image = data.read_image(image_path)
            if image.size != (label.shape[1], label.shape[0]):
                image = image.resize((label.shape[1], label.shape[0]), Image.BICUBIC)
            pred = model.predict(data.image_to_tensor(image).unsqueeze(0))[0]
            conf += confusion(pred, label, label_nc)
    return {"images": len(pairs), **scores(conf)}


def _class_names(path: str | None, classes: int) -> list[str] | None:
    """Names from a class table (`id<TAB>name<TAB>#rrggbb`, # comments)."""
    if not path:
        return None
    names = [f"class {i}" for i in range(classes)]
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(fields) < 2 or not fields[0].isdigit():
                continue
            if int(fields[0]) < classes:
                names[int(fields[0])] = fields[1]
    return names


def _appearance(triples, label_nc: int, dontcare: bool, classes_tsv: str | None) -> dict:
    """Colour, sharpness and streaks of generated images against the real
    photos of the same maps (quality.py); images are resized to their map."""
    appearance = quality.Appearance(label_nc)
    for label_path, real_path, generated_path in triples:
        label = data.read_label_map(label_path, label_nc, dontcare).astype(np.int64)
        size = (label.shape[1], label.shape[0])

        def fitted(path):
            image = data.read_image(path)
            return np.asarray(image if image.size == size else image.resize(size, Image.BICUBIC))

        appearance.add(label, fitted(real_path), fitted(generated_path))
    return appearance.result(_class_names(classes_tsv, label_nc))


def evaluate(args) -> dict:
    model, state = load_segmenter(args.segmenter)
    nc, dontcare = state["label_nc"], state["contain_dontcare_label"]
    result = {"label_nc": nc}
    samples = data.pair_files(args.label_dir, args.image_dir) if args.image_dir else []
    if args.image_dir:
        result["real"] = _score_images(model, [(s.label, s.image) for s in samples], nc, dontcare)
    if args.generated_dir:
        labels = data.list_images(args.label_dir)
        generated = data.list_images(args.generated_dir)
        stems = sorted(labels.keys() & generated.keys())
        if not stems:
            raise data.DatasetError(f"no image in {args.generated_dir} shares a name stem with a "
                                    f"label map in {args.label_dir}")
        result["generated"] = _score_images(model, [(labels[s], generated[s]) for s in stems],
                                            nc, dontcare)
        result["generated"]["labels_without_generated_image"] = len(labels) - len(stems)
        if args.image_dir:
            real = {s.label: s.image for s in samples}
            result["appearance"] = _appearance(
                [(labels[s], real[labels[s]], generated[s]) for s in stems
                 if labels[s] in real], nc, dontcare, getattr(args, "classes", None))
    if getattr(args, "reference_free", False):
        if not args.generated_dir:
            raise ValueError("--reference_free judges generated images: pass --generated_dir")
        result["reference_free"] = _reference_free(args, nc, dontcare)
    if len(result) == 1:
        raise ValueError("nothing to evaluate: pass --image_dir (real photos), --generated_dir, "
                         "or both")
    return result


def _reference_free(args, nc: int, dontcare: bool) -> dict:
    """Anisotropy and per-class detail of the generated images alone, the
    detail as a ratio to the renderer's photos of other maps
    (--reference_image_dir, --reference_label_dir) when given."""
    reference = None
    if args.reference_image_dir:
        if not args.reference_label_dir:
            raise ValueError("--reference_image_dir needs --reference_label_dir (their maps)")
        reference = quality.Detail(nc)
        for sample in data.pair_files(args.reference_label_dir, args.reference_image_dir):
            label = data.read_label_map(sample.label, nc, dontcare).astype(np.int64)
            reference.add(label, _fitted(sample.image, label))
    judged = quality.ReferenceFree(nc)
    labels = data.list_images(args.label_dir)
    generated = data.list_images(args.generated_dir)
    for stem in sorted(labels.keys() & generated.keys()):
        label = data.read_label_map(labels[stem], nc, dontcare).astype(np.int64)
        judged.add(label, _fitted(generated[stem], label))
    return judged.result(reference, _class_names(getattr(args, "classes", None), nc))


def _fitted(path: str, label: np.ndarray) -> np.ndarray:
    """The image at its label map's size (bicubic where it differs)."""
    image = data.read_image(path)
    size = (label.shape[1], label.shape[0])
    return np.asarray(image if image.size == size else image.resize(size, Image.BICUBIC))


def add_segmenter_arguments(p) -> None:
    p.add_argument("--label_dir", required=True, help="8-bit label maps of the training photos")
    p.add_argument("--image_dir", required=True, help="real training photos, paired by stem")
    p.add_argument("--label_nc", type=int, required=True)
    p.add_argument("--contain_dontcare_label", action="store_true",
                   help="255 in the labels is dontcare: not trained on, not scored")
    p.add_argument("--out", required=True, help="where to write the segmenter (.pth)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--crop_size", type=int, default=128)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3, help="peak of the one-cycle schedule")
    p.add_argument("--width", type=int, default=16, help="U-Net base width")
    p.add_argument("--max_dataset_size", type=int, default=sys.maxsize)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)


def add_evaluate_arguments(p) -> None:
    p.add_argument("--segmenter", required=True, help="a .pth from `segmenter`")
    p.add_argument("--label_dir", required=True, help="label maps of the test scenes")
    p.add_argument("--image_dir", help="real test photos, paired with the labels by stem")
    p.add_argument("--generated_dir",
                   help="images generated from the labels, named like them (any extension)")
    p.add_argument("--classes", help="class table (id, name, colour) to name the classes in "
                                     "the appearance figures")
    p.add_argument("--reference_free", action="store_true",
                   help="also judge the generated images without their photos: anisotropy "
                        "(median, p90) and detail per class, as a ratio to the reference photos")
    p.add_argument("--reference_label_dir", help="--reference_free: maps of the renderer's photos")
    p.add_argument("--reference_image_dir",
                   help="--reference_free: the renderer's photos whose per-class detail is 1")


def print_json(result: dict) -> None:
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


def path_checks(args) -> None:
    for flag in ("label_dir", "image_dir", "generated_dir", "reference_label_dir",
                 "reference_image_dir"):
        value = getattr(args, flag, None)
        if value and not os.path.isdir(value):
            raise ValueError(f"--{flag} {value} is not a folder")
