"""Eager PyTorch SPADE (GauGAN) generator and style encoder, written from the
published architecture so that `state_dict()` keys and shapes equal those of
the reference checkpoints. Used as the timing baseline and to make fixtures.

Also owns the reference's input conventions: opt.txt parsing and writing,
label maps to one-hot, instance maps to edges.
"""

from __future__ import annotations

import os
import re
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

LRELU_SLOPE = 0.2
ENCODER_LATENT = 256  # the reference encoder's fc_mu/fc_var width is fixed, not z_dim
UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}


# ---------------------------------------------------------------- options

def _parse_value(text: str):
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def load_opt(path: str) -> SimpleNamespace:
    """Parse a reference `opt.txt`: `<right-aligned key>: <value>` per line,
    optionally followed by `\\t[default: ...]`."""
    opt = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("\t[default:")[0]
            key, sep, value = line.partition(":")
            if not sep or key.strip().startswith("-"):
                continue
            opt[key.strip()] = _parse_value(value.strip())
    return SimpleNamespace(**opt)


# Defaults of the reference's train options for the keys we write; a key whose
# value differs gets the reference's `[default: ...]` comment.
OPT_DEFAULTS = {
    "D_steps_per_G": 1, "aspect_ratio": 1.0, "batchSize": 1, "beta1": 0.0,
    "beta2": 0.9, "cache_filelist_read": False, "cache_filelist_write": False,
    "checkpoints_dir": "./checkpoints", "contain_dontcare_label": False,
    "continue_train": False, "crop_size": 256, "dataroot": "./datasets/cityscapes/",
    "dataset_mode": "coco", "debug": False, "display_freq": 100,
    "display_winsize": 256, "gan_mode": "hinge", "gpu_ids": "0",
    "init_type": "xavier", "init_variance": 0.02, "isTrain": None,
    "label_nc": 13, "lambda_feat": 10.0, "lambda_kld": 0.05, "lambda_vgg": 10.0,
    "load_from_opt_file": False, "load_size": 286, "lr": 0.0002,
    "max_dataset_size": 9223372036854775807, "model": "pix2pix", "nThreads": 0,
    "n_layers_D": 4, "name": "label2coco", "ndf": 64, "nef": 16,
    "netD": "multiscale", "netD_subarch": "n_layer", "netG": "spade", "ngf": 64,
    "niter": 50, "niter_decay": 0, "no_TTUR": False, "no_flip": False,
    "no_ganFeat_loss": False, "no_html": False, "no_instance": False,
    "no_pairing_check": False, "no_vgg_loss": False, "norm_D": "spectralinstance",
    "norm_E": "spectralinstance", "norm_G": "spectralspadesyncbatch3x3",
    "num_D": 2, "num_upsampling_layers": "normal", "optimizer": "adam",
    "output_nc": 3, "phase": "train", "preprocess_mode": "resize_and_crop",
    "print_freq": 100, "save_epoch_freq": 10, "save_latest_freq": 5000,
    "serial_batches": False, "tf_log": False, "use_vae": False,
    "which_epoch": "latest", "z_dim": 256,
}


def make_opt(**overrides) -> SimpleNamespace:
    """Reference options (train defaults) with `overrides` applied.

    `nhidden` is not a reference option (the reference hard-codes 128); it is
    kept on the namespace for building but never written to opt.txt."""
    opt = dict(OPT_DEFAULTS)
    opt.update(isTrain=True, gpu_ids="-1")
    opt.update(overrides)
    return SimpleNamespace(**opt)


