"""Multiply-accumulates of an OASIS-family generator at a size, counted from
its convolutions (everything else is small beside them), with its
parameters: what the default model and a distilled student cost.

  PYTHONPATH=training .venv-train/bin/python bench/gmac.py [--ngf 16] [--spade_hidden 32] \\
      [--spade_ks 3] [--z_dim 16] [--label_nc 12] [--size 256]
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from easel_training.oasis import OasisConfig, OasisGenerator


def count(config: OasisConfig, size: int) -> tuple[float, float]:
    """(GMAC, million parameters) of one image of size×size."""
    generator = OasisGenerator(config).eval()
    macs = [0]

    def conv(module, _inputs, output):
        k = module.kernel_size[0] * module.kernel_size[1]
        macs[0] += output[0].numel() * module.in_channels // module.groups * k

    for m in generator.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv)
    with torch.no_grad():
        generator(torch.zeros(1, config.semantic_nc, size, size),
                  torch.zeros(1, config.z_dim) if config.z_dim else None)
    return macs[0] / 1e9, sum(p.numel() for p in generator.parameters()) / 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ngf", type=int, default=16)
    p.add_argument("--spade_hidden", type=int, default=32)
    p.add_argument("--spade_ks", type=int, default=3)
    p.add_argument("--z_dim", type=int, default=16)
    p.add_argument("--label_nc", type=int, default=12)
    p.add_argument("--size", type=int, default=256)
    a = p.parse_args()
    config = OasisConfig(semantic_nc=a.label_nc, z_dim=a.z_dim, channels_G=a.ngf,
                         spade_hidden=a.spade_hidden, spade_ks=a.spade_ks,
                         param_free_norm="batch")
    gmac, params = count(config, a.size)
    print(f"{gmac:.2f} GMAC at {a.size}², {params:.2f} M parameters")


if __name__ == "__main__":
    main()
