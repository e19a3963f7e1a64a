"""The custom dataset: pairing, label checks and the reference's transforms."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from conftest import COLOURS, blob_label, train_opt, write_dataset
from easel_training import data, networks
from PIL import Image


def test_pairs_by_stem_whatever_the_extension(dataset):
    samples = data.pair_files(dataset["label"], dataset["image"])
    assert [s.stem for s in samples] == [f"scene_{i:03d}" for i in range(4)]
    assert all(s.label.endswith(".png") and s.image.endswith(".jpg") for s in samples)


def test_pairing_mismatch_lists_the_files_without_partner(tmp_path):
    dirs = write_dataset(tmp_path, stems=["a", "b", "c"])
    os.rename(os.path.join(dirs["image"], "b.jpg"), os.path.join(dirs["image"], "b2.jpg"))
    with pytest.raises(data.DatasetError) as e:
        data.pair_files(dirs["label"], dirs["image"])
    msg = str(e.value)
    assert f"labels without an image in {dirs['image']}: b\n" in msg
    assert msg.endswith(f"images without a label in {dirs['label']}: b2")


def test_missing_instance_maps_are_named(tmp_path):
    dirs = write_dataset(tmp_path, stems=["a", "b"], instances=True)
    os.remove(os.path.join(dirs["instance"], "a.png"))
    with pytest.raises(data.DatasetError, match="labels without an instance map .*: a"):
        data.pair_files(dirs["label"], dirs["image"], dirs["instance"])


def test_dontcare_pixels_without_the_flag_are_refused_with_file_and_count(tmp_path):
    label = np.zeros((8, 8), np.uint8)
    label[:2, :3] = 255
    path = str(tmp_path / "x.png")
    Image.fromarray(label, "L").save(path)
    with pytest.raises(data.DatasetError, match=r"x\.png: 6 pixels are 255 .*--contain_dontcare"):
        data.read_label_map(path, 4, contain_dontcare_label=False)
    mapped = data.read_label_map(path, 4, contain_dontcare_label=True)
    assert (mapped[:2, :3] == 4).all() and mapped.max() == 4


def test_labels_outside_the_classes_are_refused(tmp_path):
    path = str(tmp_path / "x.png")
    Image.fromarray(np.full((4, 4), 7, np.uint8), "L").save(path)
    with pytest.raises(data.DatasetError, match=r"values \[7\] are not classes of --label_nc 4"):
        data.read_label_map(path, 4, contain_dontcare_label=False)


def test_colour_label_maps_are_refused(tmp_path):
    path = str(tmp_path / "x.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    with pytest.raises(data.DatasetError, match="8-bit grayscale or paletted"):
        data.read_label_map(path, 4, contain_dontcare_label=False)


def test_crop_and_flip_are_the_same_for_label_image_and_instance(tmp_path):
    """Photos painted exactly in their label's colours (PNG, no resize) must
    still match their labels pixel for pixel after crop and flip."""
    rng = np.random.default_rng(3)
    root = tmp_path / "d"
    for sub in ("label", "image", "instance"):
        os.makedirs(root / sub)
    for i in range(3):
        label = blob_label(rng, 48)
        Image.fromarray(label, "L").save(root / "label" / f"{i}.png")
        Image.fromarray(COLOURS[label]).save(root / "image" / f"{i}.png")
        Image.fromarray((label * 7).astype(np.uint16)).save(root / "instance" / f"{i}.png")
    dirs = {k: str(root / k) for k in ("label", "image", "instance")}
    opt = train_opt(dirs, tmp_path, "--preprocess_mode", "crop", "--crop_size", "32",
                    instances=True)
    ds = data.PairedDataset(opt)
    flips = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            assert item["label"].shape == (32, 32) and item["image"].shape == (3, 32, 32)
            rgb = ((item["image"] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
            assert (rgb == COLOURS[item["label"].numpy()]).all()
            assert torch.equal(item["instance"], item["label"] * 7)
            full = np.asarray(Image.open(root / "label" / f"{i}.png"))
            flips.add(not _is_window(item["label"].numpy(), full))
    assert flips == {True, False}  # both flipped and unflipped crops were drawn


def _is_window(crop: np.ndarray, full: np.ndarray) -> bool:
    h, w = crop.shape
    return any((full[y:y + h, x:x + w] == crop).all()
               for y in range(full.shape[0] - h + 1) for x in range(full.shape[1] - w + 1))


def test_images_normalise_to_minus_one_one_and_resize_to_the_crop(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path, "--load_size", "80", "--no_flip")
    item = data.PairedDataset(opt)[0]
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 64, 64)
    assert -1.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0


def test_a_size_the_generator_cannot_make_is_explained(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path, "--preprocess_mode", "none", "--crop_size", "128")
    with pytest.raises(data.DatasetError, match="comes out 64×64 .* generator makes 128×128"):
        data.PairedDataset(opt)[0]


def test_instance_edges_mark_pixels_whose_neighbours_differ():
    inst = torch.tensor([[[1, 1, 2], [1, 1, 2], [3, 3, 3]]])
    edges = networks.instance_edges(inst)[0, 0].int().tolist()
    assert edges == [[0, 1, 1], [1, 1, 1], [1, 1, 1]]
