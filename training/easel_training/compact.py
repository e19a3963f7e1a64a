"""A run's resume point in a form small enough to commit: the latest
generator, discriminator and encoder weights (and their moving
averages, with --ema) in bfloat16 (integer tensors as
they are), with opt.txt and iter.txt, in one folder. `unpack` turns it back
into a run folder that `--continue_train` resumes from; the optimizer state
is not kept, so Adam's moments start afresh (the trainer says so).
"""

from __future__ import annotations

import os
import shutil

import torch

from . import checkpoints

WEIGHTS = "weights.pt"
NETS = ("G", "D", "E", "G_ema", "E_ema")


def _bf16(state: dict) -> dict:
    return {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in state.items()}


def pack(run_dir: str, out_dir: str, label: str = "latest") -> int:
    """Writes `out_dir`/{weights.pt, opt.txt, iter.txt}; returns its size in bytes."""
    nets = {}
    for net in NETS:
        path = checkpoints.net_path(run_dir, label, net)
        if os.path.isfile(path):
            nets[net] = _bf16(checkpoints.load_state(path))
    if "G" not in nets or "D" not in nets:
        raise FileNotFoundError(f"{run_dir} has no {label}_net_G.pth and {label}_net_D.pth to pack")
    os.makedirs(out_dir, exist_ok=True)
    checkpoints.atomic_save(nets, os.path.join(out_dir, WEIGHTS))
    for name in ("opt.txt", "iter.txt"):
        shutil.copyfile(os.path.join(run_dir, name), os.path.join(out_dir, name))
    return sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))


def unpack(packed_dir: str, run_dir: str) -> None:
    """A run folder from a packed one: latest_net_*.pth in float32,
    opt.txt and iter.txt; no optimizer state."""
    nets = torch.load(os.path.join(packed_dir, WEIGHTS), map_location="cpu", weights_only=True)
    os.makedirs(run_dir, exist_ok=True)
    for net, state in nets.items():
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        checkpoints.atomic_save(state, checkpoints.net_path(run_dir, "latest", net))
    stale = checkpoints.optim_path(run_dir)
    if os.path.exists(stale):
        os.remove(stale)  # it belongs to other weights
    for name in ("opt.txt", "iter.txt"):
        shutil.copyfile(os.path.join(packed_dir, name), os.path.join(run_dir, name))
