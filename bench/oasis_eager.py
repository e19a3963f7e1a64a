"""Baseline timing for OASIS: its published ADE20K generator's architecture
(151 classes, channels_G 64, z_dim 64, 3x3 SPADE kernels, spectral norm,
sync-batch norm, 256x256) in eager PyTorch, eval mode, inference_mode, the
trainer's mirror of OASIS's generator (training/easel_training/oasis.py).

  --save DIR   random weights saved as OASIS saves them (DIR/models/
               latest_EMA.pth, DIR/opt.txt) with an input and its output
               (DIR/io/{label.png,z.npy,output.npy}) for checking easel's import
  --load DIR   time the generator saved there; one JSON line per batch size
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from easel_training import networks  # noqa: E402
from easel_training.oasis import OasisConfig, OasisGenerator  # noqa: E402

CONFIG = OasisConfig(semantic_nc=151, z_dim=64, channels_G=64, spade_ks=3)
SIZE = 256


def random_label(batch: int, seed: int) -> torch.Tensor:
    """Blocky random maps (16×16 cells) of ADE20K's 151 channels."""
    g = torch.Generator().manual_seed(seed)
    cells = torch.randint(0, CONFIG.semantic_nc, (batch, SIZE // 16, SIZE // 16), generator=g)
    return cells.repeat_interleave(16, 1).repeat_interleave(16, 2)


def one_hot(label: torch.Tensor) -> torch.Tensor:
    return F.one_hot(label, CONFIG.semantic_nc).permute(0, 3, 1, 2).float()


def save(root: str) -> None:
    torch.manual_seed(0)
    gen = OasisGenerator(CONFIG)
    networks.xavier_init(gen, gain=1.0, bias_std=0.1)
    networks.spectral_power_iteration(gen, steps=20)
    for m in gen.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a cumulative average over the calibration passes
    gen.train()
    with torch.no_grad():
        for i in range(2):
            gen(one_hot(random_label(1, 100 + i)))
    gen.eval()
    os.makedirs(os.path.join(root, "models"), exist_ok=True)
    os.makedirs(os.path.join(root, "io"), exist_ok=True)
    torch.save(gen.state_dict(), os.path.join(root, "models", "latest_EMA.pth"))
    options = {"channels_G": 64, "dataset_mode": "ade20k", "name": "oasis_random", "no_3dnoise": False,
               "no_spectral_norm": False, "num_res_blocks": 6, "param_free_norm": "syncbatch",
               "spade_ks": 3, "z_dim": 64}
    with open(os.path.join(root, "opt.txt"), "w") as f:
        f.write("".join(f"{k:>25}: {v!s:<30}\n" for k, v in sorted(options.items())))
    label = random_label(1, 7)
    z = torch.randn(1, CONFIG.z_dim, generator=torch.Generator().manual_seed(7))
    with torch.inference_mode():
        out = gen(one_hot(label), z)
    Image.fromarray(label[0].numpy().astype(np.uint8), "L").save(os.path.join(root, "io", "label.png"))
    np.save(os.path.join(root, "io", "z.npy"), z.numpy())
    np.save(os.path.join(root, "io", "output.npy"), out.numpy())
    print(f"saved to {root}: output std {out.std():.3f}", file=sys.stderr)


def load(root: str) -> OasisGenerator:
    gen = OasisGenerator(CONFIG)
    state = torch.load(os.path.join(root, "models", "latest_EMA.pth"), weights_only=True)
    gen.load_state_dict(state)
    return gen.eval()


def time_batch(gen: OasisGenerator, batch: int, iters: int) -> dict:
    label = random_label(batch, batch)
    z = torch.randn(batch, CONFIG.z_dim)
    times = []
    with torch.inference_mode():
        for i in range(1 + iters):
            t0 = time.perf_counter()
            gen(one_hot(label), z)
            if i > 0:
                times.append((time.perf_counter() - t0) * 1e3)
    median = statistics.median(times)
    return {"impl": "pytorch-eager", "model": "oasis-ade20k-random", "batch": batch,
            "ms_per_image": round(median / batch, 1), "ms_per_batch_median": round(median, 1),
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--save", metavar="DIR")
    p.add_argument("--load", metavar="DIR")
    p.add_argument("--batch", type=int, nargs="+", default=[1])
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.save:
        save(args.save)
    if args.load:
        gen = load(args.load)
        for batch in args.batch:
            print(json.dumps(time_batch(gen, batch, args.iters)))


if __name__ == "__main__":
    main()
