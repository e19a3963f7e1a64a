"""Training runs, checkpoints, resuming and the learning-rate schedule."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys

import pytest
import torch
from conftest import TINY, train_opt, write_dataset
from easel_training import checkpoints, compact, data, losses, networks, options, trainer

PACKAGE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def read_optim(ckpt):
    return torch.load(checkpoints.optim_path(ckpt), map_location="cpu", weights_only=True)


def adam_steps(optim_state):
    return {int(s["step"]) for s in optim_state["state"].values()}


def test_one_step_has_finite_losses_and_moves_the_weights(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path / "ck")
    tr = trainer.Trainer(opt, trainer.Placement(torch.device("cpu")))
    before = [p.detach().clone() for p in tr.synthesis.generator.parameters()]
    ds = data.PairedDataset(opt)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    seg = networks.semantics(batch["label"], opt)
    values, fake = tr.step(seg, batch["image"])
    assert set(values) == {"G_GAN", "G_GAN_Feat", "D_real", "D_fake"}
    assert all(math.isfinite(v) for v in values.values())
    assert fake.shape == (2, 3, 64, 64)
    after = list(tr.synthesis.generator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))


def test_instances_bf16_and_no_feature_loss_train(tmp_path, capsys):
    dirs = write_dataset(tmp_path / "data", instances=True)
    opt = train_opt(dirs, tmp_path / "ck", "--bf16", "--no_ganFeat_loss", "--niter", "1",
                    "--print_freq", "2", instances=True)
    trainer.train(opt)
    out = capsys.readouterr().out
    assert "G_GAN:" in out and "G_GAN_Feat" not in out and "nan" not in out
    g = torch.load(tmp_path / "ck" / "tiny" / "latest_net_G.pth", weights_only=True)
    assert g["fc.weight"].shape[1] == 4 + 1  # classes + the instance edge channel
    assert g["fc.weight"].dtype == torch.float32  # autocast leaves the weights in fp32


def test_vae_trains_the_encoder_and_saves_it(tmp_path):
    dirs = write_dataset(tmp_path / "data", pairs=2)
    opt = train_opt(dirs, tmp_path / "ck", "--use_vae", "--crop_size", "256", "--load_size",
                    "256", "--num_D", "1", "--niter", "1")
    trainer.train(opt)
    ckpt = tmp_path / "ck" / "tiny"
    e = torch.load(ckpt / "latest_net_E.pth", weights_only=True)
    assert e["fc_mu.weight"].shape == (256, 2 * 8 * 4 * 4) and "layer6.0.weight_orig" in e
    loaded, gen, enc = checkpoints.load_checkpoint(str(ckpt))
    assert loaded.use_vae and enc is not None
    with torch.no_grad():
        mu, _ = enc(torch.zeros(1, 3, 256, 256))
        assert torch.isfinite(gen(torch.zeros(1, 4, 256, 256), mu)).all()


def test_writes_checkpoints_opt_and_iter(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path / "ck", "--niter", "2", "--save_epoch_freq", "1",
                    "--display_freq", "2")
    trainer.train(opt)
    ckpt = tmp_path / "ck" / "tiny"
    names = set(os.listdir(ckpt))
    assert {"opt.txt", "iter.txt", "latest_net_G.pth", "latest_net_D.pth", "latest_optim.pth",
            "1_net_G.pth", "1_net_D.pth", "2_net_G.pth", "2_net_D.pth", "web"} <= names
    assert not any(".tmp" in n for n in names)
    assert checkpoints.read_iter(str(ckpt)) == (3, 0)
    written = options.load_opt(str(ckpt / "opt.txt"))
    assert (written.ngf, written.spade_hidden, written.dataset_mode) == (2, 8, "custom")
    assert written.label_dir == opt.label_dir and written.no_instance is True
    html = (ckpt / "web" / "index.html").read_text()
    assert html.index("epoch 2, images 4") < html.index("epoch 1, images 2")  # newest first
    for kind in ("label", "synthesized", "real"):
        assert (ckpt / "web" / "images" / f"epoch002_iter00000004_{kind}.png").is_file()


def test_resume_continues_epoch_iteration_optimizer_and_lr(dataset, tmp_path, capsys):
    schedule = ["--niter", "1", "--niter_decay", "2", "--save_latest_freq", "2"]
    # Stop in the middle of epoch 2 (2 steps of 2 images per epoch).
    trainer.train(train_opt(dataset, tmp_path / "ck", *schedule), stop_after_steps=3)
    ckpt = str(tmp_path / "ck" / "tiny")
    assert checkpoints.read_iter(ckpt) == (2, 2)
    assert adam_steps(read_optim(ckpt)["optimizer_G"]) == {3}
    capsys.readouterr()

    trainer.train(train_opt(dataset, tmp_path / "ck", *schedule, "--continue_train"),
                  stop_after_steps=1)
    out = capsys.readouterr().out
    assert "resuming from latest: epoch 2, after 2 images" in out
    assert "epoch 2: lr G 0.0001, D 0.0004, resuming after 2 images" in out
    assert checkpoints.read_iter(ckpt) == (2, 4)  # epoch 2's last step, saved mid-run
    state = read_optim(ckpt)
    assert adam_steps(state["optimizer_G"]) == {4}

    trainer.train(train_opt(dataset, tmp_path / "ck", *schedule, "--continue_train"))
    out = capsys.readouterr().out
    # Epoch 3 is the first decayed one: lr·(1 − 1/2), split by TTUR.
    assert "epoch 3: lr G 5e-05, D 0.0002" in out
    assert checkpoints.read_iter(ckpt) == (4, 0)
    state = read_optim(ckpt)
    assert adam_steps(state["optimizer_G"]) == {6}
    assert (state["lr_G"], state["lr_D"]) == pytest.approx((0.0, 0.0))  # after the last epoch


def test_resume_from_a_numbered_epoch_starts_the_next_one(dataset, tmp_path, capsys):
    trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "1", "--niter_decay", "1",
                            "--save_epoch_freq", "1"))
    capsys.readouterr()
    trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "1", "--niter_decay", "1",
                            "--continue_train", "--which_epoch", "1"), stop_after_steps=1)
    assert "at epoch 2" in capsys.readouterr().out


def test_resume_refuses_a_checkpoint_of_another_architecture(dataset, tmp_path):
    trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "1"))
    with pytest.raises(ValueError, match="does not fit the networks"):
        trainer.train(train_opt(dataset, tmp_path / "ck", "--ngf", "4", "--continue_train"))


@pytest.mark.parametrize("ttur", [True, False])
def test_lr_is_constant_for_niter_then_decays_linearly_to_zero(ttur, dataset, tmp_path):
    extra = [] if ttur else ["--no_TTUR"]
    opt = train_opt(dataset, tmp_path, "--lr", "0.0004", "--niter", "2", "--niter_decay", "4",
                    *extra)
    base = [0.0004, 0.0004, 0.0004, 0.0003, 0.0002, 0.0001]  # epochs 1 … 6
    for epoch, lr in enumerate(base, start=1):
        expected = (lr / 2, lr * 2) if ttur else (lr, lr)
        assert trainer.learning_rates(opt, epoch) == pytest.approx(expected), epoch
    assert trainer.learning_rates(opt, 7) == pytest.approx((0.0, 0.0))
    assert trainer.adam_betas(opt) == ((0.0, 0.9) if ttur else (opt.beta1, opt.beta2))


def test_no_ttur_uses_the_given_betas(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path, "--no_TTUR", "--beta1", "0.5", "--beta2", "0.999")
    tr = trainer.Trainer(opt, trainer.Placement(torch.device("cpu")))
    assert tr.set_epoch(1) == (0.0002, 0.0002)
    assert tr.optimizer_G.param_groups[0]["betas"] == (0.5, 0.999)


def test_without_decay_the_lr_stays_constant(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path, "--niter", "3")
    assert {trainer.learning_rates(opt, e) for e in (1, 2, 3)} == {(0.0001, 0.0004)}


def test_an_interrupted_save_keeps_the_previous_checkpoint(dataset, tmp_path, monkeypatch):
    trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "1"))
    ckpt = tmp_path / "ck" / "tiny"
    before = (ckpt / "latest_net_G.pth").read_bytes()

    def dies_half_way(obj, f):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.atomic_save({"x": 1}, str(ckpt / "latest_net_G.pth"))
    assert (ckpt / "latest_net_G.pth").read_bytes() == before
    assert not [n for n in os.listdir(ckpt) if ".tmp" in n]


def test_vgg_loss_trains_with_torchvision_vgg19_weights(dataset, tmp_path):
    vgg = networks.VGG19Features()
    state = {**vgg.state_dict(), "classifier.0.weight": torch.zeros(1)}  # as torchvision saves
    torch.save(state, tmp_path / "vgg19.pth")
    opt = train_opt(dataset, tmp_path / "ck", "--vgg_weights", str(tmp_path / "vgg19.pth"),
                    "--crop_size", "32")
    opt.no_vgg_loss = False
    tr = trainer.Trainer(opt, trainer.Placement(torch.device("cpu")))
    ds = data.PairedDataset(opt)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    values, _ = tr.step(networks.semantics(batch["label"], opt), batch["image"])
    assert math.isfinite(values["G_VGG"]) and values["G_VGG"] > 0


def test_vgg_weights_of_another_network_are_refused(tmp_path):
    torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a torchvision vgg19 state dict"):
        losses.load_vgg19(networks.VGG19Features(), str(tmp_path / "other.pth"))


def test_torchrun_trains_on_two_processes(dataset, tmp_path):
    """DDP on the CPU (gloo): each process takes half the batch; rank 0 writes."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "easel_training", "train", "--name", "ddp", "--checkpoints_dir",
           str(tmp_path / "ck"), "--label_dir", dataset["label"], "--image_dir",
           dataset["image"], *TINY, "--no_instance", "--niter", "1", "--print_freq", "2"]
    run = subprocess.run(cmd, cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=120)
    # The root cause is in the failing rank's output, above the launcher's summary.
    assert run.returncode == 0, run.stderr[:3000] + "\n…\n" + run.stderr[-1500:]
    assert "2 process(es) on cpu" in run.stdout
    assert run.stdout.count("(epoch: 1, iters: 2,") == 1  # printed by rank 0 only
    assert checkpoints.read_iter(str(tmp_path / "ck" / "ddp")) == (2, 0)