def save_opt(opt: SimpleNamespace, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for key, value in sorted(vars(opt).items()):
            if key not in OPT_DEFAULTS:
                continue
            default = OPT_DEFAULTS[key]
            comment = "" if value == default else f"\t[default: {default}]"
            f.write(f"{key:>25}: {str(value):<30}{comment}\n")


def semantic_nc(opt) -> int:
    return opt.label_nc + int(opt.contain_dontcare_label) + int(not opt.no_instance)


# ---------------------------------------------------------------- inputs

def one_hot(label: torch.Tensor, opt) -> torch.Tensor:
    """(N,H,W) integer class map → (N, label_nc [+1 dontcare], H, W) float."""
    label = label.long()
    nc = opt.label_nc + int(opt.contain_dontcare_label)
    if opt.contain_dontcare_label:
        label = torch.where(label == 255, torch.full_like(label, opt.label_nc), label)
    out = torch.zeros(label.shape[0], nc, *label.shape[1:], dtype=torch.float32,
                      device=label.device)
    return out.scatter_(1, label.unsqueeze(1), 1.0)


def instance_edges(inst: torch.Tensor) -> torch.Tensor:
    """(N,H,W) instance ids → (N,1,H,W) float, 1 where a 4-neighbour differs."""
    edge = torch.zeros(inst.shape, dtype=torch.bool, device=inst.device)
    horiz = inst[:, :, 1:] != inst[:, :, :-1]
    vert = inst[:, 1:, :] != inst[:, :-1, :]
    edge[:, :, 1:] |= horiz
    edge[:, :, :-1] |= horiz
    edge[:, 1:, :] |= vert
    edge[:, :-1, :] |= vert
    return edge.float().unsqueeze(1)


def semantics(label: torch.Tensor, opt, inst: torch.Tensor | None = None) -> torch.Tensor:
    """The generator's input: one-hot labels, then the edge channel if used."""
    seg = one_hot(label, opt)
    if not opt.no_instance:
        if inst is None:
            raise ValueError("this model uses instance maps but none was given")
        seg = torch.cat([seg, instance_edges(inst)], dim=1)
    return seg


# ---------------------------------------------------------------- modules

def parse_spade_norm(norm_g: str):
    """'spectralspadesyncbatch3x3' → (spectral=True, 'syncbatch', 3)."""
    m = re.fullmatch(r"(spectral)?spade(instance|batch|syncbatch)(\d+)x(\d+)", norm_g)
    if m is None or m.group(3) != m.group(4):
        raise ValueError(f"unsupported norm_G {norm_g!r}")
    return m.group(1) is not None, m.group(2), int(m.group(3))


def _param_free_norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    # syncbatch keeps the same state-dict entries as batch; on one device the
    # two compute the same thing.
    return nn.BatchNorm2d(channels, affine=False)


class SPADE(nn.Module):
    def __init__(self, norm_nc: int, label_nc: int, ks: int, kind: str, nhidden: int = 128):
        super().__init__()
        pad = ks // 2
        self.param_free_norm = _param_free_norm(kind, norm_nc)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, nhidden, ks, padding=pad), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, ks, padding=pad)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, ks, padding=pad)

    def forward(self, x, seg):
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(seg)
        return self.param_free_norm(x) * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, opt):
        super().__init__()
        spectral, kind, ks = parse_spade_norm(opt.norm_G)
        nhidden = getattr(opt, "nhidden", 128)
        label_nc = semantic_nc(opt)
        wrap = spectral_norm if spectral else (lambda m: m)
        fmiddle = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = wrap(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = wrap(nn.Conv2d(fmiddle, fout, 3, padding=1))
        if self.learned_shortcut:
            self.conv_s = wrap(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0 = SPADE(fin, label_nc, ks, kind, nhidden)
        self.norm_1 = SPADE(fmiddle, label_nc, ks, kind, nhidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_nc, ks, kind, nhidden)

    def forward(self, x, seg):
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), LRELU_SLOPE))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), LRELU_SLOPE))
        return x_s + dx


def latent_size(opt):
    """(sh, sw): the spatial size the generator starts from."""
    sw = opt.crop_size // 2 ** UPSAMPLINGS[opt.num_upsampling_layers]
    sh = round(sw / opt.aspect_ratio)
    if sw < 1 or sh < 1:
        raise ValueError(f"crop_size {opt.crop_size} / aspect_ratio {opt.aspect_ratio} "
                         f"leave no latent grid with {opt.num_upsampling_layers} upsampling")
    return sh, sw


def output_size(opt):
    """(H, W) of the generated image."""
    sh, sw = latent_size(opt)
    scale = 2 ** UPSAMPLINGS[opt.num_upsampling_layers]
    return sh * scale, sw * scale


class SPADEGenerator(nn.Module):
    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        nf = opt.ngf
        self.sh, self.sw = latent_size(opt)
        if opt.use_vae:
            self.fc = nn.Linear(opt.z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(semantic_nc(opt), 16 * nf, 3, padding=1)
        self.head_0 = SPADEResnetBlock(16 * nf, 16 * nf, opt)
        self.G_middle_0 = SPADEResnetBlock(16 * nf, 16 * nf, opt)
        self.G_middle_1 = SPADEResnetBlock(16 * nf, 16 * nf, opt)
        self.up_0 = SPADEResnetBlock(16 * nf, 8 * nf, opt)
        self.up_1 = SPADEResnetBlock(8 * nf, 4 * nf, opt)
        self.up_2 = SPADEResnetBlock(4 * nf, 2 * nf, opt)
        self.up_3 = SPADEResnetBlock(2 * nf, nf, opt)
        final_nc = nf
        if opt.num_upsampling_layers == "most":
            self.up_4 = SPADEResnetBlock(nf, nf // 2, opt)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)

    @staticmethod
    def up(x):
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, seg, z=None):
        mode = self.opt.num_upsampling_layers
        if self.opt.use_vae:
            if z is None:
                raise ValueError("a use_vae generator needs z")
            x = self.fc(z).view(-1, 16 * self.opt.ngf, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(self.sh, self.sw), mode="nearest"))
        x = self.head_0(x, seg)
        x = self.up(x)
        x = self.G_middle_0(x, seg)
        if mode in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x, seg)
        for block in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = block(self.up(x), seg)
        if mode == "most":
            x = self.up_4(self.up(x), seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, LRELU_SLOPE)))


