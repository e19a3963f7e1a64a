"""Training options: the reference's flags for its `custom` dataset mode (same
names, same defaults), their validation, and `opt.txt`, the record of a run
in the reference's format that `easel import` reads.
"""

from __future__ import annotations

import argparse
import os
from types import SimpleNamespace

from . import networks, oasis

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop",
                    "fixed", "none")

# Defaults of the reference's train options (custom dataset mode) for the keys
# we write; a key whose value differs gets the reference's `[default: ...]`
# comment in opt.txt.
REFERENCE_DEFAULTS = {
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

# The reference's custom dataset mode adds these.
CUSTOM_MODE_DEFAULTS = {"label_dir": None, "image_dir": None, "instance_dir": ""}

# Options of ours, not the reference's.
EASEL_DEFAULTS = {
    "spade_hidden": networks.DEFAULT_SPADE_HIDDEN, "bf16": False, "vgg_weights": None,
    "seed": 0, "spade_ks": 3, "max_minutes": 0.0, "ema": 0.0,
    "teacher": "", "distill_cache": "", "lambda_l1": 10.0,
}

# Flags whose default depends on the generator family (--netG): the parser
# leaves them None and `finalize` fills them in.
FAMILY_DEFAULTS = {
    "spade": {"z_dim": REFERENCE_DEFAULTS["z_dim"]},
    "oasis": {"z_dim": oasis.DEFAULT_Z_DIM},
}

# What a run of this trainer is, in the reference's words; written to opt.txt.
FIXED = {
    "dataset_mode": "custom", "isTrain": True, "model": "pix2pix",
    "netD": "multiscale", "netD_subarch": "n_layer", "gan_mode": "hinge",
    "init_type": "xavier", "init_variance": 0.02, "optimizer": "adam", "output_nc": 3,
    "phase": "train", "D_steps_per_G": 1,
}

DEFAULTS = {**REFERENCE_DEFAULTS, **CUSTOM_MODE_DEFAULTS, **EASEL_DEFAULTS}


class OptionError(ValueError):
    """A flag (or combination) that cannot work; the message names the flag."""


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    g = p.add_argument_group("experiment")
    g.add_argument("--name", default=d["name"],
                   help="run name: checkpoints go to <checkpoints_dir>/<name>/")
    g.add_argument("--checkpoints_dir", default=d["checkpoints_dir"])
    g.add_argument("--gpu_ids", default=d["gpu_ids"],
                   help="CUDA device for a single process, e.g. 0; -1 for the CPU (also used "
                        "when CUDA is absent). For several GPUs launch with torchrun.")
    g.add_argument("--seed", type=int, default=d["seed"],
                   help="seeds weights, shuffling, crops and flips")
    g.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the networks")

    g = p.add_argument_group("dataset (the reference's custom mode)")
    g.add_argument("--label_dir", default=d["label_dir"],
                   help="8-bit PNG label maps of class indices (required)")
    g.add_argument("--image_dir", default=d["image_dir"],
                   help="real photos, paired with labels by file name stem (required)")
    g.add_argument("--instance_dir", default=d["instance_dir"],
                   help="instance id maps, paired by stem (needed unless --no_instance)")
    g.add_argument("--label_nc", type=int, default=d["label_nc"],
                   help="number of classes, not counting dontcare")
    g.add_argument("--contain_dontcare_label", action="store_true",
                   help="label value 255 is an extra 'dontcare' class (index label_nc)")
    g.add_argument("--no_instance", action="store_true", help="train without instance maps")
    g.add_argument("--preprocess_mode", default=d["preprocess_mode"], choices=PREPROCESS_MODES)
    g.add_argument("--load_size", type=int, default=d["load_size"],
                   help="resize (or scale the width) to this before cropping")
    g.add_argument("--crop_size", type=int, default=d["crop_size"],
                   help="training crop; with aspect_ratio, the generator's native size")
    g.add_argument("--aspect_ratio", type=float, default=d["aspect_ratio"],
                   help="width / height of the generated image")
    g.add_argument("--no_flip", action="store_true", help="no random horizontal flips")
    g.add_argument("--serial_batches", action="store_true", help="no shuffling")
    g.add_argument("--nThreads", type=int, default=d["nThreads"],
                   help="data loading worker processes")
    g.add_argument("--max_dataset_size", type=int, default=d["max_dataset_size"],
                   help="use only the first N pairs (sorted by name)")
    g.add_argument("--batchSize", type=int, default=d["batchSize"],
                   help="images per step, over all processes")

    g = p.add_argument_group("networks")
    g.add_argument("--netG", default=d["netG"], choices=networks.GENERATOR_FAMILIES,
                   help="generator family: SPADE's, or OASIS's (noise channels before the "
                        "one-hot map; needs --no_instance)")
    g.add_argument("--ngf", type=int, default=d["ngf"],
                   help="generator width (OASIS's channels_G: its first block has 16·ngf)")
    g.add_argument("--spade_hidden", type=int, default=d["spade_hidden"],
                   help="SPADE hidden width (128 in the reference; not a reference flag)")
    g.add_argument("--norm_G", default=None,
                   help=f"[spectral]spade(instance|batch|syncbatch)KxK (default {d['norm_G']}); "
                        "for OASIS too, where it sets param_free_norm and spectral norm")
    g.add_argument("--spade_ks", type=int, default=None,
                   help="SPADE kernel size: the KxK of norm_G (default 3; OASIS's flag)")
    g.add_argument("--num_upsampling_layers", default=d["num_upsampling_layers"],
                   choices=tuple(networks.UPSAMPLINGS))
    g.add_argument("--ndf", type=int, default=d["ndf"], help="discriminator width")
    g.add_argument("--num_D", type=int, default=d["num_D"], help="discriminator scales")
    g.add_argument("--n_layers_D", type=int, default=d["n_layers_D"])
    g.add_argument("--norm_D", default=d["norm_D"])
    g.add_argument("--use_vae", action="store_true",
                   help="train the style encoder too (OASIS: its z, broadcast, is the noise)")
    g.add_argument("--z_dim", type=int, default=None,
                   help=f"style vector (SPADE with --use_vae, default {d['z_dim']}) or noise "
                        f"channels (OASIS, default {oasis.DEFAULT_Z_DIM}; 0 for none)")
    g.add_argument("--norm_E", default=d["norm_E"])

    g = p.add_argument_group("losses and optimisation")
    g.add_argument("--lambda_feat", type=float, default=d["lambda_feat"])
    g.add_argument("--lambda_vgg", type=float, default=d["lambda_vgg"])
    g.add_argument("--lambda_kld", type=float, default=d["lambda_kld"])
    g.add_argument("--no_ganFeat_loss", action="store_true")
    g.add_argument("--no_vgg_loss", action="store_true")
    g.add_argument("--vgg_weights", default=d["vgg_weights"], metavar="PATH",
                   help="torchvision VGG19 state dict for the VGG loss (nothing is downloaded)")
    g.add_argument("--lr", type=float, default=d["lr"])
    g.add_argument("--beta1", type=float, default=d["beta1"],
                   help="Adam beta1 with --no_TTUR (TTUR uses 0)")
    g.add_argument("--beta2", type=float, default=d["beta2"],
                   help="Adam beta2 with --no_TTUR (TTUR uses 0.9)")
    g.add_argument("--no_TTUR", action="store_true",
                   help="same lr for G and D (TTUR: G lr/2, D lr*2)")
    g.add_argument("--niter", type=int, default=d["niter"], help="epochs at the initial lr")
    g.add_argument("--niter_decay", type=int, default=d["niter_decay"],
                   help="epochs of linear decay to zero after niter")
    g.add_argument("--ema", type=float, default=d["ema"], metavar="DECAY",
                   help="also keep an exponential moving average of the generator's and "
                        "encoder's weights (e.g. 0.999 per step), saved as "
                        "<label>_net_{G,E}_ema.pth: the average of a GAN's oscillating "
                        "weights makes steadier images than the last step's (0: off)")

    g = p.add_argument_group("distillation (a lighter student of a trained teacher)")
    g.add_argument("--teacher", default=d["teacher"], metavar="RUN",
                   help="the teacher's run folder (latest_net_{G,D,E}.pth): the student starts "
                        "from every weight of the same shape, its discriminator and its frozen "
                        "style encoder, and learns the images of --distill_cache")
    g.add_argument("--distill_cache", default=d["distill_cache"], metavar="DIR",
                   help="the teacher's image and z of every training map, from "
                        "`python -m easel_training distill-cache`")
    g.add_argument("--lambda_l1", type=float, default=d["lambda_l1"],
                   help="weight of the L1 distance to the teacher's image")

    g = p.add_argument_group("checkpoints and display")
    g.add_argument("--save_latest_freq", type=int, default=d["save_latest_freq"],
                   help="save latest_* every N images seen")
    g.add_argument("--save_epoch_freq", type=int, default=d["save_epoch_freq"],
                   help="keep <epoch>_net_*.pth every N epochs")
    g.add_argument("--continue_train", action="store_true",
                   help="resume from <which_epoch> with iter.txt and the optimizer state")
    g.add_argument("--which_epoch", default=d["which_epoch"])
    g.add_argument("--display_freq", type=int, default=d["display_freq"],
                   help="add samples to web/index.html every N images seen")
    g.add_argument("--print_freq", type=int, default=d["print_freq"],
                   help="print losses every N images seen")
    g.add_argument("--max_minutes", type=float, default=d["max_minutes"],
                   help="stop after this much training time, saving latest to resume from "
                        "with --continue_train (0: no limit)")


def finalize(args: argparse.Namespace) -> SimpleNamespace:
    """Parsed flags → the options of a run, validated."""
    opt = SimpleNamespace(**vars(args))
    opt.__dict__.pop("command", None)
    opt.__dict__.update(FIXED)
    opt.display_winsize = opt.crop_size
    resolve_family_defaults(opt)
    validate(opt)
    return opt


def resolve_family_defaults(opt) -> None:
    """Fill in z_dim for the family, and make norm_G and spade_ks agree: the
    kernel is norm_G's KxK, which --spade_ks sets."""
    for key, value in FAMILY_DEFAULTS[opt.netG].items():
        if getattr(opt, key) is None:
            setattr(opt, key, value)
    norm_g = opt.norm_G or DEFAULTS["norm_G"]
    try:
        spectral, kind, kernel = networks.parse_spade_norm(norm_g)
    except ValueError as e:
        raise OptionError(str(e)) from None
    if opt.spade_ks is not None:
        if opt.norm_G is not None and opt.spade_ks != kernel:
            raise OptionError(f"--spade_ks {opt.spade_ks} contradicts --norm_G {opt.norm_G} "
                              f"({kernel}x{kernel}); give one of them")
        kernel = opt.spade_ks
    opt.norm_G = networks.format_spade_norm(spectral, kind, kernel)
    opt.spade_ks = kernel


def validate(opt) -> None:
    def need(cond, msg):
        if not cond:
            raise OptionError(msg)

    need(opt.label_dir, "--label_dir is required: the folder of label maps")
    need(opt.image_dir, "--image_dir is required: the folder of real images")
    for flag in ("label_dir", "image_dir"):
        need(os.path.isdir(getattr(opt, flag)), f"--{flag} {getattr(opt, flag)} is not a folder")
    if opt.netG == "oasis":
        validate_oasis(opt)
    if not opt.no_instance:
        need(opt.instance_dir, "--instance_dir is required unless --no_instance is given")
        need(os.path.isdir(opt.instance_dir), f"--instance_dir {opt.instance_dir} is not a folder")
    need(1 <= opt.label_nc <= 255 - int(opt.contain_dontcare_label),
         f"--label_nc {opt.label_nc}: label maps are 8-bit, so 1 to 255 classes "
         "(254 with --contain_dontcare_label, whose 255 is dontcare)")
    for flag in ("batchSize", "ngf", "ndf", "spade_hidden", "num_D", "n_layers_D", "crop_size",
                 "load_size", "save_latest_freq", "save_epoch_freq", "display_freq",
                 "print_freq", "max_dataset_size"):
        need(getattr(opt, flag) >= 1, f"--{flag} must be at least 1")
    need(opt.niter >= 1 and opt.niter_decay >= 0,
         "--niter must be at least 1 and --niter_decay at least 0")
    need(opt.nThreads >= 0, "--nThreads must be 0 or more")
    need(bool(opt.teacher) == bool(opt.distill_cache),
         "--teacher and --distill_cache go together: the teacher's run, and its images of "
         "the training maps (python -m easel_training distill-cache)")
    for flag in ("teacher", "distill_cache"):
        need(not getattr(opt, flag) or os.path.isdir(getattr(opt, flag)),
             f"--{flag} {getattr(opt, flag)} is not a folder")
    need(not opt.teacher or opt.use_vae,
         "--teacher: the student learns the teacher's images for given styles z, so it needs "
         "--use_vae (and the teacher a style encoder)")
    need(0 <= opt.ema < 1, f"--ema {opt.ema}: the average's decay per step, 0 (off) up to "
         "but not including 1 (0.999 averages over about the last thousand steps)")
    need(opt.which_epoch == "latest" or str(opt.which_epoch).isdigit(),
         f"--which_epoch {opt.which_epoch}: expected latest or an epoch number")
    need(opt.aspect_ratio > 0, "--aspect_ratio must be positive")
    need(opt.spade_ks % 2 == 1,
         f"--spade_ks {opt.spade_ks} (norm_G {opt.norm_G}): SPADE kernels are odd (1, 3, 5 …) "
         "so that padding keeps the size")
    if opt.netG == "spade":
        need(opt.z_dim >= 1, "--z_dim must be at least 1")
    try:
        networks.latent_size(opt)
    except ValueError as e:
        raise OptionError(str(e)) from None
    for flag in ("norm_D", "norm_E"):
        value = getattr(opt, flag)
        need(value.removeprefix("spectral") in ("instance", "batch", "syncbatch", "none", ""),
             f"--{flag} {value!r}: expected [spectral](instance|batch|syncbatch|none)")
    if opt.use_vae and opt.netG == "spade":
        need(opt.z_dim == networks.ENCODER_LATENT,
             f"--z_dim {opt.z_dim} with --use_vae: the encoder's output is "
             f"{networks.ENCODER_LATENT} wide, so z_dim must be {networks.ENCODER_LATENT}")
    if opt.use_vae and opt.netG == "spade":
        need(opt.crop_size >= 256,
             f"--crop_size {opt.crop_size} with --use_vae: the reference encoder is only "
             "consistent for crop_size >= 256 (it has one layer fewer below that and its fc "
             "size no longer fits)")
    if not opt.no_vgg_loss:
        need(opt.vgg_weights,
             "the VGG loss is on by default and needs ImageNet VGG19 weights, which are not "
             "downloaded: pass --no_vgg_loss to train without it, or --vgg_weights PATH to a "
             "torchvision vgg19 state dict (e.g. vgg19-dcbb9e9d.pth)")
        need(os.path.isfile(opt.vgg_weights), f"--vgg_weights {opt.vgg_weights} is not a file")


def validate_oasis(opt) -> None:
    """What the OASIS family cannot do: instance maps, other depths."""
    if not opt.no_instance:
        raise OptionError("--netG oasis takes no instance maps (OASIS's generator has no edge "
                          "channel): pass --no_instance")
    if opt.num_upsampling_layers != "normal":
        raise OptionError(f"--num_upsampling_layers {opt.num_upsampling_layers} with --netG "
                          "oasis: OASIS's generator always upsamples five times (normal)")
    if opt.z_dim < 0 or (opt.use_vae and opt.z_dim < 1):
        raise OptionError(f"--z_dim {opt.z_dim} with --netG oasis: the noise channels, 0 "
                          "for none" + (", and at least 1 with --use_vae, whose z is the noise"
                                        if opt.use_vae else ""))


# ---------------------------------------------------------------- opt.txt

def make_opt(**overrides) -> SimpleNamespace:
    """Reference options (train defaults, CPU) with `overrides` applied, for
    building networks outside a training run. Without `spade_hidden` the
    networks use the reference's 128."""
    opt = dict(REFERENCE_DEFAULTS)
    opt.update(isTrain=True, gpu_ids="-1")
    opt.update(overrides)
    return SimpleNamespace(**opt)


def format_opt(opt) -> str:
    """The reference's opt.txt: sorted keys right-aligned to 25 characters,
    values padded to 30, then `\\t[default: x]` where the value differs."""
    lines = []
    for key, value in sorted(vars(opt).items()):
        if key.startswith("_"):
            continue
        comment = ""
        if key in DEFAULTS and value != DEFAULTS[key]:
            comment = f"\t[default: {DEFAULTS[key]}]"
        shown = "" if value is None and key == "instance_dir" else str(value)
        lines.append(f"{key:>25}: {shown:<30}{comment}\n")
    return "".join(lines)


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


def parse_opt(text: str) -> SimpleNamespace:
    """Parse a reference `opt.txt`: `<right-aligned key>: <value>` per line,
    optionally followed by `\\t[default: ...]`; header lines of dashes skipped."""
    opt = {}
    for line in text.splitlines():
        line = line.split("\t[default:")[0]
        key, sep, value = line.partition(":")
        if not sep or key.strip().startswith("-"):
            continue
        opt[key.strip()] = _parse_value(value.strip())
    return SimpleNamespace(**opt)


def load_opt(path: str) -> SimpleNamespace:
    with open(path, encoding="utf-8") as f:
        return parse_opt(f.read())