def test_max_minutes_stops_after_a_step_and_saves_where_to_resume(dataset, tmp_path, capsys):
    flags = ("--niter", "2", "--max_minutes", "1e-9")
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags))
    ckpt = str(tmp_path / "ck" / "tiny")
    assert checkpoints.read_iter(ckpt) == (1, 2), "one step of two images, then stopped"
    assert "stopped after 1e-09 minutes (--max_minutes)" in capsys.readouterr().out
    trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "2", "--continue_train"))
    assert "resuming from latest: epoch 1, after 2 images" in capsys.readouterr().out
    assert checkpoints.read_iter(ckpt) == (3, 0)


def test_a_stop_request_comes_from_the_stop_file_or_a_signal_and_goes_once_served(tmp_path):
    placement = trainer.Placement(torch.device("cpu"))
    stop_file = tmp_path / trainer.STOP_FILE
    stop_file.write_text("")  # touched while the trainer was starting: still a request
    before = signal.getsignal(signal.SIGUSR1)
    with trainer.StopRequest(str(tmp_path), 0, placement) as stop:
        assert stop.reason() == f"on the stop file {stop_file}"
        stop.consumed()
        assert not stop_file.exists() and stop.reason() is None
        os.kill(os.getpid(), signal.SIGUSR1)
        assert stop.reason() == "on SIGUSR1"
    assert signal.getsignal(signal.SIGUSR1) is before, "the handler it replaced is back"