def _encoder_layer(norm_e: str, fin: int, fout: int) -> nn.Module:
    """Conv k3 s2 p1 wrapped like the reference's non-SPADE norm layers."""
    conv = nn.Conv2d(fin, fout, 3, stride=2, padding=1)
    sub = norm_e
    if norm_e.startswith("spectral"):
        conv = spectral_norm(conv)
        sub = norm_e[len("spectral"):]
    if sub in ("", "none"):
        return conv
    # A norm follows, so the conv's bias would be redundant.
    del conv.bias
    conv.register_parameter("bias", None)
    if sub == "instance":
        norm = nn.InstanceNorm2d(fout, affine=False)
    elif sub in ("batch", "syncbatch"):
        norm = nn.BatchNorm2d(fout, affine=True)
    else:
        raise ValueError(f"unsupported norm_E {norm_e!r}")
    return nn.Sequential(conv, norm)


class ConvEncoder(nn.Module):
    def __init__(self, opt):
        super().__init__()
        ndf = opt.ngf
        widths = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf]
        if opt.crop_size >= 256:
            widths.append(8 * ndf)
        self.num_layers = len(widths) - 1
        for i in range(self.num_layers):
            setattr(self, f"layer{i + 1}", _encoder_layer(opt.norm_E, widths[i], widths[i + 1]))
        self.fc_mu = nn.Linear(ndf * 8 * 4 * 4, ENCODER_LATENT)
        self.fc_var = nn.Linear(ndf * 8 * 4 * 4, ENCODER_LATENT)

    def forward(self, x):
        if x.shape[2] != 256 or x.shape[3] != 256:
            x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
        x = self.layer1(x)
        for i in range(2, self.num_layers + 1):
            x = getattr(self, f"layer{i}")(F.leaky_relu(x, LRELU_SLOPE))
        x = F.leaky_relu(x, LRELU_SLOPE).flatten(1)
        return self.fc_mu(x), self.fc_var(x)


# ---------------------------------------------------------------- checkpoints

def build_from_opt(opt):
    """(generator, encoder or None), untrained."""
    encoder = ConvEncoder(opt) if opt.use_vae else None
    return SPADEGenerator(opt), encoder


def _load(path: str):
    return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(ckpt_dir: str, epoch: str = "latest"):
    """(opt, generator, encoder or None) in eval mode from a reference
    checkpoint directory, loaded strictly."""
    opt = load_opt(os.path.join(ckpt_dir, "opt.txt"))
    g_state = _load(os.path.join(ckpt_dir, f"{epoch}_net_G.pth"))
    # The reference hard-codes nhidden = 128; smaller test models differ, and
    # only the weights say so.
    opt.nhidden = g_state["head_0.norm_0.mlp_shared.0.weight"].shape[0]
    generator, encoder = build_from_opt(opt)
    generator.load_state_dict(g_state, strict=True)
    generator.eval()
    if encoder is not None:
        encoder.load_state_dict(_load(os.path.join(ckpt_dir, f"{epoch}_net_E.pth")), strict=True)
        encoder.eval()
    return opt, generator, encoder


def xavier_init(module: nn.Module, gain: float = 1.0, bias_std: float = 0.0) -> None:
    """Xavier-normal weights like the reference's `init_type xavier`; affine
    batch-norm scales N(1, gain). The reference zeroes every bias; `bias_std`
    > 0 draws them N(0, bias_std) instead so that tests exercise them. Draws
    from the global RNG, so seed it for reproducible weights."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            weight = m.weight_orig if hasattr(m, "weight_orig") else m.weight
            nn.init.xavier_normal_(weight, gain=gain)
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, bias_std) if bias_std > 0 else nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.normal_(m.bias, 0.0, bias_std) if bias_std > 0 else nn.init.zeros_(m.bias)


def spectral_power_iteration(module: nn.Module, steps: int = 1) -> None:
    """Advance every spectral-norm u, v of `module` by `steps` power
    iterations, as that many training-mode forwards would, without touching
    anything else (batch-norm statistics stay as they are)."""
    with torch.no_grad():
        for m in module.modules():
            if hasattr(m, "weight_orig"):
                w = m.weight_orig.flatten(1)
                for _ in range(steps):
                    m.weight_v.copy_(F.normalize(torch.mv(w.t(), m.weight_u), dim=0, eps=1e-12))
                    m.weight_u.copy_(F.normalize(torch.mv(w, m.weight_v), dim=0, eps=1e-12))
