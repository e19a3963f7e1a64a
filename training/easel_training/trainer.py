"""Training: the reference's loop (per batch, one generator step then one
discriminator step) on the CPU, one GPU, or several under torchrun (DDP),
with its learning-rate schedule, checkpoints, progress lines and sample page.

Positions are counted in images seen, like the reference's iteration
counter: `--print_freq`, `--display_freq` and `--save_latest_freq` fire when
the count crosses a multiple of them.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from . import checkpoints, data, distill, losses, networks
from .web import SamplePage

# ---------------------------------------------------------------- schedule

def learning_rates(opt, epoch: int) -> tuple[float, float]:
    """(G lr, D lr) for `epoch` (1-based). Constant for the first niter + 1
    epochs, then down by lr/niter_decay after each epoch, reaching zero
    after the last, as the reference's end-of-epoch update does; TTUR gives G
    half and D twice the rate."""
    decayed = max(0, epoch - 1 - opt.niter)
    lr = opt.lr * max(0.0, 1.0 - decayed / opt.niter_decay) if opt.niter_decay else opt.lr
    return (lr, lr) if opt.no_TTUR else (lr / 2, lr * 2)


def adam_betas(opt) -> tuple[float, float]:
    return (opt.beta1, opt.beta2) if opt.no_TTUR else (0.0, 0.9)


# ---------------------------------------------------------------- stopping

STOP_FILE = "STOP"


class StopRequest:
    """Asks training to save `latest` and end cleanly after the step in
    hand: SIGUSR1 or SIGTERM to a process (what SLURM sends before a time
    limit or pre-emption, `scancel --signal`, torchrun passing on a TERM),
    the file STOP in the run's folder (what a batch script touches, as every
    process of every node sees it on the shared folder), or `--max_minutes`.
    Under torchrun every process learns every other's reason each step, so
    they all stop after the same one and nobody waits on a collective that
    never comes."""

    def __init__(self, ckpt_dir: str, max_minutes: float, placement: Placement):
        self.path = os.path.join(ckpt_dir, STOP_FILE)
        self.deadline = time.monotonic() + 60 * max_minutes if max_minutes > 0 else None
        self.max_minutes = max_minutes
        self.placement = placement
        self.signal: str | None = None
        self._previous = {}

    def __enter__(self) -> "StopRequest":
        # A STOP already there is honoured after the first step: a batch
        # script's signal can come while the trainer is still starting.
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGUSR1, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum, _frame) -> None:
        self.signal = signal.Signals(signum).name

    def reason(self) -> str | None:
        """Why to stop now ("after …", "on …"), or None; the same answer on
        every process."""
        code = 0
        if self.deadline is not None and time.monotonic() >= self.deadline:
            code = 1
        if os.path.exists(self.path):
            code = 2
        if self.signal is not None:
            code = 3
        if self.placement.world > 1:
            flag = torch.tensor([code], dtype=torch.int32)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            code = int(flag.item())
        if code == 0:
            return None
        if code == 1:
            return f"after {self.max_minutes:g} minutes (--max_minutes)"
        if code == 2:
            return f"on the stop file {self.path}"
        return f"on {self.signal}" if self.signal else "on a signal to another process"

    def consumed(self) -> None:
        """The request is served: the stop file goes, so that the run's
        next start (a requeued job) trains on."""
        if self.placement.is_main and os.path.exists(self.path):
            os.remove(self.path)


# ---------------------------------------------------------------- devices

@dataclass(frozen=True)
class Placement:
    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def place(opt) -> Placement:
    """The device this process trains on; joins the process group under
    torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cpu = str(opt.gpu_ids).strip() == "-1" or not torch.cuda.is_available()
    if world > 1:
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if not cpu:
            torch.cuda.set_device(local)
        dist.init_process_group("gloo" if cpu else "nccl")
        device = torch.device("cpu") if cpu else torch.device("cuda", local)
        return Placement(device, rank, world)
    if cpu:
        if str(opt.gpu_ids).strip() != "-1":
            print(f"no CUDA device: training on the CPU (--gpu_ids {opt.gpu_ids} ignored)",
                  file=sys.stderr)
        return Placement(torch.device("cpu"))
    ids = [int(i) for i in str(opt.gpu_ids).split(",") if i.strip()]
    if len(ids) > 1:
        raise ValueError(f"--gpu_ids {opt.gpu_ids}: one process trains on one GPU; for "
                         f"several, run `torchrun --nproc_per_node {len(ids)} -m "
                         "easel_training train ...` with CUDA_VISIBLE_DEVICES")
    return Placement(torch.device("cuda", ids[0]))


