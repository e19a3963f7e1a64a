"""Distillation (issue 29): a lighter generator of the same family trained
to make what a teacher makes, GAN Compression's recipe on easel's trainer.

1. `distill-cache` runs the teacher once over the training maps: for each
   map a style z (for a share of them the teacher's encoder reading the
   paired photo, a sample around its mu; for the rest N(0, 1)), saved as
   <stem>.npy, and the teacher's image with it as <stem>.png. The teacher
   costs more than a student's step, so it never runs during training.
   Resumable: a map whose two files are there is skipped, and every file is
   written whole (a temporary name, then a rename).
2. `train --teacher RUN --distill_cache DIR` trains the student (any flags
   of the family: fewer channels, 1×1 SPADE kernels) on the cached images:
   L1 to the teacher's image, the discriminator's features of it (feature
   matching) and the adversarial loss against the real photos. The student
   starts from the teacher: every weight of the same shape (the trunk when
   only the SPADE layers are lighter), the teacher's discriminator, and the
   teacher's style encoder, which stays frozen, so that styles, presets and
   z mean the same to both.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import torch
from PIL import Image

from . import checkpoints, data, networks


def _stem_rng(seed: int, stem: str) -> np.random.Generator:
    """A map's own random stream: its z does not depend on which maps are
    cached with it or in what order."""
    return np.random.default_rng((seed, zlib.crc32(stem.encode("utf-8"))))


@torch.no_grad()
def build_cache(teacher_dir: str, label_dir: str, image_dir: str, out: str, *,
                photo_share: float = 0.5, seed: int = 0, limit: int | None = None,
                say=lambda message: print(message, flush=True)) -> tuple[int, int]:
    """Fills `out` with the teacher's image and z of every map; returns
    (made, already there)."""
    if not 0 <= photo_share <= 1:
        raise ValueError(f"--photo_share {photo_share}: the share of maps whose z comes from "
                         "their photo, 0 to 1")
    opt, generator, encoder = checkpoints.load_checkpoint(teacher_dir)
    z_dim = getattr(opt, "z_dim", 0) or 0
    if z_dim < 1:
        raise ValueError(f"{teacher_dir}: the teacher takes no style z (z_dim {z_dim}); "
                         "distillation here is for models with one")
    samples = data.pair_files(label_dir, image_dir, None, limit)
    os.makedirs(out, exist_ok=True)
    made = kept = 0
    for i, s in enumerate(samples):
        image_path, z_path = data.guide_paths(out, s.stem)
        if os.path.isfile(image_path) and os.path.isfile(z_path):
            kept += 1
            continue
        label = data.read_label_map(s.label, opt.label_nc, opt.contain_dontcare_label)
        rng = _stem_rng(seed, s.stem)
        from_photo = encoder is not None and rng.random() < photo_share
        eps = torch.from_numpy(rng.standard_normal(z_dim).astype(np.float32))[None]
        if from_photo:
            photo = data.image_to_tensor(data.read_image(s.image))[None]
            mu, logvar = encoder(photo)
            z = mu + eps * torch.exp(0.5 * logvar)
        else:
            z = eps
        seg = networks.semantics(torch.from_numpy(label.astype(np.int64))[None], opt)
        fake = generator(seg, z)[0]
        rgb = ((fake.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        checkpoints.atomic_write(z_path, lambda f: np.save(f, z[0].numpy().astype(np.float32)))
        checkpoints.atomic_write(image_path, lambda f: Image.fromarray(rgb).save(f, format="PNG"))
        made += 1
        if made % 200 == 0:
            say(f"{made + kept}/{len(samples)} maps cached")
    return made, kept


def start_from_teacher(trainer, teacher_dir: str, say) -> None:
    """The student's first weights from the teacher's run: every generator
    weight of the same name and shape, the discriminator when it fits, and
    the style encoder, frozen."""
    opt = trainer.opt
    teacher = checkpoints.load_state(checkpoints.net_path(teacher_dir, "latest", "G"))
    student = trainer.synthesis.generator.state_dict()
    taken = {k: v for k, v in teacher.items() if k in student and student[k].shape == v.shape}
    student.update(taken)
    trainer.synthesis.generator.load_state_dict(student)
    say(f"student generator: {len(taken)} of its {len(student)} tensors from the teacher "
        f"{teacher_dir}, the rest learnt anew")
    encoder = trainer.synthesis.encoder
    e_path = checkpoints.net_path(teacher_dir, "latest", "E")
    if opt.use_vae:
        if not os.path.isfile(e_path):
            raise ValueError(f"the student has a style encoder (--use_vae) but the teacher "
                             f"{teacher_dir} has none ({e_path})")
        try:
            encoder.load_state_dict(checkpoints.load_state(e_path), strict=True)
        except RuntimeError:
            raise ValueError(f"{e_path} does not fit this student's encoder, whose width is "
                             "--ngf: give the student the teacher's --ngf and --z_dim, and make "
                             "it lighter with --spade_hidden and --spade_ks") from None
        encoder.requires_grad_(False)
    d_path = checkpoints.net_path(teacher_dir, "latest", "D")
    if os.path.isfile(d_path):
        try:
            trainer.discriminator.load_state_dict(checkpoints.load_state(d_path), strict=True)
            say("discriminator: the teacher's")
        except RuntimeError:
            say("discriminator: learnt anew (the teacher's has other flags)")
