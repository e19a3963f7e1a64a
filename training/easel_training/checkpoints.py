"""A run's folder, checkpoints/<name>/: `opt.txt`, `<epoch>_net_{G,D,E}.pth`
(plain state dicts as the reference writes them and `easel import` reads
them), `iter.txt` (the epoch, and images seen in it, as the reference keeps
it) and `latest_optim.pth` (ours: optimizer states and learning rates).
Every file is written to a temporary name and renamed into place, so an
interrupted write never leaves a broken checkpoint behind.
"""

from __future__ import annotations

import os

import torch

from . import networks, options


def atomic_write(path: str, write) -> None:
    """`write(file)` fills a temporary file, renamed to `path` once whole."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_save(obj, path: str) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_opt(opt, path: str) -> None:
    atomic_write_text(options.format_opt(opt), path)


def net_path(ckpt_dir: str, label, net: str) -> str:
    return os.path.join(ckpt_dir, f"{label}_net_{net}.pth")


def optim_path(ckpt_dir: str) -> str:
    return os.path.join(ckpt_dir, "latest_optim.pth")


def _cpu_state(module: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def save_networks(ckpt_dir: str, label, nets: dict) -> None:
    """`nets`: {"G": module, "D": module, "E": module or None}."""
    for name, module in nets.items():
        if module is not None:
            atomic_save(_cpu_state(module), net_path(ckpt_dir, label, name))


def load_state(path: str) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def load_networks(ckpt_dir: str, label, nets: dict) -> None:
    for name, module in nets.items():
        if module is None:
            continue
        path = net_path(ckpt_dir, label, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"cannot resume: {path} is missing")
        try:
            module.load_state_dict(load_state(path), strict=True)
        except RuntimeError as e:
            first = str(e).splitlines()[:3]
            raise ValueError(f"{path} does not fit the networks these flags build "
                             f"({' '.join(first)}); pass the architecture flags of the run "
                             "that wrote it (its opt.txt lists them)") from None


def write_iter(ckpt_dir: str, epoch: int, epoch_iter: int) -> None:
    """The reference's iter.txt: the epoch, then images seen in it."""
    atomic_write_text(f"{epoch}\n{epoch_iter}\n", os.path.join(ckpt_dir, "iter.txt"))


def read_iter(ckpt_dir: str) -> tuple[int, int]:
    path = os.path.join(ckpt_dir, "iter.txt")
    with open(path, encoding="utf-8") as f:
        values = [int(float(v)) for v in f.read().replace(",", "\n").split()]
    if len(values) != 2:
        raise ValueError(f"{path}: expected two numbers (epoch, images seen), found {values}")
    return values[0], values[1]


def save_training_state(ckpt_dir: str, label, nets: dict, optim_state: dict | None,
                        epoch: int, epoch_iter: int) -> None:
    """Networks, then optimizer state, then iter.txt last: iter.txt names a
    position only once everything it describes is on disk."""
    save_networks(ckpt_dir, label, nets)
    if optim_state is not None:
        atomic_save(optim_state, optim_path(ckpt_dir))
        write_iter(ckpt_dir, epoch, epoch_iter)


def load_checkpoint(ckpt_dir: str, epoch: str = "latest"):
    """(opt, generator, encoder or None) in eval mode from a reference
    checkpoint folder, loaded strictly."""
    opt = options.load_opt(os.path.join(ckpt_dir, "opt.txt"))
    g_state = load_state(net_path(ckpt_dir, epoch, "G"))
    # The references hard-code the SPADE hidden width to 128; other models
    # differ, and the weights always say so.
    first_block = "body.0" if opt.netG == "oasis" else "head_0"
    opt.spade_hidden = g_state[f"{first_block}.norm_0.mlp_shared.0.weight"].shape[0]
    generator, encoder = networks.build_from_opt(opt)
    generator.load_state_dict(g_state, strict=True)
    generator.eval()
    if encoder is not None:
        encoder.load_state_dict(load_state(net_path(ckpt_dir, epoch, "E")), strict=True)
        encoder.eval()
    return opt, generator, encoder