def test_the_stop_file_stops_a_run_that_resumes_where_it_saved(dataset, tmp_path, capsys):
    ckpt = tmp_path / "ck" / "tiny"
    calls = []

    def touch_after_first_step(stop, real=trainer.StopRequest.reason):
        calls.append(1)
        if len(calls) == 2:
            (ckpt / trainer.STOP_FILE).write_text("")
        return real(stop)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer.StopRequest, "reason", touch_after_first_step)
        trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "3"))
    out = capsys.readouterr().out
    assert f"stopped on the stop file {ckpt / trainer.STOP_FILE}; saved latest (epoch 1, images 4)" in out
    assert checkpoints.read_iter(str(ckpt)) == (1, 4), "two steps of two images, then stopped"
    assert not (ckpt / trainer.STOP_FILE).exists(), "served, so the next start trains on"
    trainer.train(train_opt(dataset, tmp_path / "ck", "--niter", "3", "--continue_train"))
    assert "resuming from latest: epoch 1, after 4 images" in capsys.readouterr().out
    assert checkpoints.read_iter(str(ckpt)) == (4, 0)


def test_ema_averages_the_weights_step_by_step(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path / "ck", "--netG", "oasis", "--use_vae", "--z_dim", "8",
                    "--ema", "0.75")
    tr = trainer.Trainer(opt, trainer.Placement(torch.device("cpu")))
    ds = data.PairedDataset(opt)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    seg = networks.semantics(batch["label"], opt)
    start = {k: v.clone() for k, v in tr.synthesis.state_dict().items()}
    assert all(torch.equal(v, tr.average.state_dict()[k]) for k, v in start.items())
    tr.step(seg, batch["image"])
    first = {k: v.clone() for k, v in tr.synthesis.state_dict().items()}
    tr.step(seg, batch["image"])
    live, average = tr.synthesis.state_dict(), tr.average.state_dict()
    params = {n for n, _ in tr.synthesis.named_parameters()}
    moved = 0
    for key in params:
        # Two steps of average ← 0.75·average + 0.25·weights.
        expected = 0.75 * (0.75 * start[key] + 0.25 * first[key]) + 0.25 * live[key]
        assert torch.allclose(average[key], expected, atol=1e-6), key
        moved += not torch.equal(average[key], live[key])
    assert moved > len(params) // 2, "the average lags the weights"
    for key in set(live) - params:  # buffers follow the live networks
        assert torch.equal(average[key], live[key]), key
    assert not any(p.requires_grad for p in tr.average.parameters())


