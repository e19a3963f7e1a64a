"""Runs an ONNX graph with PyTorch ops, on any device PyTorch has: a small
interpreter, written to time easel's exported graphs on a GPU where ONNX
Runtime's CUDA provider cannot run (docs/benchmarks.md, GPU, says why). It covers
the operators easel's generators use and fails, naming them, on any other.

The graph is read with the `onnx` package (the lent GPU machines have it).
`specialize` fixes the input shapes and folds everything that depends only on
them and on the weights (the shape arithmetic, the index vectors of the
nearest resizes, the casts of fp16 weights), as ONNX Runtime does when it
builds a session; what is left runs per call, on the device alone, with no
host round trip, so a call can be captured in a CUDA graph or traced by
torch.compile.

  python bench/onnx_torch.py GRAPH.onnx [--size 64] [--batch 1]
      checks the interpreter against ONNX Runtime (CPU) on random inputs
"""

from __future__ import annotations

import argparse
import functools
import json
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

# ONNX TensorProto element types → torch dtypes.
DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16,
          11: torch.float64, 16: torch.bfloat16}

# Inputs that parametrise an operator (axes, pads, sizes…) rather than carry
# data: they must fold to constants and are passed as Python values, which
# keeps them off the device and out of the per-call work.
PARAMS = {"Slice": (1, 2, 3, 4), "Pad": (1, 2), "Resize": (1, 2, 3), "Split": (1,),
          "Squeeze": (1,), "OneHot": (1,), "Range": (0, 1, 2)}


def _slice(a, x, starts, ends, axes=None, steps=None):
    index = [slice(None)] * x.dim()
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step < 1:
            raise NotImplementedError("Slice with a negative step")
        index[axis] = slice(start, end, step)  # Python clamps as ONNX does
    return x[tuple(index)]


def _pad(a, x, pads, value=None):
    if a.get("mode", b"constant") != b"constant":
        raise NotImplementedError(f"Pad mode {a['mode']!r}")
    rank = len(pads) // 2
    # F.pad takes (begin, end) pairs from the last dimension backwards.
    torch_pads = [p for d in reversed(range(rank)) for p in (pads[d], pads[rank + d])]
    return F.pad(x, torch_pads, value=0 if value is None else value)


def _resize(a, x, roi=None, scales=None, sizes=None):
    # torch's "nearest" is ONNX's asymmetric transform with floor rounding.
    if (a.get("mode", b"nearest"), a.get("coordinate_transformation_mode", b"half_pixel"),
            a.get("nearest_mode", b"round_prefer_floor")) != (b"nearest", b"asymmetric", b"floor"):
        raise NotImplementedError(f"Resize other than nearest/asymmetric/floor: {a}")
    if sizes:
        return F.interpolate(x, size=tuple(sizes[2:]), mode="nearest")
    if list(scales[:2]) != [1.0, 1.0]:
        raise NotImplementedError("Resize over batch or channels")
    return F.interpolate(x, scale_factor=tuple(scales[2:]), mode="nearest")


def _conv(a, x, w, b=None):
    if a.get("auto_pad", b"NOTSET") != b"NOTSET":
        raise NotImplementedError("Conv auto_pad")
    rank = w.dim() - 2
    pads = a.get("pads", [0] * 2 * rank)
    if pads[:rank] != pads[rank:]:  # asymmetric: pad first, then convolve unpadded
        x, pads = _pad({}, x, [0, 0] + pads[:rank] + [0, 0] + pads[rank:]), [0] * 2 * rank
    conv = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
    return conv(x, w, b, stride=a.get("strides", 1), padding=pads[:rank],
                dilation=a.get("dilations", 1), groups=a.get("group", 1))


def _gather(a, x, idx):
    axis = a.get("axis", 0) % x.dim()
    out = x.index_select(axis, idx.reshape(-1))
    return out.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def _onehot(a, idx, depth, values):
    depth = depth[0] if isinstance(depth, list) else depth
    hot = F.one_hot(idx.long(), int(depth)).movedim(-1, a.get("axis", -1)).to(values.dtype)
    return values[0] + hot * (values[1] - values[0])