# ---------------------------------------------------------------- model

class Synthesis(nn.Module):
    """Generator, with the style encoder in front of it for VAE models: one
    module so that DDP sees every parameter the G step updates."""

    def __init__(self, opt):
        super().__init__()
        self.generator, self.encoder = networks.build_from_opt(opt)

    def forward(self, seg, image, z=None):
        """(fake image, mu, logvar); mu and logvar are None without encoder,
        or when the style z is given (a distillation cache's)."""
        if z is not None:
            return self.generator(seg, z), None, None
        if self.encoder is None:
            return self.generator(seg), None, None
        mu, logvar = self.encoder(image)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.generator(seg, z), mu, logvar


def _sync_batchnorm(module: nn.Module, norm: str) -> nn.Module:
    return nn.SyncBatchNorm.convert_sync_batchnorm(module) if "syncbatch" in norm else module


class Trainer:
    """Networks, optimizers and losses of one process; `step` trains on one
    batch."""

    def __init__(self, opt, placement: Placement):
        self.opt = opt
        self.placement = placement
        device = placement.device
        torch.manual_seed(opt.seed)  # identical initial weights on every rank
        self.synthesis = Synthesis(opt)
        self.discriminator = networks.MultiscaleDiscriminator(opt)
        for net in (self.synthesis, self.discriminator):
            networks.xavier_init(net, gain=opt.init_variance)
        if opt.teacher:
            distill.start_from_teacher(self, opt.teacher, print if placement.is_main
                                       else (lambda *a: None))
        torch.manual_seed(opt.seed * 1000 + placement.rank)
        self.vgg = losses.VGGLoss(opt.vgg_weights).to(device) if not opt.no_vgg_loss else None
        self.synthesis.to(device)
        self.discriminator.to(device)
        self.synthesis_ddp, self.discriminator_ddp = self.synthesis, self.discriminator
        if placement.world > 1:
            if device.type == "cuda":
                self.synthesis.generator = _sync_batchnorm(self.synthesis.generator, opt.norm_G)
                if self.synthesis.encoder is not None:
                    self.synthesis.encoder = _sync_batchnorm(self.synthesis.encoder, opt.norm_E)
                self.discriminator = _sync_batchnorm(self.discriminator, opt.norm_D)
            ids = [device.index] if device.type == "cuda" else None
            self.synthesis_ddp = DistributedDataParallel(self.synthesis, device_ids=ids)
            self.discriminator_ddp = DistributedDataParallel(self.discriminator, device_ids=ids)
        # The weights' moving average, updated after every generator step.
        self.average = copy.deepcopy(self.synthesis).requires_grad_(False) if opt.ema else None
        g_lr, d_lr = learning_rates(opt, 1)
        betas = adam_betas(opt)
        self.optimizer_G = torch.optim.Adam(self.synthesis.parameters(), lr=g_lr, betas=betas)
        self.optimizer_D = torch.optim.Adam(self.discriminator.parameters(), lr=d_lr, betas=betas)

    # -- state

    def networks(self) -> dict:
        nets = {"G": self.synthesis.generator, "D": self.discriminator,
                "E": self.synthesis.encoder}
        if self.average is not None:
            nets.update(G_ema=self.average.generator, E_ema=self.average.encoder)
        return nets

    def optim_state(self, epoch: int) -> dict:
        g_lr, d_lr = learning_rates(self.opt, epoch)
        return {"optimizer_G": self.optimizer_G.state_dict(),
                "optimizer_D": self.optimizer_D.state_dict(), "lr_G": g_lr, "lr_D": d_lr}

    def load(self, ckpt_dir: str, label, with_optimizers: bool) -> None:
        nets = self.networks()
        averaged = {k: nets.pop(k) for k in ("G_ema", "E_ema") if k in nets}
        # Loading into the unconverted modules' keys: SyncBatchNorm keeps them.
        checkpoints.load_networks(ckpt_dir, label, nets)
        if averaged:
            if os.path.isfile(checkpoints.net_path(ckpt_dir, label, "G_ema")):
                checkpoints.load_networks(ckpt_dir, label, averaged)
            else:
                self.average.load_state_dict(self.synthesis.state_dict())
                print(f"no {label}_net_G_ema.pth in {ckpt_dir}: the weights' average (--ema) "
                      "starts from the loaded weights", flush=True)
        if with_optimizers:
            path = checkpoints.optim_path(ckpt_dir)
            if not os.path.isfile(path):
                # A packed checkpoint (compact.py) keeps the weights only.
                print(f"no {os.path.basename(path)} in {ckpt_dir}: the optimizers start "
                      "afresh (Adam's moments are rebuilt within a few hundred steps)",
                      flush=True)
                return
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.optimizer_G.load_state_dict(state["optimizer_G"])
            self.optimizer_D.load_state_dict(state["optimizer_D"])

    def set_epoch(self, epoch: int) -> tuple[float, float]:
        """Learning rates and betas for `epoch`, whatever the optimizers held."""
        g_lr, d_lr = learning_rates(self.opt, epoch)
        betas = adam_betas(self.opt)
        for optimizer, lr in ((self.optimizer_G, g_lr), (self.optimizer_D, d_lr)):
            for group in optimizer.param_groups:
                group["lr"] = lr
                group["betas"] = betas
        return g_lr, d_lr

    # -- training

    @torch.no_grad()
    def _update_average(self) -> None:
        """average ← decay·average + (1 − decay)·weights; buffers (batch-norm
        statistics) are copied, and the package's recalibration remakes
        them for the averaged weights anyway."""
        if self.average is None:
            return
        for mine, theirs in zip(self.average.parameters(), self.synthesis.parameters()):
            mine.lerp_(theirs, 1.0 - self.opt.ema)
        for mine, theirs in zip(self.average.buffers(), self.synthesis.buffers()):
            mine.copy_(theirs)

    def _autocast(self):
        return torch.autocast(self.placement.device.type, dtype=torch.bfloat16,
                              enabled=self.opt.bf16)

    def _discriminate(self, seg, fake, real):
        """Per-scale features of fake and real, from one batched pass."""
        both = torch.cat([torch.cat([seg, fake], 1), torch.cat([seg, real], 1)], 0)
        out = self.discriminator_ddp(both)
        n = fake.shape[0]
        return ([[f[:n] for f in scale] for scale in out],
                [[f[n:] for f in scale] for scale in out])

    @contextlib.contextmanager
    def _discriminator_frozen(self):
        """The G step needs gradients through D, not for D's weights; with
        DDP, D's gradients are not synchronised in it either."""
        self.discriminator.requires_grad_(False)
        sync = (self.discriminator_ddp.no_sync() if self.placement.world > 1
                else contextlib.nullcontext())
        try:
            with sync:
                yield
        finally:
            self.discriminator.requires_grad_(True)

    def step(self, seg, real, guide=None) -> tuple[dict, torch.Tensor]:
        """One G step and one D step; (losses as floats, the G step's fakes).
        `guide`: (the teacher's images, their z) when distilling: the fakes
        are made with that z and matched to those images (L1, the
        discriminator's features, VGG), while D still tells them from `real`."""
        opt = self.opt
        self.synthesis.train()
        self.discriminator.train()
        teacher, z = guide if guide is not None else (None, None)
        target = real if teacher is None else teacher

        self.optimizer_G.zero_grad(set_to_none=True)
        with self._discriminator_frozen():
            with self._autocast():
                fake, mu, logvar = self.synthesis_ddp(seg, real, z)
                pred_fake, pred_target = self._discriminate(seg, fake, target)
            g = {"G_GAN": losses.hinge_g_loss(pred_fake)}
            if not opt.no_ganFeat_loss:
                g["G_GAN_Feat"] = losses.feature_matching_loss(pred_fake, pred_target,
                                                               opt.lambda_feat)
            if teacher is not None:
                g["G_L1"] = (fake.float() - teacher).abs().mean() * opt.lambda_l1
            if self.vgg is not None:
                with self._autocast():
                    g["G_VGG"] = self.vgg(fake, target) * opt.lambda_vgg
            if mu is not None:
                g["KLD"] = losses.kld_loss(mu, logvar) * opt.lambda_kld
            sum(g.values()).backward()
        self.optimizer_G.step()

        self.optimizer_D.zero_grad(set_to_none=True)
        with torch.no_grad(), self._autocast():
            fake_d, _, _ = self.synthesis_ddp(seg, real, z)
        with self._autocast():
            pred_fake, pred_real = self._discriminate(seg, fake_d.detach(), real)
        d_real, d_fake = losses.hinge_d_loss(pred_real, pred_fake)
        (d_real + d_fake).backward()
        self.optimizer_D.step()
        self._update_average()  # after the D step's pass has moved the batch statistics

        values = {k: float(v.detach()) for k, v in g.items()}
        values.update(D_real=float(d_real.detach()), D_fake=float(d_fake.detach()))
        return values, fake.detach()


