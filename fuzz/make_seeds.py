#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/ (stdlib only, no torch).

Label maps and opt.txt files are copied from ../shared/fixtures; the checkpoint
seeds are small checkpoints built here in both container formats (the fixtures'
.pth files are megabytes), plus the real fixtures' pickles without their storages.
Run from the repository root: python3 fuzz/make_seeds.py
"""

import io
import os
import pickle
import shutil
import struct
import sys
import types
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("EASEL_SHARED_DIR", ROOT.parent / "shared")) / "fixtures"
SEEDS = ROOT / "fuzz" / "seeds"


def copy(target, source, name):
    out = SEEDS / target / name
    shutil.copyfile(FIXTURES / source, out)
    out.chmod(0o644)


# ---- label maps ------------------------------------------------------------


def png(width, height, depth, color_type, rows, palette=None, interlace=0, frame=None):
    """A PNG of already packed rows (no filter byte), one IDAT; with `frame` (width,
    height), an animated PNG whose first frame, the IDAT, is that size."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace)
    raw = b"".join(b"\x00" + row for row in rows)
    body = chunk(b"IHDR", header)
    if palette:
        body += chunk(b"PLTE", bytes(c for rgb in palette for c in rgb))
    if frame:
        body += chunk(b"acTL", struct.pack(">II", 1, 0))
        body += chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, *frame, 0, 0, 1, 10, 0, 0))
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def adam7(rows, bytes_per_pixel):
    """Interlaced rows of 8-bit samples: the seven passes, each a small image."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out = []
    for x0, y0, dx, dy in passes:
        for row in rows[y0::dy]:
            pixels = [row[i : i + bytes_per_pixel] for i in range(0, len(row), bytes_per_pixel)]
            if pixels[x0::dx]:
                out.append(b"".join(pixels[x0::dx]))
    return out


def label_seeds():
    target = "label_map"
    (SEEDS / target).mkdir(parents=True, exist_ok=True)
    copy(target, "coco_stuff/val_label/000000001490.png", "coco_val_label_1490.png")
    copy(target, "coco_stuff/val_inst/000000001490.png", "coco_val_inst_1490.png")
    copy(target, "spade/coco182_tiny/inputs/label_000000000785.png", "coco182_label_785.png")
    copy(target, "spade/city35_tiny/inputs/label_0.png", "city35_label_0.png")
    copy(target, "spade/city35_tiny/inputs/inst_0.png", "city35_inst_0_16bit.png")

    w, h = 8, 6
    index = [[(x + y) % 3 for x in range(w)] for y in range(h)]
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    synthetic = {
        "gray8.png": png(w, h, 8, 0, [bytes(r) for r in index]),
        "gray16.png": png(w, h, 16, 0, [b"".join(struct.pack(">H", v) for v in r) for r in index]),
        "gray_alpha.png": png(w, h, 8, 4, [bytes(c for v in r for c in (v, 255)) for r in index]),
        "gray1.png": png(w, h, 1, 0, [bytes([0b10110010]) for _ in range(h)]),
        "palette2.png": png(
            w, h, 2, 3, [bytes([0b00011000, 0b10010001]) for _ in range(h)], palette=colors
        ),
        "rgb_palette_colors.png": png(
            w, h, 8, 2, [bytes(c for v in r for c in colors[v]) for r in index]
        ),
        "rgba_off_palette.png": png(
            w, h, 8, 6, [bytes(c for v in r for c in (*colors[v][:2], 7, 255)) for r in index]
        ),
        "rgb16.png": png(
            w,
            h,
            16,
            2,
            [b"".join(struct.pack(">HHH", *(c * 257 for c in colors[v])) for v in r) for r in index],
        ),
        "gray8_interlaced.png": png(w, h, 8, 0, adam7([bytes(r) for r in index], 1), interlace=1),
        "apng_one_frame.png": png(w, h, 8, 0, [bytes(r) for r in index], frame=(w, h)),
        "red_channel.png": png(w, h, 8, 2, [bytes(c for v in r for c in (v, 9, 9)) for r in index]),
    }
    for name, data in synthetic.items():
        (SEEDS / target / name).write_bytes(data)


# ---- checkpoints -----------------------------------------------------------


def fake_torch():
    """Modules named like torch's, so that pickle writes torch's global names."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    for module in (torch, utils):
        sys.modules[module.__name__] = module

    def function(module, name):
        def f(*args):
            raise NotImplementedError

        f.__module__, f.__name__, f.__qualname__ = module.__name__, name, name
        setattr(module, name, f)
        return f

    for name in ("FloatStorage", "HalfStorage", "LongStorage", "UntypedStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    return torch, function(utils, "_rebuild_tensor_v2"), function(utils, "_rebuild_parameter")


TORCH, REBUILD_TENSOR, REBUILD_PARAMETER = fake_torch()


class Storage:
    def __init__(self, kind, key, values, fmt, view=None):
        self.kind, self.key, self.values, self.fmt, self.view = kind, key, values, fmt, view

    def data(self, order="<"):
        return struct.pack(order + self.fmt * len(self.values), *self.values)


class Tensor:
    def __init__(self, storage, offset, shape, stride):
        self.args = (storage, offset, shape, stride, False, OrderedDict())

    def __reduce__(self):
        return REBUILD_TENSOR, self.args


class Parameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        return REBUILD_PARAMETER, (self.tensor, True, OrderedDict())


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            numel = len(obj.values)
            if obj.view:
                return ("storage", obj.kind, obj.key, "cpu", numel, obj.view)
            return ("storage", obj.kind, obj.key, "cpu", numel)
        return None


class Anything:
    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class Skimmer(pickle.Unpickler):
    """Reads past one torch pickle without torch."""

    def find_class(self, module, name):
        return OrderedDict if name == "OrderedDict" else Anything

    def persistent_load(self, pid):
        return None


def dumps(obj):
    out = io.BytesIO()
    TorchPickler(out, protocol=2).dump(obj)
    return out.getvalue()


def sample_state_dict(prefix=""):
    weights = Storage(TORCH.FloatStorage, "0", [0.5, -1.0, 2.0, 0.25, 3.0, -0.5, 1.5], "f")
    half = Storage(TORCH.HalfStorage, "1", [1.0, -2.0, 0.5, 4.0], "e")
    steps = Storage(TORCH.LongStorage, "2", [7], "q")
    return weights, half, steps, OrderedDict(
        [
            (prefix + "conv.weight", Parameter(Tensor(weights, 1, (2, 3), (3, 1)))),
            (prefix + "conv.weight_t", Tensor(weights, 0, (3, 2), (1, 3))),
            (prefix + "norm.bias", Tensor(half, 0, (4,), (1,))),
            (prefix + "norm.num_batches_tracked", Tensor(steps, 0, (), ())),
        ]
    )


def zip_of(entries):
    """A stored (uncompressed) zip, as torch.save writes, with fixed timestamps so that
    the seeds come out the same on every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def zip_checkpoint(name, obj, storages, order="<"):
    entries = [
        (f"{name}/data.pkl", dumps(obj)),
        (f"{name}/byteorder", "little" if order == "<" else "big"),
    ]
    entries += [(f"{name}/data/{storage.key}", storage.data(order)) for storage in storages]
    return zip_of(entries + [(f"{name}/version", "3\n")])


def legacy_checkpoint(obj, storages):
    magic = 0x1950A86A20F9469CFC6C
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    parts = [pickle.dumps(magic, 2), pickle.dumps(1001, 2), pickle.dumps(info, 2), dumps(obj)]
    parts.append(pickle.dumps([s.key for s in storages], 2))
    for storage in storages:
        parts.append(struct.pack("<q", len(storage.values)) + storage.data())
    return b"".join(parts)


def checkpoint_seeds():
    target = "checkpoint"
    (SEEDS / target).mkdir(parents=True, exist_ok=True)
    weights, half, steps, state_dict = sample_state_dict()
    seeds = {
        "zip_small.pth": zip_checkpoint("archive", state_dict, [weights, half, steps]),
        "legacy_small.pth": legacy_checkpoint(state_dict, [weights, half, steps]),
    }
    weights, half, steps, wrapped = sample_state_dict("module.")
    seeds["zip_wrapped_big_endian.pth"] = zip_checkpoint(
        "net", {"state_dict": wrapped, "epoch": 3}, [weights, half, steps], order=">"
    )
    # What torch writes for a tensor on an untyped (byte) storage.
    untyped = Storage(TORCH.UntypedStorage, "0", [1, 2, 3], "B")
    seeds["zip_untyped.pth"] = zip_checkpoint(
        "archive", OrderedDict([("w", Tensor(untyped, 0, (3,), (1,)))]), [untyped]
    )
    root = Storage(TORCH.FloatStorage, "9", [1.0, 2.0, 3.0, 4.0], "f", view=("9v", 1, 2))
    seeds["legacy_view.pth"] = legacy_checkpoint(
        OrderedDict([("v", Tensor(root, 0, (2,), (1,)))]), [root]
    )
    # The real fixtures' pickles, without the storages (megabytes) they refer to.
    real = zipfile.ZipFile(FIXTURES / "spade/vae_tiny/checkpoint/latest_net_E.pth")
    seeds["real_encoder_pickle_only.pth"] = zip_of(
        (f"latest_net_E/{entry}", real.read(f"latest_net_E/{entry}"))
        for entry in ("data.pkl", "byteorder", ".format_version")
    )
    legacy = (FIXTURES / "spade/city35_tiny/checkpoint/latest_net_G.pth").read_bytes()
    stream = io.BytesIO(legacy)
    for _ in range(5):  # magic, version, system info, object, storage keys
        Skimmer(stream).load()
    seeds["real_legacy_pickles_only.pth"] = legacy[: stream.tell()]
    for name, data in seeds.items():
        (SEEDS / target / name).write_bytes(data)


# ---- opt.txt ---------------------------------------------------------------


def opt_seeds():
    target = "opt_txt"
    (SEEDS / target).mkdir(parents=True, exist_ok=True)
    for model in ("city35_tiny", "coco182_tiny", "vae_tiny"):
        copy(target, f"spade/{model}/checkpoint/opt.txt", f"{model}_opt.txt")


if __name__ == "__main__":
    label_seeds()
    checkpoint_seeds()
    opt_seeds()
