"""The reference's `custom` dataset: label maps, photos and optional instance
maps paired by file-name stem, read and checked once here, then preprocessed
as the reference does (resize / scale width / crop / flip with one set of
parameters per sample; nearest for maps, bicubic for photos; photos to [-1, 1]).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from . import networks

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}
DONTCARE = 255
POWER_OF_2_BASE = 32  # preprocess_mode none rounds sizes to a multiple of this


class DatasetError(ValueError):
    """A problem with the files: the message names the file and what to do."""


@dataclass(frozen=True)
class Sample:
    stem: str
    label: str
    image: str
    instance: str | None


def list_images(folder: str) -> dict[str, str]:
    """stem → path for the images directly in `folder`."""
    found: dict[str, str] = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in IMAGE_EXTENSIONS or not os.path.isfile(os.path.join(folder, name)):
            continue
        if stem in found:
            raise DatasetError(f"{folder}: two files share the stem {stem!r} "
                               f"({os.path.basename(found[stem])}, {name}); pairing needs one")
        found[stem] = os.path.join(folder, name)
    return found


def _mismatch_lines(what: str, stems: list[str], limit: int = 10) -> list[str]:
    if not stems:
        return []
    shown = ", ".join(stems[:limit]) + (f", … ({len(stems)} in all)" if len(stems) > limit else "")
    return [f"  {what}: {shown}"]


def pair_files(label_dir: str, image_dir: str, instance_dir: str | None = None,
               max_size: int | None = None) -> list[Sample]:
    """Samples paired by stem (name without extension), sorted by stem. Every
    label needs an image (and an instance map, if used) and vice versa."""
    labels, images = list_images(label_dir), list_images(image_dir)
    instances = list_images(instance_dir) if instance_dir else None
    problems = []
    problems += _mismatch_lines(f"labels without an image in {image_dir}",
                                sorted(labels.keys() - images.keys()))
    problems += _mismatch_lines(f"images without a label in {label_dir}",
                                sorted(images.keys() - labels.keys()))
    if instances is not None:
        problems += _mismatch_lines(f"labels without an instance map in {instance_dir}",
                                    sorted(labels.keys() - instances.keys()))
        problems += _mismatch_lines(f"instance maps without a label in {label_dir}",
                                    sorted(instances.keys() - labels.keys()))
    if problems:
        raise DatasetError("label, image and instance files are paired by name without the "
                           "extension, and these have no partner:\n" + "\n".join(problems))
    if not labels:
        raise DatasetError(f"no images in {label_dir} (looked for {sorted(IMAGE_EXTENSIONS)})")
    stems = sorted(labels)[:max_size]
    return [Sample(s, labels[s], images[s], instances[s] if instances else None) for s in stems]


# ---------------------------------------------------------------- reading

def read_label_map(path: str, label_nc: int, contain_dontcare_label: bool) -> np.ndarray:
    """(H,W) uint8 class indices < label_nc, with dontcare (255) turned into
    class label_nc when the model has it."""
    with Image.open(path) as img:
        if img.mode not in ("L", "P"):
            raise DatasetError(f"{path}: label maps must be 8-bit grayscale or paletted PNGs of "
                               f"class indices, this one is {img.mode}")
        label = np.array(img, dtype=np.uint8)
    dontcare = label == DONTCARE
    if dontcare.any():
        if not contain_dontcare_label:
            raise DatasetError(f"{path}: {int(dontcare.sum())} pixels are 255 (dontcare), but "
                               "--contain_dontcare_label is not set; set it or relabel them")
        label[dontcare] = label_nc
    bad = label[(label >= label_nc) & ~dontcare]
    if bad.size:
        raise DatasetError(f"{path}: values {np.unique(bad).tolist()[:10]} are not classes of "
                           f"--label_nc {label_nc} (0 … {label_nc - 1}"
                           f"{', 255 dontcare' if contain_dontcare_label else ''})")
    return label


def read_instance_map(path: str) -> np.ndarray:
    """(H,W) int32 instance ids from 8/16/32-bit grayscale or colour PNGs
    (a colour's channels form the id)."""
    with Image.open(path) as img:
        arr = np.array(img)
    if arr.ndim == 3:
        arr = arr[..., :3].astype(np.int64)
        arr = (arr[..., 0] << 16) | (arr[..., 1] << 8) | arr[..., 2]
    return arr.astype(np.int32)


def read_image(path: str) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB → (3,H,W) float in [-1, 1]."""
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous() * 2.0 - 1.0


# ---------------------------------------------------------------- preprocessing

class Preprocess:
    """The reference's transforms for one `preprocess_mode`. One set of
    parameters (crop position, flip) is drawn per sample and applied to the
    label, the photo and the instance map alike."""

    def __init__(self, opt, train: bool = True):
        self.mode = opt.preprocess_mode
        self.load_size = opt.load_size
        self.crop_size = opt.crop_size
        self.aspect_ratio = opt.aspect_ratio
        self.flip = train and not opt.no_flip

    def resized(self, w: int, h: int) -> tuple[int, int]:
        if "resize" in self.mode:
            return self.load_size, self.load_size
        if "scale_width" in self.mode:
            return self.load_size, int(self.load_size * h / w)
        if self.mode == "none":
            return (max(POWER_OF_2_BASE, round(w / POWER_OF_2_BASE) * POWER_OF_2_BASE),
                    max(POWER_OF_2_BASE, round(h / POWER_OF_2_BASE) * POWER_OF_2_BASE))
        if self.mode == "fixed":
            return self.crop_size, round(self.crop_size / self.aspect_ratio)
        return w, h  # crop

    def params(self, w: int, h: int, rng: np.random.Generator, path: str) -> dict:
        rw, rh = self.resized(w, h)
        crop = None
        if "crop" in self.mode:
            if rw < self.crop_size or rh < self.crop_size:
                raise DatasetError(f"{path}: {w}×{h} becomes {rw}×{rh} before the "
                                   f"{self.crop_size}×{self.crop_size} crop; raise --load_size "
                                   "or lower --crop_size")
            x = int(rng.integers(0, rw - self.crop_size + 1))
            y = int(rng.integers(0, rh - self.crop_size + 1))
            crop = (x, y, x + self.crop_size, y + self.crop_size)
        return {"size": (rw, rh), "crop": crop, "flip": self.flip and bool(rng.random() > 0.5)}

    @staticmethod
    def apply(img: Image.Image, params: dict, method) -> Image.Image:
        if img.size != params["size"]:
            img = img.resize(params["size"], method)
        if params["crop"] is not None:
            img = img.crop(params["crop"])
        if params["flip"]:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return img


def guide_paths(cache_dir: str, stem: str) -> tuple[str, str]:
    """(teacher's image, its z) of a map in a distillation cache (distill.py)."""
    return os.path.join(cache_dir, f"{stem}.png"), os.path.join(cache_dir, f"{stem}.npy")


def read_guide(cache_dir: str, stem: str, z_dim: int) -> tuple[Image.Image, np.ndarray]:
    """The teacher's image and z of a map, from a distillation cache."""
    image_path, z_path = guide_paths(cache_dir, stem)
    if not (os.path.isfile(image_path) and os.path.isfile(z_path)):
        raise DatasetError(f"{stem} is not in the distillation cache {cache_dir}: run "
                           "`python -m easel_training distill-cache` over these maps first")
    z = np.load(z_path).astype(np.float32)
    if z.shape != (z_dim,):
        raise DatasetError(f"{z_path} holds a z of shape {z.shape}; this student takes "
                           f"({z_dim},): the cache was made by another teacher")
    return read_image(image_path), z


class PairedDataset(torch.utils.data.Dataset):
    """Items: {"label": (H,W) int64, "image": (3,H,W) float, "instance":
    (H,W) int64 when used, "teacher": (3,H,W) float and "z": (z_dim,) float
    when distilling, "index": int}. Random crops and flips come from
    (seed, epoch, index), so a run is reproducible with any worker count.
    With `generator_size`, every item must come out at the generator's size."""

    def __init__(self, opt, train: bool = True, generator_size: bool = True):
        self.opt = opt
        self.samples = pair_files(opt.label_dir, opt.image_dir,
                                  None if opt.no_instance else opt.instance_dir,
                                  opt.max_dataset_size)
        self.preprocess = Preprocess(opt, train)
        self.expected_hw = networks.output_size(opt) if generator_size else None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        s = self.samples[index]
        opt = self.opt
        label = read_label_map(s.label, opt.label_nc, opt.contain_dontcare_label)
        image = read_image(s.image)
        if image.size != (label.shape[1], label.shape[0]):
            raise DatasetError(f"{s.image} is {image.size[0]}×{image.size[1]} but its label "
                               f"{s.label} is {label.shape[1]}×{label.shape[0]}")
        rng = np.random.default_rng((opt.seed, self.epoch, index))
        params = self.preprocess.params(image.size[0], image.size[1], rng, s.image)
        label_img = self.preprocess.apply(Image.fromarray(label, "L"), params, Image.NEAREST)
        image = self.preprocess.apply(image, params, Image.BICUBIC)
        hw = (image.size[1], image.size[0])
        if self.expected_hw is not None and hw != self.expected_hw:
            raise DatasetError(
                f"{s.image} comes out {hw[1]}×{hw[0]} after --preprocess_mode "
                f"{opt.preprocess_mode}, but the generator makes {self.expected_hw[1]}×"
                f"{self.expected_hw[0]} (--crop_size {opt.crop_size}, --aspect_ratio "
                f"{opt.aspect_ratio}, --num_upsampling_layers {opt.num_upsampling_layers}); "
                "use a cropping or fixed mode, or match crop_size and aspect_ratio to the data")
        item = {
            "label": torch.from_numpy(np.array(label_img, dtype=np.int64)),
            "image": image_to_tensor(image),
            "index": index,
        }
        if getattr(opt, "distill_cache", ""):
            # The teacher's image of this map, cropped and flipped with it.
            teacher, z = read_guide(opt.distill_cache, s.stem, opt.z_dim)
            if teacher.size != (label.shape[1], label.shape[0]):
                raise DatasetError(f"the cached teacher image of {s.stem} is {teacher.size[0]}×"
                                   f"{teacher.size[1]}, its label {label.shape[1]}×"
                                   f"{label.shape[0]}: the cache was made from other maps")
            item["teacher"] = image_to_tensor(self.preprocess.apply(teacher, params, Image.BICUBIC))
            item["z"] = torch.from_numpy(z)
        if s.instance is not None:
            inst = read_instance_map(s.instance)
            if inst.shape != label.shape:
                raise DatasetError(f"{s.instance} is {inst.shape[1]}×{inst.shape[0]} but its "
                                   f"label {s.label} is {label.shape[1]}×{label.shape[0]}")
            inst_img = self.preprocess.apply(Image.fromarray(inst, "I"), params, Image.NEAREST)
            item["instance"] = torch.from_numpy(np.array(inst_img, dtype=np.int64))
        return item
