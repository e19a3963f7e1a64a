"""A packed resume point (bfloat16 weights, no optimizer state) is small,
unpacks into a run folder, and --continue_train goes on from it."""

from __future__ import annotations

import os

import torch
from conftest import train_opt
from easel_training import checkpoints, compact, trainer


def test_a_packed_run_unpacks_and_training_continues_from_it(dataset, tmp_path, capsys):
    flags = ("--netG", "oasis", "--use_vae", "--z_dim", "8", "--niter", "3",
             "--save_latest_freq", "2")
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags), stop_after_steps=1)
    run = str(tmp_path / "ck" / "tiny")
    size = compact.pack(run, str(tmp_path / "packed"))
    full = sum(os.path.getsize(checkpoints.net_path(run, "latest", n)) for n in "GDE")
    assert size < 0.6 * full, "bfloat16 halves the weights"

    resumed = tmp_path / "ck2" / "tiny"
    compact.unpack(str(tmp_path / "packed"), str(resumed))
    original = checkpoints.load_state(checkpoints.net_path(run, "latest", "G"))
    unpacked = checkpoints.load_state(checkpoints.net_path(str(resumed), "latest", "G"))
    for key, value in original.items():
        expected = value.to(torch.bfloat16).float() if value.is_floating_point() else value
        assert torch.equal(unpacked[key], expected), key
    assert not os.path.exists(checkpoints.optim_path(str(resumed)))
    assert checkpoints.read_iter(str(resumed)) == checkpoints.read_iter(run)

    capsys.readouterr()
    trainer.train(train_opt(dataset, tmp_path / "ck2", *flags, "--continue_train"),
                  stop_after_steps=1)
    out = capsys.readouterr().out
    assert "the optimizers start afresh" in out and "resuming from latest: epoch 1" in out
    after = checkpoints.load_state(checkpoints.net_path(str(resumed), "latest", "G"))
    assert any(not torch.equal(after[k], unpacked[k]) for k in after
               if after[k].is_floating_point()), "a training step changed the weights"
