"""Baseline timing: the full-size COCO-Stuff SPADE generator (ngf 64, 182
classes + dontcare + instance edges, spectralspadesyncbatch3x3, 256x256) in
eager PyTorch, eval mode, inference_mode. One JSON line per batch size.

  --save-checkpoint DIR  write the random weights as a reference checkpoint
                         (DIR/latest_net_G.pth + DIR/opt.txt) for the importer
  --load-checkpoint DIR  time an existing reference checkpoint instead
  --save-io DIR          write label.npy, edges.npy, output.npy for comparison
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

# The architecture lives in the trainer's package, training/easel_training.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from easel_training import checkpoints, networks, options  # noqa: E402

DONTCARE = 255


def coco_opt():
    return options.make_opt(
        name="coco_random", dataset_mode="coco", label_nc=182, contain_dontcare_label=True,
        no_instance=False, ngf=64, norm_G="spectralspadesyncbatch3x3",
        num_upsampling_layers="normal", crop_size=256, load_size=256, aspect_ratio=1.0,
        use_vae=False, z_dim=256, preprocess_mode="resize_and_crop", init_variance=1.0,
    )


def random_generator(opt, calibrate: int):
    """Xavier weights with settled statistics: spectral-norm u, v power-iterated
    and batch-norm running statistics averaged over `calibrate` training-mode
    forwards on random maps, so that eval outputs are not saturated noise."""
    gen, _ = networks.build_from_opt(opt)
    networks.xavier_init(gen, gain=1.0)
    networks.spectral_power_iteration(gen, steps=20)
    if calibrate > 0:
        for m in gen.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None  # cumulative average over the calibration passes
        gen.train()
        with torch.no_grad():
            for i in range(calibrate):
                label, inst = random_maps(opt, 1, seed=1000 + i)
                gen(networks.semantics(label, opt, inst))
        for m in gen.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
    return gen.eval()


def random_maps(opt, batch: int, seed: int):
    """Blocky random label maps (raw values: classes 0..label_nc-1, 255 for
    dontcare) and instance maps, as the dataset loader would deliver them."""
    g = torch.Generator().manual_seed(seed)
    size = networks.output_size(opt)
    cells = (size[0] // 8, size[1] // 8)
    nc = opt.label_nc + int(opt.contain_dontcare_label)
    label = torch.randint(0, nc, (batch, *cells), generator=g)
    if opt.contain_dontcare_label:
        label[label == opt.label_nc] = DONTCARE
    inst = torch.randint(0, 16, (batch, *cells), generator=g)
    up = lambda t: t.repeat_interleave(8, 1).repeat_interleave(8, 2)  # noqa: E731
    return up(label), up(inst)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_batch(gen, opt, batch, args, device):
    label, inst = random_maps(opt, batch, seed=batch)
    label, inst = label.to(device), inst.to(device)
    net_ms, total_ms = [], []
    with torch.inference_mode():
        for i in range(args.warmup + args.iters):
            sync(device)
            t0 = time.perf_counter()
            seg = networks.semantics(label, opt, inst)
            sync(device)
            t1 = time.perf_counter()
            gen(seg)
            sync(device)
            t2 = time.perf_counter()
            if i >= args.warmup:
                net_ms.append((t2 - t1) * 1e3)
                total_ms.append((t2 - t0) * 1e3)
    net, total = statistics.median(net_ms), statistics.median(total_ms)
    return {
        "impl": "pytorch-eager", "batch": batch,
        "ms_per_image": round(net / batch, 2),
        "ms_per_batch_median": round(net, 2),
        "ms_per_image_with_onehot": round(total / batch, 2),
        "ms_per_batch_median_with_onehot": round(total, 2),
        "iters": args.iters, "threads": torch.get_num_threads(),
        "device": str(device), "torch": torch.__version__,
    }


def save_io(gen, opt, out_dir, device):
    os.makedirs(out_dir, exist_ok=True)
    label, inst = random_maps(opt, 2, seed=7)
    with torch.inference_mode():
        seg = networks.semantics(label, opt, inst)
        out = gen(seg.to(device)).cpu()
    np.save(os.path.join(out_dir, "label.npy"), label.numpy().astype(np.int64))
    np.save(os.path.join(out_dir, "edges.npy"), seg[:, -1].numpy().astype(np.float32))
    np.save(os.path.join(out_dir, "output.npy"), out.numpy().astype(np.float32))
    saturated = float((out.abs() > 0.99).float().mean())
    print(f"saved io to {out_dir}: output std {out.std():.3f}, |x|>0.99: {saturated:.1%}",
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--save-checkpoint", metavar="DIR")
    p.add_argument("--load-checkpoint", metavar="DIR")
    p.add_argument("--save-io", metavar="DIR")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calibrate", type=int, default=2,
                   help="training-mode passes to settle batch-norm statistics of random weights")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if args.load_checkpoint:
        opt, gen, _ = checkpoints.load_checkpoint(args.load_checkpoint)
    else:
        opt = coco_opt()
        gen = random_generator(opt, args.calibrate)
    if args.save_checkpoint:
        os.makedirs(args.save_checkpoint, exist_ok=True)
        torch.save(gen.state_dict(), os.path.join(args.save_checkpoint, "latest_net_G.pth"))
        checkpoints.save_opt(opt, os.path.join(args.save_checkpoint, "opt.txt"))
    gen = gen.to(device)
    if args.save_io:
        save_io(gen, opt, args.save_io, device)
    for batch in args.batch:
        print(json.dumps(time_batch(gen, opt, batch, args, device)), flush=True)


if __name__ == "__main__":
    main()
