"""OASIS's generator (easel_training/oasis.py) against the oasis_tiny reference
fixture, the trainer's OASIS family (--netG oasis), and both kinds of OASIS
checkpoint, the trainer's and OASIS's own, imported by `easel import` and run
in ONNX Runtime."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import OASIS_FIXTURE, easel_binary, max_error, train_opt, write_dataset
from easel_training import checkpoints, data, networks, options, trainer
from easel_training.oasis import OasisConfig, OasisGenerator
from PIL import Image
from tolerances import ACROSS_MACHINES

# The mirror against OASIS's own outputs (saved on another machine), and
# ONNX Runtime against the mirror: both across machines or runtimes.
TOLERANCE = ACROSS_MACHINES
IMPORT_TOLERANCE = ACROSS_MACHINES

# oasis_tiny's generator: opt.txt's flags, and 21 classes (fc sees 85 = 64 + 21).
FIXTURE_CONFIG = OasisConfig(semantic_nc=21, z_dim=64, channels_G=2, spade_ks=1,
                             param_free_norm="syncbatch", spectral=True)


def one_hot(label: torch.Tensor, classes: int) -> torch.Tensor:
    return F.one_hot(label.long(), classes).permute(0, 3, 1, 2).float()


def fixture_path(*parts) -> str:
    assert os.path.isdir(OASIS_FIXTURE), f"reference fixture {OASIS_FIXTURE} not found"
    return os.path.join(OASIS_FIXTURE, *parts)


def fixture_mirror(weights: str) -> OasisGenerator:
    gen = OasisGenerator(FIXTURE_CONFIG)
    gen.load_state_dict(checkpoints.load_state(fixture_path("checkpoint", "models", weights)),
                        strict=True)
    return gen.eval()


def png(path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path), dtype=np.int64))


def fixture_inputs():
    """(one-hot maps, z) in the order of order.json."""
    order = json.load(open(fixture_path("order.json")))
    label = torch.stack([png(fixture_path("inputs", n)) for n in order["inputs_in_order"]])
    z = torch.from_numpy(np.concatenate([np.load(fixture_path("inputs", n))
                                         for n in order["z_in_order"]]))
    return one_hot(label, FIXTURE_CONFIG.semantic_nc), z


# ---------------------------------------------------------------- the mirror

def test_mirror_has_oasis_state_dict_keys_in_oasis_order():
    reference = checkpoints.load_state(fixture_path("checkpoint", "models", "latest_EMA.pth"))
    ours = OasisGenerator(FIXTURE_CONFIG).state_dict()
    assert list(ours) == list(reference)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in reference.items()}


@pytest.mark.parametrize("weights, expected", [("latest_EMA.pth", "expected_output.npy"),
                                               ("latest_G.pth", "expected_output_G.npy")])
def test_mirror_reproduces_oasis_outputs(weights, expected):
    seg, z = fixture_inputs()
    with torch.no_grad():
        out = fixture_mirror(weights)(seg, z)
    err = max_error(out, np.load(fixture_path(expected)))
    print(f"{weights}: max abs error {err:.2e}")
    assert err < TOLERANCE


def test_spatial_noise_reproduces_oasis_local_reroll():
    seg, z = fixture_inputs()
    region = torch.from_numpy(np.load(fixture_path("inputs", "reroll_z_region.npy")))
    inside = png(fixture_path("inputs", "reroll_mask.png")) == 255
    z_spatial = torch.where(inside, region[0][:, None, None], z[0][:, None, None])
    with torch.no_grad():
        out = fixture_mirror("latest_EMA.pth")(seg[:1], z_spatial[None])
    err = max_error(out, np.load(fixture_path("expected_output_reroll.npy")))
    print(f"re-roll: max abs error {err:.2e}")
    assert err < TOLERANCE


def test_a_noise_vector_is_the_constant_noise_map():
    gen = OasisGenerator(OasisConfig(semantic_nc=3, z_dim=4, channels_G=1, spade_hidden=8))
    gen.eval()
    seg = one_hot(torch.randint(0, 3, (2, 32, 64)), 3)
    z = torch.randn(2, 4)
    with torch.no_grad():
        assert torch.equal(gen(seg, z), gen(seg, z[:, :, None, None].expand(2, 4, 32, 64)))


@pytest.mark.parametrize("config, shape, noise, message", [
    (OasisConfig(semantic_nc=3, z_dim=0, channels_G=1), (1, 3, 32, 32), (1, 4), "no noise"),
    (OasisConfig(semantic_nc=3, z_dim=4, channels_G=1), (1, 3, 32, 32), (1, 5), "expected"),
    (OasisConfig(semantic_nc=3, z_dim=4, channels_G=1), (1, 3, 48, 32), None, "multiples of 32"),
    (OasisConfig(semantic_nc=3, z_dim=4, channels_G=1), (1, 2, 32, 32), None, "takes 3"),
])
def test_inputs_the_generator_cannot_take_are_refused(config, shape, noise, message):
    gen = OasisGenerator(config)
    with pytest.raises(ValueError, match=message):
        gen(torch.zeros(shape), None if noise is None else torch.zeros(noise))


# ---------------------------------------------------------------- the trainer's family

def test_oasis_family_trains_and_writes_oasis_keys(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path / "ck", "--netG", "oasis", "--spade_ks", "1",
                    "--niter", "1")
    trainer.train(opt)
    ckpt = tmp_path / "ck" / "tiny"
    g = torch.load(ckpt / "latest_net_G.pth", weights_only=True)
    assert list(g) == list(OasisGenerator(networks.oasis_config(opt)).state_dict())
    assert g["fc.weight"].shape == (16 * 2, 64 + 4, 3, 3)  # 16·ngf; default z_dim, then classes
    assert g["body.0.norm_0.mlp_shared.0.weight"].shape == (8, 68, 1, 1)
    written = options.load_opt(str(ckpt / "opt.txt"))
    assert (written.netG, written.z_dim, written.spade_ks, written.use_vae) == (
        "oasis", 64, 1, False)
    assert written.norm_G == "spectralspadesyncbatch1x1"
    loaded, gen, enc = checkpoints.load_checkpoint(str(ckpt))
    assert isinstance(gen, OasisGenerator) and enc is None
    with torch.no_grad():
        assert torch.isfinite(gen(one_hot(torch.zeros(1, 64, 64), 4))).all()


def test_oasis_family_trains_a_style_encoder_below_256(dataset, tmp_path):
    """The encoder resizes every style image to 256×256, so the OASIS family
    keeps its six layers at any crop (the SPADE family keeps the reference's
    refusal, as its VAE's fc fixes the size)."""
    flags = ("--netG", "oasis", "--use_vae", "--z_dim", "8", "--niter", "1")
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags))  # crop 64
    _, gen, enc = checkpoints.load_checkpoint(str(tmp_path / "ck" / "tiny"))
    assert enc.num_layers == 6
    mu, _ = enc(torch.zeros(1, 3, 64, 64))
    assert mu.shape == (1, 8)
    with pytest.raises(options.OptionError, match="crop_size"):
        train_opt(dataset, tmp_path / "s", "--use_vae")


