"""Batch-norm statistics recomputed at the serving size: afterwards the
served (eval-mode) generator matches its batch-statistics output on the
calibration frames, and only the running statistics change."""

from __future__ import annotations

import os

import torch
from conftest import train_opt
from easel_training import checkpoints, networks, recalibrate, trainer
from easel_training.__main__ import main
from easel_training.data import PairedDataset

FLAGS = ("--netG", "oasis", "--use_vae", "--z_dim", "8", "--niter", "3", "--save_latest_freq", "2")


def _run(dataset, tmp_path) -> str:
    trainer.train(train_opt(dataset, tmp_path / "ck", *FLAGS), stop_after_steps=1)
    return str(tmp_path / "ck" / "tiny")


def _fixed_style(z_dim: int):
    """An encoder whose style is exact (log-variance far below zero)."""
    def encode(image):
        n = image.shape[0]
        return torch.linspace(-1, 1, z_dim).repeat(n, 1), torch.full((n, z_dim), -80.0)
    return encode


def test_the_running_statistics_become_the_calibration_batch_statistics(dataset, tmp_path):
    opt, generator, _ = checkpoints.load_checkpoint(_run(dataset, tmp_path))
    data = PairedDataset(recalibrate._data_opt(opt, dataset["label"], dataset["image"], 64, 4),
                         train=False, generator_size=False)
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
    seg = networks.semantics(batch["label"], opt)
    encode = _fixed_style(opt.z_dim)
    z = encode(batch["image"])[0]
    norms = recalibrate.batch_norms(generator)
    with torch.no_grad():
        before = generator(seg, z)  # served with the training run's statistics
    inputs = {}
    hooks = [m.register_forward_pre_hook(lambda m, args: inputs.__setitem__(m, args[0]))
             for m in norms]
    with torch.no_grad():
        for m in norms:
            m.train()  # what each norm sees when the ones before it use batch statistics
        generator(seg, z)
    for hook in hooks:
        hook.remove()

    seen = recalibrate.recalibrate_stats(generator, encode, [batch], opt)
    assert seen == 1 and not generator.training
    assert norms and all(m.momentum == 0.1 for m in norms), "momentum is given back"
    for m in norms:
        x = inputs[m].float()
        assert torch.allclose(m.running_mean, x.mean((0, 2, 3)), atol=1e-5)
        assert torch.allclose(m.running_var, x.var((0, 2, 3), unbiased=True), rtol=1e-4,
                              atol=1e-6)
    with torch.no_grad():
        after = generator(seg, z)
    assert float((after - before).abs().max()) > 1e-3, "the served image changes"


def test_the_command_rewrites_only_the_running_statistics(dataset, tmp_path, capsys):
    run = _run(dataset, tmp_path)
    path = checkpoints.net_path(run, "latest", "G")
    original = checkpoints.load_state(path)
    assert main(["recalibrate", run, "--label_dir", dataset["label"], "--image_dir",
                 dataset["image"], "--size", "64", "--images", "3"]) == 0
    assert "over 3 images at 64×64" in capsys.readouterr().out
    updated = checkpoints.load_state(path)
    assert updated.keys() == original.keys()
    changed = {k for k in original if not torch.equal(original[k], updated[k])}
    assert changed and all(k.endswith(("running_mean", "running_var", "num_batches_tracked"))
                           for k in changed), sorted(changed)[:5]
    assert open(os.path.join(run, "recalibrated.txt")).read() == "3 images at 64x64\n"


def test_a_generator_without_batch_norm_is_refused(dataset, tmp_path):
    opt, generator, encoder = checkpoints.load_checkpoint(_run(dataset, tmp_path))
    for name, module in list(generator.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.modules.batchnorm._BatchNorm):
                setattr(module, child_name, torch.nn.InstanceNorm2d(child.num_features))
    try:
        recalibrate.recalibrate_stats(generator, encoder, [], opt)
    except ValueError as e:
        assert "no batch norm" in str(e)
    else:
        raise AssertionError("recalibrating a generator without batch norm must fail")
