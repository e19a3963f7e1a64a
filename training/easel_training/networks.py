"""SPADE (GauGAN) networks written from the published architecture, with
`state_dict()` keys and shapes equal to those of the reference checkpoints:
generator, style encoder, multiscale patch discriminator, and the VGG19
feature extractor of the perceptual loss. Also owns the generator's input
convention (label maps to one-hot, instance maps to edges) and which
generator family (`netG`: SPADE's or OASIS's) a run builds.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from .blocks import DEFAULT_SPADE_HIDDEN, LRELU_SLOPE, SPADEResnetBlock, SpadeBlockSpec
from .oasis import OasisConfig, OasisGenerator

ENCODER_LATENT = 256  # the reference encoder's fc_mu/fc_var width is fixed, not z_dim
UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}


def semantic_nc(opt) -> int:
    """Channels of the semantic map: classes, dontcare, instance edges (never
    noise, which the OASIS family adds itself)."""
    return opt.label_nc + int(opt.contain_dontcare_label) + int(not opt.no_instance)


def spade_hidden(opt) -> int:
    return getattr(opt, "spade_hidden", DEFAULT_SPADE_HIDDEN)


# ---------------------------------------------------------------- inputs

def one_hot(label: torch.Tensor, opt) -> torch.Tensor:
    """(N,H,W) integer class map → (N, label_nc [+1 dontcare], H, W) float.
    Raw dontcare pixels (255) become class label_nc."""
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


# ---------------------------------------------------------------- generator

def parse_spade_norm(norm_g: str):
    """'spectralspadesyncbatch3x3' → (spectral=True, 'syncbatch', 3)."""
    m = re.fullmatch(r"(spectral)?spade(instance|batch|syncbatch)(\d+)x(\d+)", norm_g)
    if m is None or m.group(3) != m.group(4):
        raise ValueError(f"unsupported norm_G {norm_g!r}: expected [spectral]spade"
                         "(instance|batch|syncbatch)KxK, e.g. spectralspadesyncbatch3x3")
    return m.group(1) is not None, m.group(2), int(m.group(3))


def format_spade_norm(spectral: bool, kind: str, kernel: int) -> str:
    """The inverse of parse_spade_norm."""
    return f"{'spectral' if spectral else ''}spade{kind}{kernel}x{kernel}"


def spade_block_spec(opt) -> SpadeBlockSpec:
    """The SPADE generator's block settings, from norm_G and spade_hidden."""
    spectral, kind, ks = parse_spade_norm(opt.norm_G)
    return SpadeBlockSpec(cond_nc=semantic_nc(opt), param_free_norm=kind, kernel=ks,
                          hidden=spade_hidden(opt), spectral=spectral)


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
        spec = spade_block_spec(opt)
        self.sh, self.sw = latent_size(opt)
        if opt.use_vae:
            self.fc = nn.Linear(opt.z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(semantic_nc(opt), 16 * nf, 3, padding=1)
        self.head_0 = SPADEResnetBlock(16 * nf, 16 * nf, spec)
        self.G_middle_0 = SPADEResnetBlock(16 * nf, 16 * nf, spec)
        self.G_middle_1 = SPADEResnetBlock(16 * nf, 16 * nf, spec)
        self.up_0 = SPADEResnetBlock(16 * nf, 8 * nf, spec)
        self.up_1 = SPADEResnetBlock(8 * nf, 4 * nf, spec)
        self.up_2 = SPADEResnetBlock(4 * nf, 2 * nf, spec)
        self.up_3 = SPADEResnetBlock(2 * nf, nf, spec)
        final_nc = nf
        if opt.num_upsampling_layers == "most":
            self.up_4 = SPADEResnetBlock(nf, nf // 2, spec)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)

    @staticmethod
    def up(x):
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, seg, z=None):
        mode = self.opt.num_upsampling_layers
        if self.opt.use_vae:
            if z is None:
                z = torch.randn(seg.shape[0], self.opt.z_dim, device=seg.device)
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


# ---------------------------------------------------------------- encoder, discriminator

def norm_conv(norm: str, conv: nn.Conv2d) -> nn.Module:
    """`conv` wrapped like the reference's non-SPADE norm layers (norm_E,
    norm_D): optional spectral norm, then instance / batch norm or none.
    With a norm after it the conv loses its bias, as in the reference."""
    sub = norm
    if norm.startswith("spectral"):
        conv = spectral_norm(conv)
        sub = norm[len("spectral"):]
    if sub in ("", "none"):
        return conv
    del conv.bias
    conv.register_parameter("bias", None)
    if sub == "instance":
        layer = nn.InstanceNorm2d(conv.out_channels, affine=False)
    elif sub in ("batch", "syncbatch"):
        layer = nn.BatchNorm2d(conv.out_channels, affine=True)
    else:
        raise ValueError(f"unsupported norm {norm!r}: expected [spectral](instance|batch|"
                         "syncbatch|none)")
    return nn.Sequential(conv, layer)


def encoder_latent(opt) -> int:
    """Width of the encoder's mu and logvar: the SPADE reference's fixed 256
    (its z_dim must equal it); for the OASIS family, z_dim, as its z is
    broadcast as the noise."""
    return opt.z_dim if opt.netG == "oasis" else ENCODER_LATENT


class ConvEncoder(nn.Module):
    """The VAE style encoder: image → (mu, logvar), each (N, encoder_latent)."""

    def __init__(self, opt):
        super().__init__()
        ndf = opt.ngf
        widths = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf]
        # The reference drops a layer below crop 256, where its fc no longer
        # fits the 256×256 input it resizes to; the OASIS family (free sizes,
        # z broadcast) always keeps the six that fit, as easel imports.
        if opt.crop_size >= 256 or opt.netG == "oasis":
            widths.append(8 * ndf)
        self.num_layers = len(widths) - 1
        for i in range(self.num_layers):
            conv = nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1)
            setattr(self, f"layer{i + 1}", norm_conv(opt.norm_E, conv))
        self.fc_mu = nn.Linear(ndf * 8 * 4 * 4, encoder_latent(opt))
        self.fc_var = nn.Linear(ndf * 8 * 4 * 4, encoder_latent(opt))

    def forward(self, x):
        if x.shape[2] != 256 or x.shape[3] != 256:
            x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
        x = self.layer1(x)
        for i in range(2, self.num_layers + 1):
            x = getattr(self, f"layer{i}")(F.leaky_relu(x, LRELU_SLOPE))
        x = F.leaky_relu(x, LRELU_SLOPE).flatten(1)
        return self.fc_mu(x), self.fc_var(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN: k4 convs, stride 2 except the last two, width doubling up
    to 512. Children `model0` … `model{n+1}` so that every intermediate
    feature map is available for the feature-matching loss."""

    def __init__(self, opt, input_nc: int):
        super().__init__()
        nf = opt.ndf
        layers = [nn.Sequential(nn.Conv2d(input_nc, nf, 4, stride=2, padding=2),
                                nn.LeakyReLU(LRELU_SLOPE))]
        for n in range(1, opt.n_layers_D):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == opt.n_layers_D - 1 else 2
            conv = nn.Conv2d(nf_prev, nf, 4, stride=stride, padding=2)
            layers.append(nn.Sequential(norm_conv(opt.norm_D, conv), nn.LeakyReLU(LRELU_SLOPE)))
        layers.append(nn.Sequential(nn.Conv2d(nf, 1, 4, stride=1, padding=2)))
        for i, layer in enumerate(layers):
            self.add_module(f"model{i}", layer)

    def forward(self, x):
        features = []
        for layer in self.children():
            x = layer(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Module):
    """`num_D` patch discriminators on the input at full, half, quarter …
    resolution. Returns, per discriminator, its list of feature maps, the
    last being the patch logits."""

    def __init__(self, opt):
        super().__init__()
        input_nc = semantic_nc(opt) + 3
        for i in range(opt.num_D):
            self.add_module(f"discriminator_{i}", NLayerDiscriminator(opt, input_nc))

    def forward(self, x):
        results = []
        for d in self.children():
            results.append(d(x))
            x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return results


# torchvision's vgg19().features: conv widths, "M" = max-pool.
_VGG19_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
# Feature taps after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (indices in
# `features`), and the perceptual loss's weight for each.
VGG_TAPS = (1, 6, 11, 20, 29)
VGG_TAP_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)


class VGG19Features(nn.Module):
    """VGG19's convolutional part up to relu5_1, laid out like torchvision's
    `vgg19().features` so that its state dict loads. Frozen."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in _VGG19_LAYOUT:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers[:VGG_TAPS[-1] + 1])
        self.requires_grad_(False)

    def forward(self, x):
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_TAPS:
                taps.append(x)
        return taps


# ---------------------------------------------------------------- construction

GENERATOR_FAMILIES = ("spade", "oasis")


def oasis_config(opt) -> OasisConfig:
    """The OASIS generator these options describe: channels_G is ngf, the
    norm and spectral norm come from norm_G, as for SPADE."""
    spectral, kind, ks = parse_spade_norm(opt.norm_G)
    return OasisConfig(semantic_nc=semantic_nc(opt), z_dim=opt.z_dim, channels_G=opt.ngf,
                       spade_ks=ks, param_free_norm=kind, spectral=spectral,
                       spade_hidden=spade_hidden(opt))


def build_from_opt(opt):
    """(generator, encoder or None), untrained, of the family `opt.netG` names."""
    encoder = ConvEncoder(opt) if opt.use_vae else None
    if opt.netG == "oasis":
        return OasisGenerator(oasis_config(opt)), encoder
    return SPADEGenerator(opt), encoder


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
