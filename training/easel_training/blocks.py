"""The SPADE layer and the SPADE ResNet block, shared by both generator
families: SPADE's generator conditions them on the one-hot map, OASIS's on
noise and one-hot together, and the two name the parameter-free norm
differently in their state dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

LRELU_SLOPE = 0.2
DEFAULT_SPADE_HIDDEN = 128  # hard-coded in both references
PARAM_FREE_NORMS = ("batch", "syncbatch", "instance")


@dataclass(frozen=True)
class SpadeBlockSpec:
    """What every SPADE ResNet block of a generator shares."""

    cond_nc: int  # channels of the conditioning map
    param_free_norm: str  # one of PARAM_FREE_NORMS
    kernel: int  # the SPADE convolutions' kernel size
    hidden: int = DEFAULT_SPADE_HIDDEN
    spectral: bool = True  # spectral norm on conv_0, conv_1, conv_s
    norm_name: str = "param_free_norm"  # SPADE's name; OASIS says first_norm

    def __post_init__(self):
        if self.param_free_norm not in PARAM_FREE_NORMS:
            raise ValueError(f"param-free norm {self.param_free_norm!r}: expected one of "
                             f"{', '.join(PARAM_FREE_NORMS)}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"SPADE kernel {self.kernel}: expected an odd size (1, 3, 5 …)")


def param_free_norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    # syncbatch keeps the same state-dict entries as batch; on one device the
    # two compute the same thing (the trainer converts it for DDP on GPUs).
    return nn.BatchNorm2d(channels, affine=False)


class SPADE(nn.Module):
    def __init__(self, norm_nc: int, spec: SpadeBlockSpec):
        super().__init__()
        pad = spec.kernel // 2
        self.norm_name = spec.norm_name
        self.add_module(spec.norm_name, param_free_norm(spec.param_free_norm, norm_nc))
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(spec.cond_nc, spec.hidden, spec.kernel, padding=pad), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(spec.hidden, norm_nc, spec.kernel, padding=pad)
        self.mlp_beta = nn.Conv2d(spec.hidden, norm_nc, spec.kernel, padding=pad)

    def forward(self, x, cond):
        # Legacy `nearest` (source index floor(dst · in / out)), as both references resize.
        cond = F.interpolate(cond, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(cond)
        normalized = getattr(self, self.norm_name)(x)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, spec: SpadeBlockSpec):
        super().__init__()
        wrap = spectral_norm if spec.spectral else (lambda m: m)
        fmiddle = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = wrap(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = wrap(nn.Conv2d(fmiddle, fout, 3, padding=1))
        if self.learned_shortcut:
            self.conv_s = wrap(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0 = SPADE(fin, spec)
        self.norm_1 = SPADE(fmiddle, spec)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, spec)

    def forward(self, x, cond):
        x_s = self.conv_s(self.norm_s(x, cond)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, cond), LRELU_SLOPE))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, cond), LRELU_SLOPE))
        return x_s + dx
