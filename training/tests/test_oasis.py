"""OASIS's generator (easel_training/oasis.py) against the oasis_tiny reference
fixture, and the trainer's OASIS family (--netG oasis)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import OASIS_FIXTURE, max_error, train_opt, write_dataset
from easel_training import checkpoints, data, networks, options, trainer
from easel_training.oasis import OasisConfig, OasisGenerator
from PIL import Image

TOLERANCE = 1e-5  # the mirror against OASIS's own outputs

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