def test_oasis_family_without_noise_trains(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path, "--netG", "oasis", "--z_dim", "0", "--norm_G",
                    "spadeinstance3x3")
    tr = trainer.Trainer(opt, trainer.Placement(torch.device("cpu")))
    assert tr.synthesis.generator.fc.in_channels == 4
    ds = data.PairedDataset(opt)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    values, fake = tr.step(networks.semantics(batch["label"], opt), batch["image"])
    assert all(np.isfinite(v) for v in values.values()) and fake.shape == (2, 3, 64, 64)


def test_oasis_family_resumes_where_it_stopped(dataset, tmp_path, capsys):
    flags = ["--netG", "oasis", "--z_dim", "8", "--niter", "2", "--save_latest_freq", "2"]
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags), stop_after_steps=3)
    ckpt = str(tmp_path / "ck" / "tiny")
    assert checkpoints.read_iter(ckpt) == (2, 2)
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags, "--continue_train"))
    assert "resuming from latest: epoch 2, after 2 images" in capsys.readouterr().out
    assert checkpoints.read_iter(ckpt) == (3, 0)


def test_oasis_family_refuses_instance_maps(tmp_path):
    dirs = write_dataset(tmp_path / "data", pairs=1, instances=True)
    with pytest.raises(options.OptionError, match="--netG oasis takes no instance maps"):
        train_opt(dirs, tmp_path, "--netG", "oasis", instances=True)


@pytest.mark.parametrize("extra, message", [
    (["--netG", "oasis", "--num_upsampling_layers", "more"], "five times"),
    (["--netG", "oasis", "--z_dim", "-1"], "--z_dim -1 with --netG oasis"),
    (["--netG", "oasis", "--use_vae", "--crop_size", "256", "--load_size", "256", "--z_dim",
      "0"], "at least 1 with --use_vae"),
    (["--spade_ks", "1", "--norm_G", "spadebatch3x3"], "contradicts"),
    (["--spade_ks", "2"], "odd"),
])
def test_impossible_oasis_flags_are_refused_naming_the_flag(extra, message, dataset, tmp_path):
    with pytest.raises(options.OptionError, match=message):
        train_opt(dataset, tmp_path, *extra)