# ---------------------------------------------------------------- loop

def _batch_semantics(batch, opt, device):
    label = batch["label"].to(device, non_blocking=True)
    inst = batch["instance"].to(device, non_blocking=True) if "instance" in batch else None
    return label, networks.semantics(label, opt, inst), batch["image"].to(device,
                                                                          non_blocking=True)


def _crossed(total: int, batch: int, freq: int) -> bool:
    """The reference's test: did the last `batch` images cross a multiple of freq?"""
    return total % freq < batch


def train(opt, stop_after_steps: int | None = None) -> None:
    """Run training as `opt` says. `stop_after_steps` ends it early (tests)."""
    placement = place(opt)
    try:
        _train(opt, placement, stop_after_steps)
        if placement.world > 1:
            # The main process saves while the others are done: they wait
            # for it here, as a process leaving the group while a peer is
            # still in it can abort gloo ("terminate called without an
            # active exception", seen under SLURM on a stop request).
            dist.barrier()
    finally:
        if placement.world > 1:
            dist.destroy_process_group()


def _train(opt, placement: Placement, stop_after_steps: int | None) -> None:
    device, world = placement.device, placement.world
    say = (lambda *a: print(*a, flush=True)) if placement.is_main else (lambda *a: None)
    if opt.batchSize % world:
        raise ValueError(f"--batchSize {opt.batchSize} is the batch over all {world} processes "
                         "and must divide evenly among them")
    dataset = data.PairedDataset(opt)
    batches_per_epoch = len(dataset) // opt.batchSize
    if batches_per_epoch == 0:
        raise ValueError(f"{len(dataset)} training pairs are fewer than --batchSize "
                         f"{opt.batchSize}")
    ckpt_dir = os.path.join(opt.checkpoints_dir, opt.name)

    trainer = Trainer(opt, placement)
    first_epoch, epoch_iter = 1, 0
    if opt.continue_train:
        first_epoch, epoch_iter = _resume(trainer, ckpt_dir, opt, say)
    if placement.is_main:
        os.makedirs(ckpt_dir, exist_ok=True)
        checkpoints.save_opt(opt, os.path.join(ckpt_dir, "opt.txt"))
    page = SamplePage(ckpt_dir, opt.name, opt.label_nc + int(opt.contain_dontcare_label)) \
        if placement.is_main else None

    def save(label, epoch, at):
        if placement.is_main:
            state = trainer.optim_state(epoch) if label == "latest" else None
            checkpoints.save_training_state(ckpt_dir, label, trainer.networks(), state, epoch, at)

    sampler = DistributedSampler(dataset, num_replicas=world, rank=placement.rank,
                                 shuffle=not opt.serial_batches, seed=opt.seed, drop_last=True)
    total_epochs = opt.niter + opt.niter_decay
    g_params = sum(p.numel() for p in trainer.synthesis.generator.parameters())
    say(f"{len(dataset)} pairs, {batches_per_epoch} steps of {opt.batchSize} per epoch, "
        f"epochs {first_epoch}-{total_epochs}, generator {g_params / 1e6:.2f} M parameters, "
        f"{world} process(es) on {device}")
    with StopRequest(ckpt_dir, opt.max_minutes, placement) as stop:
        _loop(opt, placement, trainer, dataset, sampler, page, save, stop, say,
              (first_epoch, epoch_iter), stop_after_steps)


