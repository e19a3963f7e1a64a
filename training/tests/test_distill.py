"""Distillation: the teacher's cache of images and z, and a student that
starts from the teacher and learns its images."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch
from conftest import train_opt
from easel_training import checkpoints, data, distill, networks, options, recalibrate, trainer
from PIL import Image

TEACHER = ("--netG", "oasis", "--use_vae", "--z_dim", "8", "--niter", "3",
           "--save_latest_freq", "2")


@pytest.fixture
def teacher(dataset, tmp_path):
    """A tiny trained OASIS-family run with a style encoder."""
    trainer.train(train_opt(dataset, tmp_path / "ck", *TEACHER), stop_after_steps=1)
    return str(tmp_path / "ck" / "tiny")


def test_the_cache_holds_the_teachers_image_of_each_map_with_its_z(dataset, teacher, tmp_path):
    cache = str(tmp_path / "cache")
    made, kept = distill.build_cache(teacher, dataset["label"], dataset["image"], cache,
                                     photo_share=0.5)
    stems = sorted(s.stem for s in data.pair_files(dataset["label"], dataset["image"]))
    assert (made, kept) == (len(stems), 0)
    assert sorted(os.listdir(cache)) == sorted([f"{s}.png" for s in stems] + [f"{s}.npy" for s in stems])

    opt, generator, _ = checkpoints.load_checkpoint(teacher)
    for stem in stems:
        image, z = data.read_guide(cache, stem, 8)
        label = data.read_label_map(os.path.join(dataset["label"], f"{stem}.png"), opt.label_nc,
                                    False)
        with torch.no_grad():
            seg = networks.semantics(torch.from_numpy(label.astype(np.int64))[None], opt)
            expected = (generator(seg, torch.from_numpy(z)[None])[0] + 1) * 127.5
        got = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)
        assert (got - expected).abs().max() <= 0.51, stem  # rounded to 8 bits, nothing else

    # Resumable: nothing is remade; a missing map is made again with the same z.
    before = np.load(os.path.join(cache, f"{stems[1]}.npy"))
    os.remove(os.path.join(cache, f"{stems[1]}.png"))
    made, kept = distill.build_cache(teacher, dataset["label"], dataset["image"], cache,
                                     photo_share=0.5)
    assert (made, kept) == (1, len(stems) - 1)
    assert np.array_equal(np.load(os.path.join(cache, f"{stems[1]}.npy")), before)


def test_z_comes_from_the_photo_for_its_share_of_the_maps(dataset, teacher, tmp_path):
    from_photo = tmp_path / "photo"
    random = tmp_path / "random"
    distill.build_cache(teacher, dataset["label"], dataset["image"], str(from_photo), photo_share=1)
    distill.build_cache(teacher, dataset["label"], dataset["image"], str(random), photo_share=0)
    _, _, encoder = checkpoints.load_checkpoint(teacher)
    for name in os.listdir(dataset["image"]):
        stem = name.rsplit(".", 1)[0]
        z_photo = np.load(from_photo / f"{stem}.npy")
        eps = np.load(random / f"{stem}.npy")  # the same draw, on its own
        photo = data.image_to_tensor(data.read_image(os.path.join(dataset["image"], name)))[None]
        with torch.no_grad():
            mu, logvar = encoder(photo)
        expected = (mu + torch.from_numpy(eps)[None] * torch.exp(0.5 * logvar))[0].numpy()
        assert np.allclose(z_photo, expected, atol=1e-5), stem
        assert not np.allclose(z_photo, eps)
    with pytest.raises(ValueError, match="--photo_share 2"):
        distill.build_cache(teacher, dataset["label"], dataset["image"], str(random), photo_share=2)


def student_opt(dataset, tmp_path, teacher, cache, *extra):
    # Lighter SPADE layers (1×1 kernels, half the hidden width) on the teacher's trunk.
    return train_opt(dataset, tmp_path / "student", "--netG", "oasis", "--use_vae", "--z_dim", "8",
                     "--spade_ks", "1", "--spade_hidden", "4", "--teacher", teacher,
                     "--distill_cache", cache, *extra)


def test_the_student_starts_from_the_teacher_and_learns_its_images(dataset, teacher, tmp_path):
    cache = str(tmp_path / "cache")
    distill.build_cache(teacher, dataset["label"], dataset["image"], cache)
    opt = student_opt(dataset, tmp_path, teacher, cache)
    tr = trainer.Trainer(opt, trainer.Placement(torch.device("cpu")))
    g_teacher = checkpoints.load_state(checkpoints.net_path(teacher, "latest", "G"))
    student = tr.synthesis.generator.state_dict()
    same = [k for k in student if k in g_teacher and g_teacher[k].shape == student[k].shape]
    assert "fc.weight" in same and "conv_img.weight" in same
    assert any("conv_0" in k for k in same), "the trunk's convolutions come from the teacher"
    assert all(torch.equal(student[k], g_teacher[k]) for k in same)
    assert any(k not in same for k in student if "mlp_shared" in k), "SPADE layers are new"
    e_teacher = checkpoints.load_state(checkpoints.net_path(teacher, "latest", "E"))
    assert all(torch.equal(v, e_teacher[k]) for k, v in tr.synthesis.encoder.state_dict().items())
    assert not any(p.requires_grad for p in tr.synthesis.encoder.parameters())
    d_teacher = checkpoints.load_state(checkpoints.net_path(teacher, "latest", "D"))
    assert all(torch.equal(v, d_teacher[k]) for k, v in tr.discriminator.state_dict().items())

    ds = data.PairedDataset(opt)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert batch["teacher"].shape == batch["image"].shape and batch["z"].shape == (2, 8)
    seg = networks.semantics(batch["label"], opt)
    trunk = tr.synthesis.generator.fc.weight.detach().clone()
    values, fake = tr.step(seg, batch["image"], (batch["teacher"], batch["z"]))
    assert {"G_GAN", "G_GAN_Feat", "G_L1", "D_real", "D_fake"} == set(values)
    assert "KLD" not in values, "z is given: the encoder is not trained"
    assert not torch.equal(tr.synthesis.generator.fc.weight, trunk)
    assert all(torch.equal(v, e_teacher[k]) for k, v in tr.synthesis.encoder.state_dict().items())

    # Through the loop: the run saves the student with the teacher's encoder, for export.
    trainer.train(student_opt(dataset, tmp_path, teacher, cache, "--niter", "1"))
    run = tmp_path / "student" / "tiny"
    e_saved = checkpoints.load_state(str(run / "latest_net_E.pth"))
    assert all(torch.equal(v, e_teacher[k]) for k, v in e_saved.items())
    _, generator, _ = checkpoints.load_checkpoint(str(run))
    assert generator.body[0].norm_0.mlp_shared[0].kernel_size == (1, 1)
    # Packaging recalibrates its batch norms on maps and photos alone: the
    # teacher's cache, named in its opt.txt, is not read (nor needed).
    shutil.rmtree(cache)
    assert recalibrate.recalibrate(str(run), dataset["label"], dataset["image"], 64, images=2) == 2


def test_distillation_flags_and_cache_are_checked(dataset, teacher, tmp_path):
    with pytest.raises(options.OptionError, match="--teacher and --distill_cache go together"):
        train_opt(dataset, tmp_path, "--netG", "oasis", "--use_vae", "--teacher", teacher)
    with pytest.raises(options.OptionError, match="needs --use_vae"):
        train_opt(dataset, tmp_path, "--teacher", teacher, "--distill_cache", teacher)
    empty = tmp_path / "empty"
    empty.mkdir()
    opt = student_opt(dataset, tmp_path, teacher, str(empty))
    with pytest.raises(data.DatasetError, match="not in the distillation cache .* distill-cache"):
        data.PairedDataset(opt)[0]
    # A cache of another teacher's z, or of other maps, is refused by name.
    np.save(empty / "scene_000.npy", np.zeros(16, np.float32))
    Image.new("RGB", (64, 64)).save(empty / "scene_000.png")
    with pytest.raises(data.DatasetError, match="z of shape \\(16,\\)"):
        data.PairedDataset(opt)[0]
    np.save(empty / "scene_000.npy", np.zeros(8, np.float32))
    Image.new("RGB", (32, 32)).save(empty / "scene_000.png")
    with pytest.raises(data.DatasetError, match="cache was made from other maps"):
        data.PairedDataset(opt)[0]
    wide = student_opt(dataset, tmp_path, teacher, str(empty), "--ngf", "4")
    with pytest.raises(ValueError, match="give the student the teacher's --ngf"):
        trainer.Trainer(wide, trainer.Placement(torch.device("cpu")))