def _div(a, x, y):
    if x.is_floating_point() or y.is_floating_point():
        return x / y
    return torch.div(x, y, rounding_mode="trunc")  # ONNX's integer division


def _range(a, start, limit, delta):
    dtype = torch.int64 if all(isinstance(v, int) for v in (start, limit, delta)) else torch.float32
    return torch.arange(start, limit, delta, dtype=dtype)


def _squeeze(a, x, axes=None):
    return x.squeeze() if axes is None else x.squeeze(tuple(axes))


def _split(a, x, split=None, *, outputs):
    axis = a.get("axis", 0)
    split = split or a.get("split") or [x.shape[axis] // outputs] * outputs
    return torch.split(x, split, dim=axis)


def _shape(a, x):
    return torch.tensor(x.shape[a.get("start", 0):a.get("end", x.dim())], dtype=torch.int64)


OPS = {
    "Add": lambda a, x, y: x + y,
    "Sub": lambda a, x, y: x - y,
    "Mul": lambda a, x, y: x * y,
    "Div": _div,
    "Min": lambda a, *xs: functools.reduce(torch.minimum, xs),
    "Floor": lambda a, x: torch.floor(x),
    "Relu": lambda a, x: torch.relu(x),
    "LeakyRelu": lambda a, x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "Tanh": lambda a, x: torch.tanh(x),
    "Identity": lambda a, x: x,
    "Cast": lambda a, x: x.to(DTYPES[a["to"]]),
    "Concat": lambda a, *xs: torch.cat(xs, dim=a["axis"]),
    "Transpose": lambda a, x: x.permute(a.get("perm", list(reversed(range(x.dim()))))),
    "Shape": _shape,
    "Slice": _slice,
    "Squeeze": _squeeze,
    "Range": _range,
    "Gather": _gather,
    "OneHot": _onehot,
    "Pad": _pad,
    "Resize": _resize,
    "Conv": _conv,
    "Split": _split,
}


def _tensor(proto) -> torch.Tensor:
    return torch.from_numpy(numpy_helper.to_array(proto).copy())


class OnnxGraph:
    """An ONNX model's nodes, weights and input names, ready to specialize."""

    def __init__(self, path: str):
        model = onnx.load(path)
        if any(op.domain not in ("", "ai.onnx") for op in model.opset_import):
            raise NotImplementedError(f"{path}: operator sets other than ONNX's own")
        self.nodes = list(model.graph.node)
        unknown = sorted({n.op_type for n in self.nodes} - OPS.keys())
        if unknown:
            raise NotImplementedError(f"{path}: operators not covered by onnx_torch: {', '.join(unknown)}")
        self.weights = {t.name: _tensor(t) for t in model.graph.initializer}
        self.inputs = [i.name for i in model.graph.input if i.name not in self.weights]
        self.output = model.graph.output[0].name

    def specialize(self, inputs: tuple, device) -> "Plan":
        """A Plan for inputs of these shapes on `device`, found by running the
        graph once on `inputs` (already on `device`)."""
        env = {name: t for name, t in self.weights.items()}  # on the CPU
        folded = set(env)
        env.update(zip(self.inputs, inputs))
        on_device: dict[str, torch.Tensor] = {}
        steps = []
        last_use = {name: i for i, node in enumerate(self.nodes) for name in node.input}
        with torch.inference_mode():
            for i, node in enumerate(self.nodes):
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                params = PARAMS.get(node.op_type, ())
                static = node.op_type == "Shape" or all(not i or i in folded for i in node.input)
                args = []
                for k, name in enumerate(node.input):
                    if not name:
                        args.append(None)
                    elif k in params:
                        if name not in folded:
                            raise NotImplementedError(f"{node.op_type} {node.name}: input {name} "
                                                      "depends on the data, not only on shapes")
                        args.append(env[name].tolist())
                    elif static:
                        args.append(env[name])
                    elif name in folded:  # a constant the per-call work reads
                        if name not in on_device:
                            on_device[name] = env[name].to(device)
                        args.append(on_device[name])
                    else:
                        args.append(env[name])
                fn = OPS[node.op_type]
                if node.op_type == "Split":
                    fn = functools.partial(_split, outputs=len(node.output))
                outs = fn(attrs, *args)
                outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
                env.update(zip(node.output, outs))
                for name in node.input:  # this one run must fit in memory too
                    if name and last_use[name] == i and name not in folded and name != self.output:
                        env.pop(name, None)
                if static:
                    folded.update(node.output)
                    continue
                # Per call: constants are bound now, values looked up by name.
                bound = [("value", n) if n and n not in folded else ("const", a)
                         for n, a in zip(node.input, args)]
                steps.append((fn, attrs, bound, list(node.output)))
        return Plan(steps, self.inputs, self.output)


class Plan(torch.nn.Module):
    """The per-call work of an OnnxGraph for fixed input shapes: a list of
    (operator, attributes, inputs, outputs), each value dropped after its last
    use so that memory stays at what the live tensors need."""

    def __init__(self, steps, inputs, output):
        super().__init__()
        self.steps, self.inputs, self.output = steps, inputs, output
        last_use = {}
        for i, (_, _, bound, _) in enumerate(steps):
            for kind, name in bound:
                if kind == "value":
                    last_use[name] = i
        last_use.pop(output, None)
        self.drop = [[n for n, last in last_use.items() if last == i] for i in range(len(steps))]

    def forward(self, *inputs):
        env = dict(zip(self.inputs, inputs))
        for (fn, attrs, bound, outputs), drop in zip(self.steps, self.drop):
            args = [env[v] if kind == "value" else v for kind, v in bound]
            outs = fn(attrs, *args)
            if isinstance(outs, (tuple, list)):
                env.update(zip(outputs, outs))
            else:
                env[outputs[0]] = outs
            for name in drop:
                del env[name]
        return env[self.output]

    def same_as(self, other: "Plan") -> bool:
        """Whether `other` does the very same per-call work (same constants):
        then one Plan serves both input shapes, e.g. every batch size."""
        if len(self.steps) != len(other.steps):
            return False
        for (f1, a1, b1, o1), (f2, a2, b2, o2) in zip(self.steps, other.steps):
            if o1 != o2 or a1 != a2 or len(b1) != len(b2):
                return False
            for (k1, v1), (k2, v2) in zip(b1, b2):
                if k1 != k2:
                    return False
                if isinstance(v1, torch.Tensor) or isinstance(v2, torch.Tensor):
                    if not (isinstance(v1, torch.Tensor) and isinstance(v2, torch.Tensor)
                            and v1.shape == v2.shape and torch.equal(v1, v2)):
                        return False
                elif v1 != v2:
                    return False
        return True


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    import onnxruntime as ort

    with open(os.path.join(os.path.dirname(args.graph), "model.json"), encoding="utf-8") as f:
        card = json.load(f)
    graph = OnnxGraph(args.graph)
    from gpu_bench import package_inputs  # the inputs easel feeds, built once

    inputs = package_inputs(card, args.batch, args.size)
    plan = graph.specialize(tuple(t.to(args.device) for t in inputs), args.device)
    with torch.inference_mode():
        got = plan(*(t.to(args.device) for t in inputs)).float().cpu().numpy()
    session = ort.InferenceSession(args.graph, providers=["CPUExecutionProvider"])
    want = session.run(None, dict(zip(graph.inputs, (t.numpy() for t in inputs))))[0]
    diff = np.abs(got - want)
    print(json.dumps({"check": "onnx_torch-vs-onnxruntime", "graph": args.graph, "size": args.size,
                      "batch": args.batch, "device": args.device, "steps": len(plan.steps),
                      "nodes": len(graph.nodes), "max_abs_diff": float(diff.max()),
                      "mean_abs_diff": float(diff.mean()), "onnxruntime": ort.__version__}))
    if not diff.max() < 1e-3:
        raise SystemExit("onnx_torch disagrees with ONNX Runtime")


if __name__ == "__main__":
    main()