def test_spade_ks_sets_the_kernel_of_norm_g(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path, "--netG", "oasis", "--spade_ks", "5", "--norm_G",
                    "spadeinstance5x5")
    assert (opt.norm_G, opt.spade_ks, opt.z_dim) == ("spadeinstance5x5", 5, 64)
    spade = train_opt(dataset, tmp_path, "--spade_ks", "1")
    assert (spade.norm_G, spade.spade_ks, spade.z_dim) == ("spectralspadesyncbatch1x1", 1, 256)


# ---------------------------------------------------------------- imported by easel

def import_package(checkpoint: str, package: str, *flags) -> dict:
    run = subprocess.run([easel_binary(), "import", checkpoint, "--out", package, *flags],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.load(open(os.path.join(package, "model.json")))


def session(ort, package: str, name: str):
    return ort.InferenceSession(os.path.join(package, name), providers=["CPUExecutionProvider"])


def test_trainer_oasis_checkpoint_imports_exactly(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    easel_binary()
    # A single training step: some spectral-norm u, v are then one power
    # iteration from random, still short of a fixed point (σ at 0.82 of the
    # iterated one), and must be used as stored, as PyTorch's eval does, not
    # taken for never-trained vectors.
    dirs = write_dataset(tmp_path / "data", pairs=2, size=256)
    flags = ["--netG", "oasis", "--use_vae", "--z_dim", "8", "--crop_size", "256",
             "--load_size", "256", "--num_D", "1"]
    trainer.train(train_opt(dirs, tmp_path / "ck", *flags, "--niter", "1"))
    ckpt = str(tmp_path / "ck" / "tiny")
    package = str(tmp_path / "pkg")
    card = import_package(ckpt, package)
    assert card["family"] == "oasis"

    opt = train_opt(dirs, tmp_path, *flags, "--no_flip")
    ds = data.PairedDataset(opt, train=False)
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    label, style = batch["label"], batch["image"]
    _, gen, enc = checkpoints.load_checkpoint(ckpt)
    seg = networks.semantics(label, opt)
    noise = torch.randn(len(label), 8, 256, 256, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected_map = gen(seg, noise).numpy()
        mu, _ = enc(style)
        expected_mu = gen(seg, mu).numpy()

    encoder = session(ort, package, "encoder.onnx")
    got_mu = encoder.run(["mu"], {"style": style.numpy()})[0]
    generator = session(ort, package, "generator.onnx")
    got_map = generator.run(None, {"label": label.numpy(), "noise": noise.numpy()})[0]
    broadcast = np.ascontiguousarray(np.broadcast_to(got_mu[:, :, None, None], noise.shape))
    got_from_mu = generator.run(None, {"label": label.numpy(), "noise": broadcast})[0]
    errors = {"mu": max_error(got_mu, mu), "noise map": max_error(got_map, expected_map),
              "mu broadcast": max_error(got_from_mu, expected_mu)}
    print("max abs errors " + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    assert all(err < IMPORT_TOLERANCE for err in errors.values()), errors
    # Briefly trained from the reference's 0.02-gain init, the images are faint
    # (|x| ~ 1e-3), so the errors must also be small against them.
    for name, expected in (("noise map", expected_map), ("mu broadcast", expected_mu)):
        assert errors[name] < 1e-3 * float(np.abs(expected).max()), name
        assert float(expected.std()) > 0.05 * float(np.abs(expected).max())  # not constant


# OASIS's own checkpoint layout (checkpoints/<name>/models/latest_{G,EMA}.pth
# beside its opt.txt), random weights at sizes and flags the fixture lacks.
VARIANTS = {
    "ks3_channels1": dict(config=OasisConfig(semantic_nc=6, z_dim=8, channels_G=1, spade_ks=3),
                          size=(64, 64), dataset_mode="ade20k"),
    "channels3_instance_no_sn": dict(
        config=OasisConfig(semantic_nc=5, z_dim=8, channels_G=3, spade_ks=1,
                           param_free_norm="instance", spectral=False),
        size=(64, 64), dataset_mode="ade20k"),
    "z16_aspect2": dict(config=OasisConfig(semantic_nc=7, z_dim=16, channels_G=1, spade_ks=1,
                                           param_free_norm="batch"),
                        size=(128, 256), dataset_mode="cityscapes"),
    "no_3dnoise": dict(config=OasisConfig(semantic_nc=6, z_dim=0, channels_G=1, spade_ks=3),
                       size=(64, 64), dataset_mode="ade20k"),
}


def random_labels(rng, n: int, size, classes: int) -> torch.Tensor:
    """Blocky random label maps (8×8 cells) of every class."""
    h, w = size
    cells = rng.integers(0, classes, (n, h // 8, w // 8))
    return torch.from_numpy(cells.repeat(8, axis=1).repeat(8, axis=2).astype(np.int64))


def oasis_opt_txt(config: OasisConfig, dataset_mode: str) -> str:
    """opt.txt as OASIS's config.save_options writes it: no classes, no size;
    with no_3dnoise its z_dim stays (unused)."""
    values = {
        "EMA_decay": 0.9999, "batch_size": 2, "channels_D": 64,
        "channels_G": config.channels_G, "checkpoints_dir": "./checkpoints",
        "dataset_mode": dataset_mode, "gpu_ids": -1, "name": "oasis_variant",
        "no_3dnoise": config.z_dim == 0, "no_EMA": False,
        "no_spectral_norm": not config.spectral, "num_res_blocks": 6,
        "param_free_norm": config.param_free_norm, "phase": "train", "seed": 42,
        "spade_ks": config.spade_ks, "which_iter": "latest", "z_dim": config.z_dim or 64,
    }
    return "".join(f"{k:>25}: {str(v):<30}\n" for k, v in sorted(values.items()))


def write_oasis_checkpoint(root, variant: dict, rng) -> tuple[OasisGenerator, OasisGenerator]:
    """Random G and EMA generators saved in OASIS's layout; (G, EMA) in eval mode."""
    config, size = variant["config"], variant["size"]
    torch.manual_seed(int(rng.integers(1 << 31)))
    gen = OasisGenerator(config)
    networks.xavier_init(gen, gain=1.0, bias_std=0.1)  # as oasis_tiny re-drew them

    def train_passes(net, passes):
        net.train()
        with torch.no_grad():
            for _ in range(passes):
                net(one_hot(random_labels(rng, 2, size, config.semantic_nc),
                            config.semantic_nc))

    train_passes(gen, 3)
    ema = copy.deepcopy(gen)
    with torch.no_grad():
        for p in ema.parameters():
            p.add_(torch.randn_like(p) * 0.02 * (p.std() if p.numel() > 1 else 1.0))
    train_passes(ema, 2)
    os.makedirs(os.path.join(root, "models"))
    torch.save(gen.state_dict(), os.path.join(root, "models", "latest_G.pth"))
    torch.save(ema.state_dict(), os.path.join(root, "models", "latest_EMA.pth"))
    with open(os.path.join(root, "latest_iter.txt"), "w") as f:
        f.write("5")
    with open(os.path.join(root, "opt.txt"), "w") as f:
        f.write(oasis_opt_txt(config, variant["dataset_mode"]))
    return gen.eval(), ema.eval()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_oasis_layout_checkpoints_import_exactly(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    easel_binary()
    variant = VARIANTS[name]
    config, (h, w) = variant["config"], variant["size"]
    rng = np.random.default_rng(sum(map(ord, name)))
    gen, ema = write_oasis_checkpoint(str(tmp_path / "ck"), variant, rng)
    card = import_package(str(tmp_path / "ck"), str(tmp_path / "pkg"), "--crop-size", str(w),
                          "--aspect-ratio", str(w / h))
    assert card["family"] == "oasis"

    label = random_labels(rng, 2, (h, w), config.semantic_nc)
    feed = {"label": label.numpy()}
    noise = None
    if config.z_dim:
        noise = torch.from_numpy(rng.standard_normal((2, config.z_dim, h, w), np.float32))
        feed["noise"] = noise.numpy()
    with torch.no_grad():
        seg = one_hot(label, config.semantic_nc)
        expected, raw = ema(seg, noise).numpy(), gen(seg, noise).numpy()
    generator = session(ort, str(tmp_path / "pkg"), "generator.onnx")
    assert sorted(i.name for i in generator.get_inputs()) == sorted(feed)
    got = generator.run(None, feed)[0]
    err = max_error(got, expected)
    print(f"{name}: max abs error {err:.2e} (EMA vs G outputs differ by "
          f"{max_error(raw, expected):.2e})")
    assert err < IMPORT_TOLERANCE
    assert max_error(raw, expected) > 1e-3  # the EMA weights were the ones imported
    assert float(expected.std()) > 1e-3  # a real image, not a constant
