"""photo-head: a linear head over a segmenter's scores learns the scenes'
classes where the mapping alone gets them wrong, and writes what `easel
attach-photo-segmenter --head` reads (one row per package class)."""

import argparse
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from easel_training import photo_head

ADE = photo_head.ade20k_labels()
NAMES = ["sky", "clouds", "mountain", "snow", "rock", "hill", "grass", "tree", "bush",
         "water", "sand", "dirt"]


def scores_graph(path):
    """A stand-in segmenter: 151 scores from a 1×1 convolution of the photo.
    Blue pixels score `sky` highest; green ones score `tree` above `grass`,
    as DeepLab reads the renderer's grass, but `grass` rises with red."""
    w = np.zeros((151, 3, 1, 1), np.float32)
    w[ADE.index("sky"), 2] = 3.0
    w[ADE.index("tree"), 1] = 2.0
    w[ADE.index("grass"), 1] = 1.5
    w[ADE.index("grass"), 0] = 1.5
    graph = helper.make_graph(
        [helper.make_node("Conv", ["photo", "w"], ["logits"])], "scores",
        [helper.make_tensor_value_info("photo", TensorProto.FLOAT, [1, 3, 513, 513])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 151, 513, 513])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))


def test_a_head_learns_the_scenes_classes_and_writes_one_row_per_class(tmp_path):
    scores_graph(tmp_path / "photo_segmenter.onnx")
    card = {
        "classes": [{"name": n} for n in NAMES],
        "photo_segmenter": {"labels": "ade20k",
                            "pairs": [["sky", "sky"], ["grass", "grass"], ["tree", "tree"]]},
    }
    (tmp_path / "model.json").write_text(json.dumps(card))
    for d in ("train_img", "train_label"):
        (tmp_path / "scenes" / d).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        # Sky above; below, yellow-green grass (label grass) left, dark green trees right.
        img = np.zeros((64, 64, 3), np.uint8)
        lab = np.zeros((64, 64), np.uint8)
        img[:32] = (60, 120, 240)
        img[32:, :32] = (150, 200, 40)
        img[32:, 32:] = (20, 110, 30)
        lab[32:, :32] = NAMES.index("grass")
        lab[32:, 32:] = NAMES.index("tree")
        img = np.clip(img.astype(int) + rng.integers(-10, 10, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(tmp_path / "scenes" / "train_img" / f"{i:06d}.png")
        Image.fromarray(lab).save(tmp_path / "scenes" / "train_label" / f"{i:06d}.png")
    args = argparse.Namespace(
        graph=str(tmp_path / "photo_segmenter.onnx"), card=None, scenes=str(tmp_path / "scenes"),
        photos=[], max_scenes=4, photo_weight=1.0, prior=1e-4, steps=150, seed=0,
        out=str(tmp_path / "head.json"))
    head = photo_head.train(args)
    written = json.loads((tmp_path / "head.json").read_text())
    assert written["classes"] == NAMES
    assert len(written["weight"]) == 12 and all(len(r) == 151 for r in written["weight"])
    assert len(written["bias"]) == 12
    # The mapping alone calls the grass tree (its `tree` score is higher);
    # the head tells them apart.
    assert head["trained"]["scene_agreement"] > 0.95, head["trained"]
