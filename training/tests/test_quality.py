"""The appearance figures: colour distance per class in Lab, sharpness and
streak ratios, on images whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from easel_training import quality


def test_lab_of_known_colours():
    lab = quality.srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    assert lab[0] == pytest.approx([100, 0, 0], abs=0.05)
    assert lab[1] == pytest.approx([0, 0, 0], abs=0.05)
    assert lab[2] == pytest.approx([53.24, 80.09, 67.20], abs=0.1)


def scene(rng):
    label = np.zeros((32, 32), np.int64)
    label[16:] = 1
    real = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    return label, real


def test_identical_images_score_as_the_photos():
    rng = np.random.default_rng(0)
    label, real = scene(rng)
    a = quality.Appearance(2)
    a.add(label, real, real.copy())
    r = a.result(["sky", "grass"])
    assert r["colour_delta_e"] == {"sky": 0.0, "grass": 0.0}
    assert (r["sharpness_ratio"], r["streak_ratio"]) == (1.0, 1.0)


def test_a_colour_shift_a_blur_and_streaks_show():
    rng = np.random.default_rng(1)
    label, real = scene(rng)
    shifted = real.copy()
    shifted[label == 1] = np.clip(shifted[label == 1].astype(int) + 40, 0, 255).astype(np.uint8)
    a = quality.Appearance(2)
    a.add(label, real, shifted)
    r = a.result()
    assert r["colour_delta_e"]["class 0"] == 0.0 and r["colour_delta_e"]["class 1"] > 5

    blurred = real.astype(float)
    blurred = (blurred + np.roll(blurred, 1, 0) + np.roll(blurred, 1, 1) + np.roll(blurred, 1, (0, 1))) / 4
    a = quality.Appearance(2)
    a.add(label, real, blurred.astype(np.uint8))
    assert a.result()["sharpness_ratio"] < 0.6

    # Vertical streaks: columns that change along x but not along y.
    streaks = np.repeat(real[:1], 32, axis=0)
    a = quality.Appearance(2)
    a.add(label, real, streaks)
    assert a.result()["streak_ratio"] > 10
