"""OASIS's generator (boschresearch/OASIS, "You Only Need Adversarial
Supervision for Semantic Image Synthesis"), written from its published
architecture with `state_dict()` keys equal to OASIS's checkpoints: six SPADE
ResNet blocks conditioned on noise and one-hot labels together, noise
channels first, starting from the conditioning map resized to 1/32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import (DEFAULT_SPADE_HIDDEN, LRELU_SLOPE, PARAM_FREE_NORMS, SPADEResnetBlock,
                     SpadeBlockSpec)

# Block i maps CHANNELS[i]·channels_G to CHANNELS[i+1]·channels_G; OASIS's
# conv_img takes the last, so its num_res_blocks can only be six.
CHANNELS = (16, 16, 16, 8, 4, 2, 1)
NUM_RES_BLOCKS = len(CHANNELS) - 1
# Nearest ×2 upsampling after every block but the last.
DOWNSCALE = 2 ** (NUM_RES_BLOCKS - 1)
DEFAULT_Z_DIM = 64  # OASIS's default


@dataclass(frozen=True)
class OasisConfig:
    """OASIS's generator options (its flag names) that shape the weights."""

    semantic_nc: int  # one-hot channels, not counting the noise
    z_dim: int = DEFAULT_Z_DIM  # 0: no noise (OASIS's --no_3dnoise)
    channels_G: int = 64
    spade_ks: int = 3
    param_free_norm: str = "syncbatch"
    spectral: bool = True  # OASIS's --no_spectral_norm, negated
    spade_hidden: int = DEFAULT_SPADE_HIDDEN  # hard-coded 128 in OASIS

    def __post_init__(self):
        for name in ("semantic_nc", "channels_G", "spade_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"OASIS {name} must be at least 1, not {getattr(self, name)}")
        if self.z_dim < 0:
            raise ValueError(f"OASIS z_dim must be 0 (no noise) or more, not {self.z_dim}")
        if self.param_free_norm not in PARAM_FREE_NORMS:
            raise ValueError(f"OASIS param_free_norm {self.param_free_norm!r}: expected one of "
                             f"{', '.join(PARAM_FREE_NORMS)}")

    @property
    def cond_nc(self) -> int:
        """Channels of the map the first layer and every SPADE layer see."""
        return self.z_dim + self.semantic_nc


class OasisGenerator(nn.Module):
    """`forward(seg, noise)`: seg is the (N, semantic_nc, H, W) one-hot map, H
    and W multiples of 32; noise is None (drawn N(0, 1) per image, as OASIS
    does), an (N, z_dim) vector broadcast over the image, or an
    (N, z_dim, H, W) map. The first layer works at (H/32, W/32), which at
    the training size is OASIS's crop_size rule."""

    def __init__(self, config: OasisConfig):
        super().__init__()
        self.config = config
        widths = [m * config.channels_G for m in CHANNELS]
        spec = SpadeBlockSpec(cond_nc=config.cond_nc, param_free_norm=config.param_free_norm,
                              kernel=config.spade_ks, hidden=config.spade_hidden,
                              spectral=config.spectral, norm_name="first_norm")
        # Registered in OASIS's order, so that state_dict() lists its keys in the
        # order of OASIS's checkpoints.
        self.conv_img = nn.Conv2d(widths[-1], 3, 3, padding=1)
        self.body = nn.ModuleList(SPADEResnetBlock(widths[i], widths[i + 1], spec)
                                  for i in range(NUM_RES_BLOCKS))
        self.fc = nn.Conv2d(config.cond_nc, widths[0], 3, padding=1)

    def conditioning(self, seg: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """Noise channels, then the one-hot map: what every layer sees."""
        n, channels, h, w = seg.shape
        z_dim = self.config.z_dim
        if channels != self.config.semantic_nc:
            raise ValueError(f"the semantic map has {channels} channels; this generator takes "
                             f"{self.config.semantic_nc}")
        if z_dim == 0:
            if noise is not None:
                raise ValueError("this generator takes no noise (z_dim 0, no_3dnoise)")
            return seg
        if noise is None:
            noise = torch.randn(n, z_dim, device=seg.device, dtype=seg.dtype)
        if noise.dim() == 2 and noise.shape == (n, z_dim):
            noise = noise.view(n, z_dim, 1, 1).expand(n, z_dim, h, w)
        elif noise.shape != (n, z_dim, h, w):
            raise ValueError(f"noise of shape {tuple(noise.shape)}: expected ({n}, {z_dim}) or "
                             f"({n}, {z_dim}, {h}, {w})")
        return torch.cat([noise.to(seg.dtype), seg], dim=1)

    def forward(self, seg: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        h, w = seg.shape[2:]
        if h % DOWNSCALE or w % DOWNSCALE or h == 0 or w == 0:
            raise ValueError(f"a {w}×{h} map: OASIS's generator makes sizes that are "
                             f"multiples of {DOWNSCALE}")
        cond = self.conditioning(seg, noise)
        x = self.fc(F.interpolate(cond, size=(h // DOWNSCALE, w // DOWNSCALE), mode="nearest"))
        for i, block in enumerate(self.body):
            x = block(x, cond)
            if i < NUM_RES_BLOCKS - 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.conv_img(F.leaky_relu(x, LRELU_SLOPE)))
