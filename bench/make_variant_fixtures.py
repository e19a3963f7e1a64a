"""Regenerates server/tests/fixtures/variants/: small SPADE checkpoints in the
reference layout for the variants the shared fixtures do not cover, with
inputs and eval-mode outputs computed by the trainer's networks
(models/training/easel_training/networks.py).

Each model gets xavier weights (gain 1, biases N(0, 0.1) so bias paths are
tested), then TRAIN_PASSES training-mode forwards on random inputs so that
batch-norm statistics and spectral-norm u, v move, then eval. Deterministic:
rerunning rewrites identical inputs and outputs.
"""

import argparse
import json
import os
import shutil
import sys
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

# The architecture lives in the trainer's package, models/training/easel_training.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models",
                                "training"))
from easel_training import checkpoints, networks, options  # noqa: E402

TRAIN_PASSES = 10
DONTCARE = 255
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server", "tests",
                           "fixtures", "variants")

# Sizes are bounded by the parameters, not the images: the three 16·ngf blocks
# with k×k γ/β convs dominate, hence ngf 1–2 and nhidden 8.
VARIANTS = [
    dict(name="spectral_batch_k5", seed=11, images=2, inst_bits=8,
         opt=dict(norm_G="spectralspadebatch5x5", num_upsampling_layers="normal",
                  no_instance=False, contain_dontcare_label=False, label_nc=6,
                  crop_size=64, aspect_ratio=1.0, ngf=2),
         nhidden=8,
         about="spectralspadebatch5x5, normal, instance edges (8-bit inst PNG), label_nc 6, "
               "64×64, ngf 2, nhidden 8"),
    dict(name="syncbatch_nospectral_more", seed=12, images=2, dontcare=0.1,
         opt=dict(norm_G="spadesyncbatch3x3", num_upsampling_layers="more", no_instance=True,
                  contain_dontcare_label=True, label_nc=5, crop_size=128, aspect_ratio=1.0,
                  ngf=2),
         nhidden=8,
         about="spadesyncbatch3x3 (no spectral norm), more, no instance, dontcare (label 255 → "
               "class 5; a quarter of the pixels or so), label_nc 5, 128×128, ngf 2, nhidden 8"),
    dict(name="instance_k5_most_legacy", seed=13, images=1, inst_bits=16, legacy=True,
         opt=dict(norm_G="spectralspadeinstance5x5", num_upsampling_layers="most",
                  no_instance=False, contain_dontcare_label=False, label_nc=4,
                  crop_size=128, aspect_ratio=0.5, ngf=2),
         nhidden=8,
         about="spectralspadeinstance5x5, most, instance edges (16-bit inst PNG, "
               "class·1000+n ids), label_nc 4, crop 128 aspect 0.5 → 256 high × 128 wide "
               "(aspect 2.0 at crop 128 would give sh = round(0.5) = 0), ngf 2, nhidden 8, "
               "legacy (pre-zip) pickle checkpoint"),
    dict(name="vae_batch_encoder", seed=14, images=1, style_size=(100, 80),
         opt=dict(norm_G="spadebatch3x3", norm_E="spectralbatch", use_vae=True,
                  num_upsampling_layers="normal", no_instance=True,
                  contain_dontcare_label=False, label_nc=3, crop_size=256, aspect_ratio=4.0,
                  ngf=1, z_dim=256),
         nhidden=8,
         about="use_vae, spadebatch3x3 generator from z (z_dim 256: the encoder's mu is always "
               "256 wide), encoder spectralbatch (spectral conv, no bias, affine batch norm, "
               "6 layers), normal, no instance, label_nc 3, crop 256 aspect 4.0 → 64 high × 256 "
               "wide, ngf 1, nhidden 8; style.png is 100×80 so the encoder's bilinear resize "
               "runs; expected_output_style_mu.npy is label_0 with z = mu"),
]


def voronoi(rng, h, w, cells):
    """Index of the nearest of `cells` random seeds for every pixel: blobby
    regions with straight-ish borders, like real segmentation maps."""
    ys, xs = rng.uniform(0, h, cells), rng.uniform(0, w, cells)
    gy, gx = np.mgrid[0:h, 0:w]
    d = (gy[..., None] - ys) ** 2 + (gx[..., None] - xs) ** 2
    return d.argmin(-1)


