"""easel-training: a PyTorch SPADE (GauGAN) trainer for the reference's custom
dataset layout, whose checkpoints `easel import` turns into model packages;
plus a small segmenter to score generated images the way the SPADE paper does."""

__version__ = "0.1.0"