def _loop(opt, placement, trainer, dataset, sampler, page, save, stop, say, start,
          stop_after_steps) -> None:
    device, per_rank = placement.device, opt.batchSize // placement.world
    batches_per_epoch = len(dataset) // opt.batchSize
    images_per_epoch = batches_per_epoch * opt.batchSize
    total_epochs = opt.niter + opt.niter_decay
    first_epoch, epoch_iter = start
    steps = 0
    for epoch in range(first_epoch, total_epochs + 1):
        g_lr, d_lr = trainer.set_epoch(epoch)
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch)
        skip = epoch_iter // opt.batchSize
        indices = list(sampler)[:batches_per_epoch * per_rank][skip * per_rank:]
        loader = DataLoader(dataset, batch_size=per_rank, sampler=indices,
                            num_workers=opt.nThreads, drop_last=True,
                            pin_memory=device.type == "cuda")
        say(f"epoch {epoch}: lr G {g_lr:.3g}, D {d_lr:.3g}"
            + (f", resuming after {epoch_iter} images" if epoch_iter else ""))
        tick, tick_images = time.perf_counter(), 0
        for batch in loader:
            label, seg, real = _batch_semantics(batch, opt, device)
            guide = ((batch["teacher"].to(device), batch["z"].to(device))
                     if "teacher" in batch else None)
            values, fake = trainer.step(seg, real, guide)
            epoch_iter += opt.batchSize
            tick_images += opt.batchSize
            total = (epoch - 1) * images_per_epoch + epoch_iter
            if _crossed(total, opt.batchSize, opt.print_freq):
                rate = tick_images / max(time.perf_counter() - tick, 1e-9)
                say(f"(epoch: {epoch}, iters: {epoch_iter}, images/s: {rate:.2f}) "
                    + " ".join(f"{k}: {v:.3f}" for k, v in values.items()))
                tick, tick_images = time.perf_counter(), 0
            if page is not None and _crossed(total, opt.batchSize, opt.display_freq):
                page.add(epoch, epoch_iter, label[0], fake[0], real[0])
            if _crossed(total, opt.batchSize, opt.save_latest_freq):
                save("latest", epoch, epoch_iter)
                say(f"saved latest (epoch {epoch}, images {epoch_iter})")
            steps += 1
            if stop_after_steps is not None and steps >= stop_after_steps:
                return
            reason = stop.reason()
            if reason is not None:
                save("latest", epoch, epoch_iter)
                stop.consumed()
                say(f"stopped {reason}; saved latest (epoch {epoch}, images {epoch_iter}): "
                    "--continue_train resumes here")
                return
        epoch_iter = 0
        save("latest", epoch + 1, 0)
        if epoch % opt.save_epoch_freq == 0 or epoch == total_epochs:
            save(epoch, epoch + 1, 0)
            say(f"saved epoch {epoch}")
    say("training finished")


def _resume(trainer: Trainer, ckpt_dir: str, opt, say) -> tuple[int, int]:
    """Load the checkpoint `--which_epoch` names; return where to continue."""
    if opt.which_epoch == "latest":
        trainer.load(ckpt_dir, "latest", with_optimizers=True)
        epoch, epoch_iter = checkpoints.read_iter(ckpt_dir)
        say(f"resuming from latest: epoch {epoch}, after {epoch_iter} images")
        return epoch, epoch_iter
    epoch = int(opt.which_epoch)
    trainer.load(ckpt_dir, epoch, with_optimizers=False)
    say(f"resuming from epoch {epoch}'s networks at epoch {epoch + 1}; optimizer state is "
        "kept for latest only, so Adam's moments start afresh")
    return epoch + 1, 0
