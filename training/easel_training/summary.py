"""`training.json`: what a run was trained on and for how long, for the
model card (`easel import` copies it from the checkpoint folder)."""

from __future__ import annotations

import json
import os
import platform
import sys

import torch

from . import checkpoints, data, options


def summarize(ckpt_dir: str) -> dict:
    opt = options.load_opt(os.path.join(ckpt_dir, "opt.txt"))
    epoch, epoch_iter = checkpoints.read_iter(ckpt_dir)
    pairs = len(data.list_images(opt.label_dir))
    used = min(pairs, int(opt.max_dataset_size))
    # Wall clock from opt.txt (rewritten whenever training starts or resumes)
    # to the newest generator checkpoint: the last leg of the run.
    started = os.path.getmtime(os.path.join(ckpt_dir, "opt.txt"))
    finished = os.path.getmtime(os.path.join(ckpt_dir, "latest_net_G.pth"))
    # iter.txt is where training would resume: epoch `epoch`, `epoch_iter` images into it.
    epochs_done = epoch - 1
    return {
        "trainer": "easel_training",
        "dataset": {"label_dir": opt.label_dir, "image_dir": opt.image_dir, "pairs": pairs,
                    "pairs_used": used},
        "preprocess": {"mode": opt.preprocess_mode, "load_size": int(opt.load_size),
                       "crop_size": int(opt.crop_size)},
        "generator": {"ngf": int(opt.ngf), "norm_G": opt.norm_G,
                      "spade_hidden": int(getattr(opt, "spade_hidden", 128))},
        "epochs": epochs_done + epoch_iter / max(used, 1),
        "images_seen": epochs_done * used + epoch_iter,
        "batch_size": int(opt.batchSize),
        "schedule": {"niter": int(opt.niter), "niter_decay": int(opt.niter_decay), "lr": float(opt.lr),
                     "ttur": not getattr(opt, "no_TTUR", False)},
        "wall_clock_hours_last_leg": round((finished - started) / 3600, 2),
        "device": f"{'cuda' if torch.cuda.is_available() and str(opt.gpu_ids) != '-1' else 'cpu'} "
                  f"({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "bf16": bool(getattr(opt, "bf16", False)),
        "torch": torch.__version__,
    }


def main(ckpt_dir: str) -> None:
    json.dump(summarize(ckpt_dir), sys.stdout, indent=1)
    print()
