"""`easel test --evaluate` against the trainer's `evaluate` on the same
images: the default model over held-out synthetic scenes (seed 1, never
trained on), style from each scene's photo, scored by the committed judge
(its fp16 ONNX export in the package on easel's side, the fp32 .pth here)."""

from __future__ import annotations

import json
import os
import subprocess
from types import SimpleNamespace

import pytest
from conftest import REPO, easel_binary
from easel_training import segmenter

SCENES = 24


def test_easel_test_scores_agree_with_the_trainers_evaluate(tmp_path):
    easel = easel_binary()
    env = {**os.environ, "EASEL_COMPUTE": "fp32"}
    held = tmp_path / "held"
    subprocess.run([easel, "dataset", "synth", "--out", str(held), "--count", str(SCENES),
                    "--seed", "1", "--test-fraction", "1"], check=True, env=env,
                   capture_output=True)
    results = tmp_path / "results"
    done = subprocess.run(
        [easel, "test", "--name", "heldout", "--model", os.path.join(REPO, "models", "landscapes"),
         "--label_dir", str(held / "test_label"), "--image_dir", str(held / "test_img"),
         "--results_dir", str(results), "--which_epoch", "latest", "--evaluate"],
        check=True, env=env, capture_output=True, text=True)
    assert "scores (segmenter of landscapes)" in done.stdout, done.stdout
    run_dir = results / "heldout" / "test_latest"
    scores = json.loads((run_dir / "run.json").read_text())["scores"]
    assert scores["images"] == SCENES and scores["real_images"] == SCENES

    theirs = segmenter.evaluate(SimpleNamespace(
        segmenter=os.path.join(REPO, "training", "judges", "segmenter.pth"),
        label_dir=str(held / "test_label"), image_dir=str(held / "test_img"),
        generated_dir=str(run_dir / "images" / "synthesized_image"), classes=None))
    for ours, reference in ((scores["generated"], theirs["generated"]),
                            (scores["real"], theirs["real"])):
        assert ours["pixel_accuracy"] == pytest.approx(reference["pixel_accuracy"], abs=0.01)
        assert ours["mean_iou"] == pytest.approx(reference["mean_iou"], abs=0.01)
    # Not a trivial agreement: the synthesized images score below the photos.
    assert 0.3 < scores["generated"]["mean_iou"] < scores["real"]["mean_iou"]
    page = (run_dir / "index.html").read_text()
    assert f"{scores['generated']['mean_iou']:.3f}" in page
    assert (run_dir / "worst.html").is_file()
