"""Batch-norm statistics recomputed at the serving size.

A generator with batch norm serves with the running means and variances it
gathered while training. When most of the training ran at a smaller size
(whole frames scaled to 128²) and only the end at the serving size, those
statistics are a mix of both, weighted towards the last few hundred steps:
skies turn grey where the mix is off. `recalibrate` forgets them and averages
the batch statistics of full-frame passes at the serving size instead (no
gradients, no weight changes), then writes the generator back.
"""

from __future__ import annotations

import copy
import os

import torch
from torch import nn

from . import checkpoints, networks
from .data import PairedDataset

DEFAULT_IMAGES = 480
DEFAULT_BATCH = 16


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and m.track_running_stats]


def _data_opt(opt, label_dir: str, image_dir: str, size: int, images: int):
    """The run's options, reading whole frames at `size` from the given folders
    (maps and photos only: a distilled student's teacher cache is not read)."""
    data = copy.copy(opt)
    data.label_dir, data.image_dir = label_dir, image_dir
    data.distill_cache = ""
    data.load_size = data.crop_size = size
    data.preprocess_mode = "resize_and_crop"
    data.no_flip = True
    data.max_dataset_size = images
    return data


@torch.no_grad()
def recalibrate_stats(generator: nn.Module, encoder: nn.Module | None, batches, opt,
                      seed: int = 0) -> int:
    """Replaces every batch norm's running statistics in `generator` with
    the average over `batches` (dicts as PairedDataset yields, collated).
    The style comes from each photo's encoding, sampled as in training.
    Returns the number of batches seen."""
    norms = batch_norms(generator)
    if not norms:
        raise ValueError("this generator has no batch norm to recalibrate "
                         "(its param-free norm is instance norm or none)")
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over every batch
    rng = torch.Generator().manual_seed(seed)
    # Only the norms take batch statistics: in training mode spectral norm
    # would also advance its power iteration, changing the weights it serves.
    generator.eval()
    for m in norms:
        m.train()
    count = 0
    try:
        for batch in batches:
            seg = networks.semantics(batch["label"], opt, batch.get("instance"))
            if encoder is None:
                generator(seg)
            else:
                mu, logvar = encoder(batch["image"])
                noise = torch.randn(mu.shape, generator=rng)
                generator(seg, mu + noise * torch.exp(0.5 * logvar))
            count += 1
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        generator.eval()
    if count == 0:
        raise ValueError("no images to recalibrate with")
    return count


def recalibrate(run_dir: str, label_dir: str, image_dir: str, size: int,
                images: int = DEFAULT_IMAGES, batch_size: int = DEFAULT_BATCH,
                label: str = "latest") -> int:
    """Recomputes the run's `label` generator's batch-norm statistics over
    `images` full frames at `size` and saves it in place; returns the number
    of images used."""
    opt, generator, encoder = checkpoints.load_checkpoint(run_dir, label)
    data = PairedDataset(_data_opt(opt, label_dir, image_dir, size, images), train=False,
                         generator_size=False)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False,
                                         num_workers=0)
    recalibrate_stats(generator, encoder, loader, opt)
    checkpoints.save_networks(run_dir, label, {"G": generator})
    with open(os.path.join(run_dir, "recalibrated.txt"), "w", encoding="utf-8") as f:
        f.write(f"{len(data)} images at {size}x{size}\n")
    return len(data)
