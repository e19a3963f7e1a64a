"""The small segmenter and the evaluation protocol."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch
from easel_training import segmenter
from easel_training.__main__ import main


def test_scores_from_a_confusion_matrix():
    pred = torch.tensor([0, 0, 1, 1, 2, 2])
    target = torch.tensor([0, 0, 1, 2, 2, 9])  # 9: dontcare, not scored
    s = segmenter.scores(segmenter.confusion(pred, target, classes=4))
    assert s["pixel_accuracy"] == pytest.approx(4 / 5)
    # IoU: class 0 = 1, class 1 = 1/2, class 2 = 1/2; class 3 is absent from both.
    assert s["mean_iou"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert s["class_iou"][3] is None


def test_unet_keeps_any_input_size():
    model = segmenter.CompactUNet(classes=5, width=4).eval()
    assert model.predict(torch.zeros(2, 3, 37, 50)).shape == (2, 37, 50)
    assert 400_000 < sum(p.numel() for p in segmenter.CompactUNet(12).parameters()) < 600_000


def test_segmenter_then_evaluate_report_scores_in_unit_range(dataset, tmp_path, capsys):
    seg = str(tmp_path / "seg.pth")
    assert main(["segmenter", "--label_dir", dataset["label"], "--image_dir", dataset["image"],
                 "--label_nc", "4", "--out", seg, "--epochs", "2", "--crop_size", "32",
                 "--width", "4", "--batch_size", "4"]) == 0
    generated = tmp_path / "generated"
    os.makedirs(generated)
    for name in sorted(os.listdir(dataset["image"]))[:3]:  # one label has no generated image
        shutil.copy(os.path.join(dataset["image"], name), generated / name.replace(".jpg", ".png"))
    capsys.readouterr()
    assert main(["evaluate", "--segmenter", seg, "--label_dir", dataset["label"], "--image_dir",
                 dataset["image"], "--generated_dir", str(generated)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["real"]["images"] == 4 and result["generated"]["images"] == 3
    assert result["generated"]["labels_without_generated_image"] == 1
    for split in ("real", "generated"):
        for metric in ("pixel_accuracy", "mean_iou"):
            assert 0.0 <= result[split][metric] <= 1.0
    # The "generated" images are the photos themselves (as PNG): they look
    # exactly like the photos.
    appearance = result["appearance"]
    assert appearance["images"] == 3
    assert appearance["colour_delta_e_max"] < 0.5
    assert appearance["sharpness_ratio"] == pytest.approx(1.0, abs=0.01)
    assert appearance["streak_ratio"] == pytest.approx(1.0, abs=0.01)

    # Without their photos: the photos as their own reference have detail 1.
    capsys.readouterr()
    assert main(["evaluate", "--segmenter", seg, "--label_dir", dataset["label"],
                 "--generated_dir", str(generated), "--reference_free",
                 "--reference_label_dir", dataset["label"],
                 "--reference_image_dir", dataset["image"]]) == 0
    judged = json.loads(capsys.readouterr().out)["reference_free"]
    assert judged["images"] == 3
    assert judged["anisotropy_median"] > 0 and judged["anisotropy_p90"] >= judged["anisotropy_median"]
    assert judged["detail_ratio"], "the maps have regions of 400 px after erosion"


def test_evaluate_refuses_generated_images_that_match_no_label(dataset, tmp_path, capsys):
    seg = str(tmp_path / "seg.pth")
    torch.save({"state_dict": segmenter.CompactUNet(4, 4).state_dict(), "label_nc": 4,
                "width": 4, "contain_dontcare_label": False}, seg)
    os.makedirs(tmp_path / "gen")
    assert main(["evaluate", "--segmenter", seg, "--label_dir", dataset["label"],
                 "--generated_dir", str(tmp_path / "gen")]) == 2
    assert "shares a name stem" in capsys.readouterr().err