def test_ema_is_saved_packed_and_resumed(dataset, tmp_path, capsys):
    flags = ("--netG", "oasis", "--use_vae", "--z_dim", "8", "--niter", "3",
             "--save_latest_freq", "2")
    # A run without an average gains one when resumed with --ema.
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags), stop_after_steps=1)
    run = tmp_path / "ck" / "tiny"
    assert not (run / "latest_net_G_ema.pth").exists()
    before = checkpoints.load_state(str(run / "latest_net_G.pth"))
    capsys.readouterr()
    trainer.train(train_opt(dataset, tmp_path / "ck", *flags, "--ema", "0.5",
                            "--continue_train"), stop_after_steps=1)
    assert "the weights' average (--ema) starts from the loaded weights" in capsys.readouterr().out
    live = checkpoints.load_state(str(run / "latest_net_G.pth"))
    average = checkpoints.load_state(str(run / "latest_net_G_ema.pth"))
    assert (run / "latest_net_E_ema.pth").is_file()
    buffers = ("running_mean", "running_var", "num_batches_tracked", "weight_u", "weight_v")
    for key, value in average.items():
        if key.endswith(buffers):  # statistics and spectral norms' vectors: the live ones
            assert torch.equal(value, live[key]), key
        else:
            assert torch.allclose(value, 0.5 * before[key] + 0.5 * live[key], atol=1e-6), key

    # The packed resume point keeps it, and a resumed run continues from it.
    compact.pack(str(run), str(tmp_path / "packed"))
    compact.unpack(str(tmp_path / "packed"), str(tmp_path / "ck2" / "tiny"))
    assert (tmp_path / "ck2" / "tiny" / "latest_net_G_ema.pth").is_file()
    capsys.readouterr()
    trainer.train(train_opt(dataset, tmp_path / "ck2", *flags, "--ema", "0.5",
                            "--continue_train"), stop_after_steps=1)
    assert "average (--ema) starts" not in capsys.readouterr().out


def test_ema_must_be_a_decay_below_one(dataset, tmp_path):
    with pytest.raises(options.OptionError, match="--ema 1.0"):
        train_opt(dataset, tmp_path, "--ema", "1")
