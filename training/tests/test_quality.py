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


def test_anisotropy_is_one_for_isotropic_noise_and_high_for_vertical_streaks():
    rng = np.random.default_rng(2)
    noise = rng.integers(0, 256, (256, 256, 3)).astype(np.uint8)
    assert quality.anisotropy(noise) == pytest.approx(1.0, abs=0.05)
    streaks = np.repeat(noise[:1], 256, axis=0)
    assert quality.anisotropy(streaks) > 100
    # Horizontal bands (a calm lake's ripples) sit under 1; any size is
    # judged at 256².
    bands = np.repeat(noise[:, :1], 512, axis=1)
    assert quality.anisotropy(bands) < 0.01


def test_detail_is_measured_inside_eroded_regions_and_skips_small_ones():
    rng = np.random.default_rng(3)
    label = np.zeros((64, 64), np.int64)
    label[:, 32:] = 1
    label[0:8, 0:8] = 2  # 8×8: nothing left after a 3 px erosion
    image = np.full((64, 64, 3), 128, np.uint8)
    image[:, 32:] = rng.integers(0, 256, (64, 32, 3))
    detail = quality.class_detail(image, label, 3)
    assert set(detail) == {0, 1}
    # Flat grey: no detail, although its region borders the noise (the
    # erosion keeps the edge out).
    assert detail[0] == 0.0 and detail[1] > 1000


def test_reference_free_figures_compare_detail_with_a_reference_set():
    rng = np.random.default_rng(4)
    label = np.zeros((64, 64), np.int64)
    label[32:] = 1
    photo = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    reference = quality.Detail(2)
    reference.add(label, photo)
    flat = photo.copy()
    flat[32:] = 100  # class 1 painted flat
    judged = quality.ReferenceFree(2)
    judged.add(label, flat)
    r = judged.result(reference, ["sky", "tree"])
    assert r["images"] == 1 and r["anisotropy_median"] == r["anisotropy_p90"]
    assert r["detail_ratio"]["sky"] == pytest.approx(1.0)
    assert r["detail_ratio"]["tree"] == 0.0


def test_painted_layouts_are_the_same_for_a_seed_and_hold_only_landscape_classes():
    from easel_training import layouts

    first = layouts.painted(2701, 16)
    again = layouts.painted(2701, 16)
    assert [n for n, _ in first] == [n for n, _ in again]
    assert all(np.array_equal(np.asarray(a), np.asarray(b))
               for (_, a), (_, b) in zip(first, again))
    kinds = {n.rsplit("-", 1)[0] for n, _ in first}
    assert kinds == set(layouts.KINDS)
    for _, image in first:
        values = np.unique(np.asarray(image))
        assert values.max() < len(layouts.CLASSES)
    assert all(im.size == (256, 256) for _, im in layouts.painted(11, 8, square=True))


def test_coco_layouts_fill_other_classes_from_the_nearest_landscape_pixel():
    from easel_training import layouts

    table = np.full(256, 255, np.uint8)
    table[10], table[20] = layouts.SKY, layouts.WATER
    label = np.full((8, 8), 10, np.uint8)
    label[4:] = 20
    label[5:7, 2:4] = 0  # a person standing in the water
    out = layouts.coco_layout(label, table)
    assert (out[:4] == layouts.SKY).all() and (out[4:] == layouts.WATER).all()
    label[:] = 0
    assert layouts.coco_layout(label, table) is None
