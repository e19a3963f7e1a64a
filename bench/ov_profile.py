"""Where OpenVINO spends a graph's time on this CPU: the graph compiled as
easel compiles it (static input shapes, the given precision, N threads), run
with OpenVINO's per-node counters, summed by the kind of layer and by the
kernel that ran it (jit_avx2, jit_avx512, brgconv, ref...), and the slowest
nodes with their shapes.

    python bench/ov_profile.py models/landscapes/generator.onnx [--size 256]
        [--precision f32|bf16] [--threads 2] [--iters 20] [--top 25]

Needs OpenVINO's Python API and numpy in one environment, e.g.
`python3 -m venv target/ovpy && target/ovpy/bin/pip install openvino==2026.4.1 numpy`
(easel itself loads only OpenVINO's C library from .venv-openvino).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time

import numpy as np
import openvino as ov


def inputs_for(model: ov.Model, size: int, card: dict) -> dict[str, np.ndarray]:
    """easel's inputs at `size`²: class indices in 8×8 blocks, the per-pixel
    z broadcast from one N(0, 1) draw (as `easel bench` feeds them)."""
    rng = np.random.default_rng(0)
    feeds = {}
    for port in model.inputs:
        name = port.get_any_name()
        rank = port.get_partial_shape().rank.get_length()
        if rank == 3:  # class indices (N, H, W)
            cells = rng.integers(0, len(card["classes"]), (1, size // 8, size // 8))
            feeds[name] = np.kron(cells, np.ones((1, 8, 8), dtype=np.int64)).astype(np.int64)
        else:  # per-pixel noise (N, z, H, W)
            z = rng.standard_normal((1, card["z_dim"], 1, 1)).astype(np.float32)
            feeds[name] = np.broadcast_to(z, (1, card["z_dim"], size, size)).copy()
    return feeds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("graph")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--precision", default="f32", choices=["f32", "bf16"])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()

    with open(os.path.join(os.path.dirname(args.graph), "model.json"), encoding="utf-8") as f:
        card = json.load(f)
    core = ov.Core()
    model = core.read_model(args.graph)
    feeds = inputs_for(model, args.size, card)
    model.reshape({name: list(a.shape) for name, a in feeds.items()})
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": args.precision, "INFERENCE_NUM_THREADS": str(args.threads),
        "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": "YES"})
    request = compiled.create_infer_request()
    request.infer(feeds)
    by_type = collections.Counter()
    by_kernel = collections.Counter()
    by_node = collections.Counter()
    walls = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        request.infer(feeds)
        walls.append((time.perf_counter() - t0) * 1e3)
        for info in request.profiling_info:
            us = info.real_time.total_seconds() * 1e6
            by_type[info.node_type] += us
            by_kernel[f"{info.node_type} / {info.exec_type}"] += us
            by_node[(info.node_name, info.node_type, info.exec_type)] += us
    n = args.iters
    total = sum(by_type.values()) / n
    print(f"# {args.graph} at {args.size}², {args.precision}, {args.threads} threads: wall p50 "
          f"{sorted(walls)[n // 2]:.1f} ms; per-node sum {total / 1e3:.1f} ms")
    print("\n| layer | ms | share |\n|---|---:|---:|")
    for kind, us in by_type.most_common():
        if us / n >= 50:
            print(f"| {kind} | {us / n / 1e3:.2f} | {us / n / total:.0%} |")
    print("\n| layer / kernel | ms | share |\n|---|---:|---:|")
    for kind, us in by_kernel.most_common(args.top):
        print(f"| {kind} | {us / n / 1e3:.2f} | {us / n / total:.0%} |")
    shapes = {op.get_friendly_name(): [str(o.get_partial_shape()) for o in op.outputs()]
              for op in compiled.get_runtime_model().get_ops()}
    print("\n| node | layer / kernel | out shape | ms |\n|---|---|---|---:|")
    for (name, kind, kernel), us in by_node.most_common(args.top):
        print(f"| {name[:60]} | {kind} / {kernel} | {' '.join(shapes.get(name, ['?']))} | {us / n / 1e3:.2f} |")


if __name__ == "__main__":
    main()
