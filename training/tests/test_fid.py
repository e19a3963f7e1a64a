"""`easel test --inception`: FID and KID of a run against an independent
numpy/scipy computation on the features the run kept, the features against
ONNX Runtime on the images themselves, and a graph that gives no feature
vector refused. The graph is a small random-weight Inception-shaped network
this test writes (convolution, ReLU, global average pooling): the plumbing,
not pytorch-fid's weights, which cannot be downloaded here."""

from __future__ import annotations

import glob
import json
import os
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from conftest import REPO, easel_binary
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

SCENES = 24
DIM = 8
SIDE = 48


def write_graph(path, pooled=True):
    """(N, 3, SIDE, SIDE) in [-1, 1] → (N, DIM, 1, 1), or a spatial map."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, (DIM, 3, 3, 3)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.normal(0, 0.1, DIM).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["images", "w", "b"], ["conv"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["conv"], ["relu"])]
    if pooled:
        nodes.append(helper.make_node("GlobalAveragePool", ["relu"], ["features"]))
        out_shape = ["N", DIM, 1, 1]
    else:
        nodes.append(helper.make_node("Identity", ["relu"], ["features"]))
        out_shape = ["N", DIM, SIDE // 2, SIDE // 2]
    graph = helper.make_graph(
        nodes, "tiny_inception",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, out_shape)], [weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"width": SIDE, "height": SIDE, "range": [-1, 1], "resize": "bilinear"}, f)


def run_test(tmp_path, held, graph, name):
    return subprocess.run(
        [easel_binary(), "test", "--name", name, "--model", os.path.join(REPO, "models", "landscapes"),
         "--label_dir", str(held / "test_label"), "--image_dir", str(held / "test_img"),
         "--results_dir", str(tmp_path / "results"), "--which_epoch", "latest",
         "--inception", str(graph)],
        env={**os.environ, "EASEL_COMPUTE": "fp32"}, capture_output=True, text=True)


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    held = tmp_path_factory.mktemp("held")
    subprocess.run([easel_binary(), "dataset", "synth", "--out", str(held), "--count", str(SCENES),
                    "--seed", "2", "--test-fraction", "1"], check=True, capture_output=True)
    return held


def features(root, kind):
    files = sorted(glob.glob(str(root / "features" / "tiny.onnx" / kind / "*.npy")))
    return np.stack([np.load(f).astype(np.float64) for f in files]), files


def test_fid_and_kid_agree_with_scipy_on_the_features_the_run_kept(tmp_path, held):
    graph = tmp_path / "tiny.onnx"
    write_graph(graph)
    done = run_test(tmp_path, held, graph, "fid")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FID " in done.stdout, done.stdout
    root = tmp_path / "results" / "fid" / "test_latest"
    fidelity = json.loads((root / "run.json").read_text())["fidelity"]
    real, real_files = features(root, "real_image")
    fake, _ = features(root, "synthesized_image")
    assert real.shape == fake.shape == (SCENES, DIM)
    assert fidelity["real_images"] == fidelity["synthesized_images"] == SCENES
    assert fidelity["dim"] == DIM and fidelity["inception"] == "tiny.onnx"

    # pytorch-fid's formula, with scipy's matrix square root.
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    assert np.linalg.cond(s1) < 1e6 and np.linalg.cond(s2) < 1e6, "well-conditioned features"
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    fid = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert fidelity["fid"] == pytest.approx(fid, rel=1e-6)
    assert fid > 0

    # KID, the unbiased MMD² with (x·y/d + 1)³; one subset: all of both.
    assert fidelity["kid_subsets"]["subsets"] == 1
    assert fidelity["kid_subsets"]["subset_size"] == SCENES

    def kernel(a, b):
        return (a @ b.T / DIM + 1) ** 3

    m = SCENES
    kxx, kyy, kxy = kernel(real, real), kernel(fake, fake), kernel(real, fake)
    kid = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
           - 2 * kxy.sum() / m ** 2)
    assert fidelity["kid"] == pytest.approx(kid, rel=1e-6)

    # The features are the graph's on the images as pytorch-fid would feed
    # them: the PNG, bilinear to SIDE² (align_corners=False), in [-1, 1].
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    stem = os.path.splitext(os.path.basename(real_files[0]))[0]
    for kind, kept in (("real_image", real[0]), ("synthesized_image", None)):
        image = np.asarray(Image.open(root / "images" / kind / f"{stem}.png").convert("RGB"), np.float32)
        x = torch.from_numpy(image).permute(2, 0, 1)[None]
        x = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", align_corners=False) / 255 * 2 - 1
        ours = session.run(None, {"images": x.numpy()})[0].reshape(-1)
        stored = np.load(root / "features" / "tiny.onnx" / kind / f"{stem}.npy")
        assert np.abs(ours - stored).max() < 1e-4, kind
        if kept is not None:
            assert np.allclose(kept, stored)

    page = (root / "index.html").read_text()
    assert f"FID {fidelity['fid']:.2f}" in page


def test_a_graph_that_gives_no_feature_vector_is_refused_and_nothing_is_written(tmp_path, held):
    graph = tmp_path / "spatial.onnx"
    write_graph(graph, pooled=False)
    done = run_test(tmp_path, held, graph, "refused")
    assert done.returncode != 0
    assert "(N, D) or (N, D, 1, 1)" in done.stderr, done.stderr
    assert "export the network up to its last pooling layer" in done.stderr
    assert not (tmp_path / "results").exists()
