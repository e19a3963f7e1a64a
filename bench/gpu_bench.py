"""GPU timings of the generators (issue 16): the reference architectures in
PyTorch, and easel's exported graphs run with PyTorch ops (bench/onnx_torch.py),
each as eager fp32, eager bf16 autocast, a CUDA graph of either, and
torch.compile. bench/gpu.sh drives it; see docs/benchmarks.md, section GPU.

  save-coco DIR   random full-size COCO-Stuff SPADE weights as a reference
                  checkpoint (what `easel import` reads), as bench/pytorch_eager.py
  run             time everything; one JSON line per (route, model, variant, batch)
  table FILE      the JSON lines of FILE as markdown tables, one per model

Every timed call takes the inputs easel's graphs take (class indices, instance
edges, the style z), so the reference builds its one-hot map inside the
timed call, as a server would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time

import torch

import pytorch_eager  # puts training/ on sys.path
from easel_training import checkpoints, compact, networks  # noqa: E402

# Variants, cheapest first. "fp32" is PyTorch's default maths: cuDNN may use
# TF32 unless --tf32 off. Compiling costs tens of seconds per model and batch
# shape, so those come last and only while the time budget lasts.
CHEAP = ("eager-fp32", "eager-bf16", "graph-fp32", "graph-bf16")
COMPILED = ("compile-bf16", "compile-bf16-cg", "compile-fp32")  # cg: mode="reduce-overhead" (CUDA graphs)
COMPILE_GUESS_S = 60.0  # budget to keep for a compile before one has been seen


class SpadeFromIndices(torch.nn.Module):
    """The reference SPADE generator behind easel's inputs: (N,H,W) class
    indices and (N,H,W) instance edges → image."""

    def __init__(self, gen, opt):
        super().__init__()
        self.gen, self.opt = gen, opt

    def forward(self, label, edges):
        seg = networks.one_hot(label, self.opt)
        return self.gen(torch.cat([seg, edges.unsqueeze(1).to(seg.dtype)], dim=1))


class OasisFromIndices(torch.nn.Module):
    """The reference OASIS generator behind easel's inputs: class indices and
    one z per image (N, z_dim), which the generator broadcasts as its noise."""

    def __init__(self, gen, opt):
        super().__init__()
        self.gen, self.opt = gen, opt

    def forward(self, label, z):
        return self.gen(networks.one_hot(label, self.opt), z)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def autocast(precision, device):
    # No weight-cast cache: a CUDA graph must not point at cached casts that
    # leaving the context frees; the same rule everywhere keeps rows comparable.
    if precision == "bf16":
        return torch.autocast(device.type, torch.bfloat16, cache_enabled=False)
    return contextlib.nullcontext()


class Bench:
    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        self.compiled = {}  # (id(module), mode) → compiled module, reused over batch sizes
        self.longest_compile = 0.0
        self.out = open(args.out, "a", encoding="utf-8") if args.out else None
        if self.device.type == "cuda":
            self.device_name = torch.cuda.get_device_name(self.device)
        else:
            self.device_name = f"cpu ({torch.get_num_threads()} threads)"

    def emit(self, row):
        row.update(device=self.device_name, torch=torch.__version__)
        line = json.dumps(row)
        print(line, flush=True)
        if self.out:
            self.out.write(line + "\n")
            self.out.flush()

    def call_for(self, variant, module, inputs):
        """(call, setup seconds): one batch run the way `variant` says."""
        kind, precision = variant.split("-")[:2]
        t0 = time.perf_counter()
        if kind == "eager":
            def call():
                with autocast(precision, self.device):
                    return module(*inputs)
        elif kind == "graph":
            if self.device.type != "cuda":
                raise Skip("CUDA graphs need a CUDA device")
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):  # warm up (cuDNN search) outside the capture
                for _ in range(3):
                    with autocast(precision, self.device):
                        module(*inputs)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), autocast(precision, self.device):
                module(*inputs)
            call = graph.replay
        else:
            mode = "reduce-overhead" if variant.endswith("-cg") else "default"
            key = (id(module), mode)
            if key not in self.compiled:
                self.compiled[key] = torch.compile(module, mode=mode)
            compiled = self.compiled[key]

            def call():
                with autocast(precision, self.device):
                    return compiled(*inputs)
            call()  # compiles (again for a new batch shape: then with a dynamic batch)
            sync(self.device)
            self.longest_compile = max(self.longest_compile, time.perf_counter() - t0)
        sync(self.device)
        return call, time.perf_counter() - t0

    def time(self, route, model, size, variant, batch, module, inputs, extra=None):
        row = {"route": route, "model": model, "variant": variant, "batch": batch,
               "size": f"{size}x{size}"}
        try:
            if variant in COMPILED:
                need = max(COMPILE_GUESS_S, 1.5 * self.longest_compile)
                if time.time() + need > self.args.deadline:
                    raise Skip(f"time budget: under {need:.0f} s left for a compile")
            call, setup = self.call_for(variant, module, inputs)
            for _ in range(self.args.warmup):
                call()
            times = []
            for _ in range(self.args.iters):
                sync(self.device)
                t0 = time.perf_counter()
                call()
                sync(self.device)
                times.append((time.perf_counter() - t0) * 1e3)
            median = statistics.median(times)
            row.update(ms_per_batch_median=round(median, 3), ms_per_image=round(median / batch, 3),
                       images_per_s=round(1e3 * batch / median, 1), iters=self.args.iters,
                       setup_s=round(setup, 1), **(extra or {}))
        except Skip as e:
            row["skipped"] = str(e)
        except torch.OutOfMemoryError:
            row["skipped"] = "out of GPU memory"
        except Exception as e:  # one variant failing (a capture, a compile) must not lose the rest
            row["skipped"] = f"failed: {type(e).__name__}: {str(e)[:300]}"
        finally:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()  # graph pools of the variant just timed
        self.emit(row)


class Skip(Exception):
    pass


def reference_coco(ckpt_dir):
    opt, gen, _ = checkpoints.load_checkpoint(ckpt_dir)
    return SpadeFromIndices(gen, opt)


def reference_landscapes(packed_dir):
    """The default model's trainer networks from the committed resume point
    (bf16 weights, unpacked to fp32 in a temporary run folder)."""
    with tempfile.TemporaryDirectory() as run:
        compact.unpack(packed_dir, run)
        opt, gen, _ = checkpoints.load_checkpoint(run)
    return OasisFromIndices(gen, opt)


def package_inputs(card: dict, batch: int, size: int, seed: int = 0):
    """Inputs as easel feeds a package's graph (`card`: its model.json), in
    the graph's order: class indices (N,H,W) in 8×8 blocks, then instance
    edges 0/1 or the noise (one N(0, 1) z per image, broadcast)."""
    g = torch.Generator().manual_seed(seed)
    up = lambda t: t.repeat_interleave(8, -2).repeat_interleave(8, -1)  # noqa: E731
    cells = (batch, size // 8, size // 8)
    out = [up(torch.randint(0, len(card["classes"]), cells, generator=g))]
    if card.get("uses_instances"):
        out.append(up(torch.randint(0, 2, cells, generator=g)))
    if card.get("z_per_pixel"):
        z = torch.randn(batch, card["z_dim"], 1, 1, generator=g)
        out.append(z.expand(-1, -1, size, size).contiguous())
    return tuple(out)


def run(args):
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True  # as a tuned PyTorch server would; easel searches too
    torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
    # Every Plan shares Plan.forward's code: 2 models × 2 modes × (batch 1,
    # dynamic batch) compiles reach dynamo's default limit of 8 per function.
    torch._dynamo.config.recompile_limit = 64
    bench = Bench(args)
    models = []  # (name, reference module, exported graph, package card, size)
    # The default model first: its compiles are the cheaper ones, should the budget run short.
    for name, ref, pkg, size in (("landscapes-oasis", reference_landscapes(args.landscapes_resume),
                                  args.landscapes_package, args.landscapes_size),
                                 ("coco-spade", reference_coco(args.coco_checkpoint), args.coco_package,
                                  args.coco_size)):
        with open(os.path.join(pkg, "model.json"), encoding="utf-8") as f:
            card = json.load(f)
        graph = None
        if "onnx-graph" in args.routes:
            import onnx_torch  # needs the onnx package; the pytorch route does not

            graph = onnx_torch.OnnxGraph(os.path.join(pkg, "generator.onnx"))
        models.append((name, ref.to(device).eval(), graph, card, size))

    # Per (model, batch): the two modules and their inputs, built once.
    work = []
    with torch.inference_mode():
        for name, ref, graph, card, size in models:
            plan = None
            for batch in args.batch:
                inputs = tuple(t.to(device) for t in package_inputs(card, batch, size))
                if graph is not None:
                    new = graph.specialize(inputs, device)
                    plan = plan if plan is not None and plan.same_as(new) else new
                ref_inputs = inputs if name == "coco-spade" else (inputs[0], inputs[1][:, :, 0, 0].contiguous())
                extra = {}
                if plan is not None and name == "coco-spade" and batch == args.batch[0]:
                    # Same weights both sides: the exported graph, run by the
                    # interpreter, must compute the reference's function (in
                    # true fp32, so TF32 is off for this one comparison).
                    torch.backends.cudnn.allow_tf32 = False
                    diff = (plan(*inputs) - ref(*ref_inputs)).abs().max().item()
                    torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
                    extra = {"max_abs_diff_vs_pytorch": diff}
                work.append((name, size, batch, ref, ref_inputs, plan, inputs, extra))

        for variants in (CHEAP, COMPILED):
            for variant in variants:
                if variant not in args.variants:
                    continue
                for name, size, batch, ref, ref_inputs, plan, inputs, extra in work:
                    if "pytorch" in args.routes:
                        bench.time("pytorch", name, size, variant, batch, ref, ref_inputs)
                    if plan is not None:
                        bench.time("onnx-graph", name, size, variant, batch, plan, inputs,
                                   extra if variant == "eager-fp32" else None)


def save_coco(args):
    opt = pytorch_eager.coco_opt()
    opt.ngf, opt.crop_size, opt.load_size = args.ngf, args.size, args.size
    torch.manual_seed(0)
    gen = pytorch_eager.random_generator(opt, args.calibrate)
    os.makedirs(args.dir, exist_ok=True)
    torch.save(gen.state_dict(), os.path.join(args.dir, "latest_net_G.pth"))
    checkpoints.save_opt(opt, os.path.join(args.dir, "opt.txt"))


def table(args):
    """Markdown: per model, one row per route and variant, ms per image at
    each batch size (skips show as –)."""
    lines = [json.loads(line) for line in open(args.file, encoding="utf-8") if line.startswith("{")]
    rows = [r for r in lines if "route" in r or "impl" in r]
    for r in rows:  # `easel bench` lines
        if "impl" in r:
            r["route"] = "easel"
            r["variant"] = f"CPU, {r['threads']} threads ({r['impl']})"
            r["model"] = "coco-spade" if r.get("family") == "spade" else "landscapes-oasis"
    batches = sorted({r["batch"] for r in rows})
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        sizes = ", ".join(sorted({r["size"] for r in mine}))
        devices = ", ".join(sorted({r["device"] for r in mine if "device" in r}))
        print(f"\n### {model} ({sizes}; {devices})\n")
        print("| route | variant | " + " | ".join(f"batch {b} ms/img" for b in batches) + " |")
        print("|---|---|" + "---:|" * len(batches))
        for route, variant in dict.fromkeys((r["route"], r["variant"]) for r in mine):
            cells = []
            for b in batches:
                hit = [r for r in mine if (r["route"], r["variant"], r["batch"]) == (route, variant, b)]
                times = sorted(r["ms_per_image"] for r in hit if "ms_per_image" in r)
                # Rounds of one run: their median, and the range when there are several.
                cell = f"{statistics.median(times):.2f}" if times else "–"
                if len(times) > 1:
                    cell += f" ({times[0]:.2f}–{times[-1]:.2f})"
                cells.append(cell)
            print(f"| {route} | {variant} | " + " | ".join(cells) + " |")
    print()
    for r in lines:
        if r.get("check"):
            print(f"- {r['graph']} on {r['device']}: max |onnx_torch − ONNX Runtime {r['onnxruntime']}| = "
                  f"{r['max_abs_diff']:.1e} ({r['steps']} of {r['nodes']} nodes left per call)")
        if "max_abs_diff_vs_pytorch" in r:
            print(f"- {r['model']} on {r['device']}: max |exported graph − PyTorch reference| = "
                  f"{r['max_abs_diff_vs_pytorch']:.1e} (same weights, fp32, batch {r['batch']})")
    skipped = [r for r in rows if "skipped" in r]
    if skipped:
        reasons = ", ".join(sorted({r["skipped"] for r in skipped}))
        print(f"\n{len(skipped)} measurements skipped ({reasons}).")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save-coco")
    s.add_argument("dir")
    s.add_argument("--ngf", type=int, default=64)
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--calibrate", type=int, default=2)
    r = sub.add_parser("run")
    r.add_argument("--device", default="cuda")
    r.add_argument("--coco-checkpoint", required=True)
    r.add_argument("--coco-package", required=True)
    r.add_argument("--coco-size", type=int, default=256)
    r.add_argument("--landscapes-resume", default="training/resume/landscapes_v2")
    r.add_argument("--landscapes-package", default="models/landscapes")
    r.add_argument("--landscapes-size", type=int, default=256)
    r.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    r.add_argument("--variants", nargs="+", default=list(CHEAP + COMPILED))
    r.add_argument("--routes", nargs="+", default=["pytorch", "onnx-graph"],
                   help="pytorch (the reference modules), onnx-graph (easel's graph through onnx_torch)")
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--tf32", choices=("on", "off"), default="on", help="PyTorch's default is on for convolutions")
    r.add_argument("--deadline", type=float, default=float("inf"), help="Unix time: no compile starts "
                   "that could not finish before it")
    r.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    r.add_argument("--out", help="append the JSON lines to this file too")
    t = sub.add_parser("table")
    t.add_argument("file")
    args = p.parse_args()
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
    {"save-coco": save_coco, "run": run, "table": table}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
