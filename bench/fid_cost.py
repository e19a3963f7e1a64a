"""What FID and KID cost at the end of a run: a complete run folder with N
real and N synthesized 2048-dimensional feature vectors (random, as an
Inception pool layer would give), then `easel test --pages_only`, which
computes the figures from the features on disk. Prints the seconds taken
and the figures.

    .venv-train/bin/python bench/fid_cost.py [N=2000] [--easel target/release/easel]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

DIM = 2048


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int, nargs="?", default=2000)
    p.add_argument("--easel", default="target/release/easel")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "results", "fid", "test_latest")
        stems = [f"{i:06d}" for i in range(args.n)]
        for kind, shift in (("real_image", 0.0), ("synthesized_image", 0.1)):
            folder = os.path.join(root, "features", "pt_inception.onnx", kind)
            os.makedirs(folder)
            # Pool features are non-negative (after ReLU and averaging).
            base = np.abs(rng.normal(shift, 1.0, (args.n, DIM))).astype(np.float32)
            for stem, vector in zip(stems, base):
                np.save(os.path.join(folder, f"{stem}.npy"), vector)
        record = {"source": [8, 8], "size": [8, 8], "classes": [0], "has_real": True}
        manifest = {"format": 1, "name": "fid", "epoch": "latest", "model": "landscapes",
                    "label_dir": "x", "image_dir": "y", "instance_dir": None, "stems": stems,
                    "done": {s: record for s in stems}, "failed": {}, "state": "complete",
                    "error": None, "inception": "pt_inception.onnx", "created": 1, "updated": 2}
        with open(os.path.join(root, "run.json"), "w") as f:
            json.dump(manifest, f)
        started = time.perf_counter()
        done = subprocess.run([args.easel, "test", "--name", "fid", "--which_epoch", "latest",
                               "--model", "models/landscapes", "--results_dir",
                               os.path.join(tmp, "results"), "--pages_only"],
                              capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        print(f"{args.n} + {args.n} vectors of {DIM}: {seconds:.1f} s (pages included)")
        print(done.stdout.strip())


if __name__ == "__main__":
    main()