def random_maps(rng, opt, variant):
    """Raw label map (uint8, 255 = dontcare) and instance map (Cityscapes-style
    ids: class·1000 + n for things, the class for stuff)."""
    h, w = networks.output_size(opt)
    cells = 12
    region = voronoi(rng, h, w, cells)
    cell_class = rng.integers(0, opt.label_nc, cells)
    if variant.get("dontcare"):
        cell_class[rng.random(cells) < variant["dontcare"]] = DONTCARE
        cell_class[0] = DONTCARE  # at least one dontcare region, whatever the draw
    thing = rng.random(cells) < 0.5
    cell_inst = np.where(thing, cell_class * 1000 + np.arange(cells), cell_class)
    label = cell_class[region].astype(np.uint8)
    inst = cell_inst[region]
    if variant.get("inst_bits") == 8:
        # 8-bit instance PNGs (COCO-style) hold ids, not class·1000 + n.
        inst = (np.arange(cells) * 7 % 256)[region]
    return label, inst


def batch_inputs(rng, opt, variant, n):
    maps = [random_maps(rng, opt, variant) for _ in range(n)]
    label = torch.from_numpy(np.stack([m[0] for m in maps]).astype(np.int64))
    inst = torch.from_numpy(np.stack([m[1] for m in maps]).astype(np.int64))
    return label, inst, maps


def style_image(rng, size):
    w, h = size
    coarse = rng.integers(0, 256, (h // 10 + 1, w // 10 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(coarse, "RGB").resize((w, h), Image.BILINEAR)
    noise = rng.integers(-20, 21, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(img, np.int64) + noise, 0, 255).astype(np.uint8))


def image_tensor(img):
    rgb = np.asarray(img, np.float32) / 255.0
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0) * 2.0 - 1.0


def train_passes(opt, gen, enc, rng, variant):
    gen.train()
    if enc is not None:
        enc.train()
    h, w = networks.output_size(opt)
    with torch.no_grad():
        for _ in range(TRAIN_PASSES):
            label, inst, _ = batch_inputs(rng, opt, variant, 2)
            seg = networks.semantics(label, opt, inst if not opt.no_instance else None)
            z = None
            if opt.use_vae:
                image = torch.from_numpy(rng.uniform(-1, 1, (2, 3, h, w)).astype(np.float32))
                mu, logvar = enc(image)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            gen(seg, z)
    gen.eval()
    if enc is not None:
        enc.eval()


def save_png(array, path, bits):
    if bits == 16:
        Image.fromarray(array.astype(np.uint16)).save(path)  # PIL writes I;16
    else:
        Image.fromarray(array.astype(np.uint8), "L").save(path)


def make(variant, out_root):
    name = variant["name"]
    out = os.path.join(out_root, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "checkpoint"))
    torch.manual_seed(variant["seed"])
    rng = np.random.default_rng(variant["seed"])

    opt = options.make_opt(name=name, dataset_mode="custom", init_variance=1.0,
                      load_size=variant["opt"]["crop_size"], no_vgg_loss=True, **variant["opt"])
    opt.spade_hidden = variant["nhidden"]
    gen, enc = networks.build_from_opt(opt)
    networks.xavier_init(gen, gain=1.0, bias_std=0.1)
    if enc is not None:
        networks.xavier_init(enc, gain=1.0, bias_std=0.1)
    train_passes(opt, gen, enc, rng, variant)

    ckpt = os.path.join(out, "checkpoint")
    save = dict(_use_new_zipfile_serialization=False) if variant.get("legacy") else {}
    torch.save(gen.state_dict(), os.path.join(ckpt, "latest_net_G.pth"), **save)
    if enc is not None:
        torch.save(enc.state_dict(), os.path.join(ckpt, "latest_net_E.pth"), **save)
    # Reference checkpoints never record the SPADE hidden width; importers
    # must read it from the weights, so these do not record it either.
    reference_opt = SimpleNamespace(**{k: v for k, v in vars(opt).items() if k != "spade_hidden"})
    checkpoints.save_opt(reference_opt, os.path.join(ckpt, "opt.txt"))

    n = variant["images"]
    _, _, maps = batch_inputs(rng, opt, variant, n)
    order = {"inputs_in_order": [f"label_{i}.png" for i in range(n)]}
    for i, (label, inst) in enumerate(maps):
        save_png(label, os.path.join(out, f"label_{i}.png"), 8)
        if not opt.no_instance:
            save_png(inst, os.path.join(out, f"inst_{i}.png"), variant["inst_bits"])
    if not opt.no_instance:
        order["instances_in_order"] = [f"inst_{i}.png" for i in range(n)]
    if opt.use_vae:
        z = torch.randn(n, opt.z_dim)
        np.save(os.path.join(out, "z.npy"), z.numpy().astype(np.float32))
        style_image(rng, variant["style_size"]).save(os.path.join(out, "style.png"))
    with open(os.path.join(out, "order.json"), "w") as f:
        json.dump(order, f, indent=1)
        f.write("\n")

    # Expected values come from the files just written, reloaded strictly,
    # so the fixture is exactly what a reader of this directory sees.
    return verify(out, write=True)


