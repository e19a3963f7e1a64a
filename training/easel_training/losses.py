"""SPADE's objectives: hinge GAN loss averaged over the discriminator scales,
discriminator feature matching, the VGG19 perceptual loss, and the VAE's KL
divergence. Discriminator outputs are, per scale, a list of feature maps
whose last entry is the patch logits.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from . import networks


def hinge_d_loss(pred_real, pred_fake) -> tuple[torch.Tensor, torch.Tensor]:
    """(real term, fake term), each averaged over scales."""
    real = sum(F.relu(1.0 - p[-1].float()).mean() for p in pred_real) / len(pred_real)
    fake = sum(F.relu(1.0 + p[-1].float()).mean() for p in pred_fake) / len(pred_fake)
    return real, fake


def hinge_g_loss(pred_fake) -> torch.Tensor:
    return sum(-p[-1].float().mean() for p in pred_fake) / len(pred_fake)


def feature_matching_loss(pred_fake, pred_real, weight: float) -> torch.Tensor:
    """L1 between the discriminator's intermediate features of fake and real
    (not the logits), `weight`/num_D per layer."""
    total = pred_fake[0][0].new_zeros((), dtype=torch.float32)
    for fake, real in zip(pred_fake, pred_real):
        for f, r in zip(fake[:-1], real[:-1]):
            total = total + F.l1_loss(f.float(), r.detach().float()) * (weight / len(pred_fake))
    return total


def kld_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


class VGGLoss(torch.nn.Module):
    """Weighted L1 between VGG19 features of fake and real, fed the [-1, 1]
    images as they are (as the reference does)."""

    def __init__(self, weights_path: str):
        super().__init__()
        self.vgg = networks.VGG19Features()
        load_vgg19(self.vgg, weights_path)
        self.vgg.eval()

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: never in training mode

    def forward(self, fake, real):
        fake_f, real_f = self.vgg(fake), self.vgg(real)
        total = fake.new_zeros((), dtype=torch.float32)
        for w, f, r in zip(networks.VGG_TAP_WEIGHTS, fake_f, real_f):
            total = total + w * F.l1_loss(f.float(), r.detach().float())
        return total


def load_vgg19(vgg: networks.VGG19Features, path: str) -> None:
    """Load torchvision vgg19 weights (whole model or just `features`)."""
    if not os.path.isfile(path):
        raise ValueError(f"--vgg_weights {path} is not a file")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    wanted = vgg.state_dict()
    if not any(k.startswith("features.") for k in state):
        state = {f"features.{k}": v for k, v in state.items()}
    picked = {k: state[k] for k in wanted if k in state}
    missing = sorted(set(wanted) - set(picked))
    wrong = [k for k in picked if picked[k].shape != wanted[k].shape]
    if missing or wrong:
        raise ValueError(f"--vgg_weights {path} is not a torchvision vgg19 state dict: "
                         f"missing {missing[:4]}{'…' if len(missing) > 4 else ''}, "
                         f"wrong shapes {wrong[:4]}")
    vgg.load_state_dict(picked, strict=True)