def load_inputs(fixture_dir):
    order = json.load(open(os.path.join(fixture_dir, "order.json")))
    read = lambda f: np.asarray(Image.open(os.path.join(fixture_dir, f))).astype(np.int64)  # noqa: E731
    label = torch.from_numpy(np.stack([read(f) for f in order["inputs_in_order"]]))
    inst = None
    if "instances_in_order" in order:
        inst = torch.from_numpy(np.stack([read(f) for f in order["instances_in_order"]]))
    return label, inst


def verify(fixture_dir, write=False):
    """Recompute every expected array from the directory's checkpoint and
    inputs; write them, or return the largest difference from the stored ones."""
    opt, gen, enc = checkpoints.load_checkpoint(os.path.join(fixture_dir, "checkpoint"))
    label, inst = load_inputs(fixture_dir)
    results = {}
    with torch.inference_mode():
        seg = networks.semantics(label, opt, inst)
        z = None
        if opt.use_vae:
            z = torch.from_numpy(np.load(os.path.join(fixture_dir, "z.npy")))
        results["expected_output.npy"] = gen(seg, z)
        if enc is not None:
            style = image_tensor(Image.open(os.path.join(fixture_dir, "style.png")).convert("RGB"))
            mu, logvar = enc(style)
            results["expected_mu.npy"] = mu
            results["expected_logvar.npy"] = logvar
            results["expected_output_style_mu.npy"] = gen(seg[:1], mu)
    worst = 0.0
    for fname, value in results.items():
        path = os.path.join(fixture_dir, fname)
        value = value.numpy().astype(np.float32)
        if write:
            np.save(path, value)
        else:
            worst = max(worst, float(np.abs(np.load(path) - value).max()))
    out = results["expected_output.npy"]
    saturated = float((out.abs() > 0.99).float().mean())
    print(f"{os.path.basename(fixture_dir):<28} output {tuple(out.shape)} std {out.std():.3f} "
          f"|x|>0.99 {saturated:.1%}" + ("" if write else f" max|err| {worst:.2e}"))
    return worst


def write_readme(out_root):
    lines = [
        "# SPADE variant fixtures",
        "",
        "Small checkpoints in the reference layout (`checkpoint/opt.txt`, "
        "`checkpoint/latest_net_G.pth`, `latest_net_E.pth` with the encoder) for the "
        "variants `../shared/fixtures/spade` (from the repository root) does not cover. Made by "
        "`bench/make_variant_fixtures.py` with `models/training/easel_training/networks.py` "
        "(checked against the "
        "reference fixtures by `bench/check_spade_torch.py`): xavier weights, biases "
        f"N(0, 0.1), {TRAIN_PASSES} training-mode passes, then eval on the CPU in float32.",
        "",
        "Inputs are `label_<i>.png` (8-bit class ids) and, with instances, `inst_<i>.png`; "
        "`order.json` lists them in the batch order of `expected_output.npy` (N,3,H,W). "
        "`nhidden` (the SPADE hidden width, 128 in the reference) is not in opt.txt: read "
        "it from `head_0.norm_0.mlp_shared.0.weight`. Expected values should be matched to "
        "1e-4. `style.png` is fed as RGB/255·2−1 at its own size; `z.npy` is (N, z_dim). "
        "Unlike the shared `vae_tiny`, the encoder here ran in the training passes, so its "
        "stored spectral-norm u, v are meaningful and plain eval reproduces `expected_mu`.",
        "",
        "| fixture | what it covers |",
        "| --- | --- |",
    ]
    lines += [f"| `{v['name']}` | {v['about']} |" for v in VARIANTS]
    with open(os.path.join(out_root, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--check", action="store_true",
                   help="recompute and compare instead of writing")
    args = p.parse_args()
    torch.set_num_threads(1)  # bit-stable across machines with different core counts
    if args.check:
        worst = max(verify(os.path.join(args.out, v["name"])) for v in VARIANTS)
        sys.exit(0 if worst < 1e-5 else 1)
    os.makedirs(args.out, exist_ok=True)
    for variant in VARIANTS:
        make(variant, args.out)
    write_readme(args.out)


if __name__ == "__main__":
    main()
