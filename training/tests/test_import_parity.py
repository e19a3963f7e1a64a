"""A checkpoint this trainer writes, imported by `easel import`, gives the
trainer's own eval-mode output in ONNX Runtime."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
import torch
from conftest import easel_binary, train_opt, write_dataset
from easel_training import checkpoints, data, networks, trainer
from tolerances import ACROSS_MACHINES

# PyTorch against ONNX Runtime: two runtimes' kernels.
TOLERANCE = ACROSS_MACHINES


def test_imported_package_matches_the_trainers_eval_output(tmp_path):
    easel = easel_binary()
    ort = pytest.importorskip("onnxruntime")
    dirs = write_dataset(tmp_path / "data", instances=True, dontcare=True)
    opt = train_opt(dirs, tmp_path / "ck", "--contain_dontcare_label", "--niter", "1",
                    instances=True)
    trainer.train(opt)
    ckpt = str(tmp_path / "ck" / "tiny")
    package = str(tmp_path / "pkg")
    subprocess.run([easel, "import", ckpt, "--out", package], check=True, capture_output=True,
                   timeout=120)
    card = json.load(open(os.path.join(package, "model.json")))
    assert card["dontcare"]["index"] == opt.label_nc and card["uses_instances"]

    eval_opt = train_opt(dirs, tmp_path, "--contain_dontcare_label", "--no_flip",
                         instances=True)
    ds = data.PairedDataset(eval_opt, train=False)
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    label, inst = batch["label"], batch["instance"]
    assert (label == opt.label_nc).any()  # the dontcare corner is in the batch

    _, generator, _ = checkpoints.load_checkpoint(ckpt)
    with torch.no_grad():
        expected = generator(networks.semantics(label, opt, inst)).numpy()
    session = ort.InferenceSession(os.path.join(package, "generator.onnx"),
                                   providers=["CPUExecutionProvider"])
    edges = networks.instance_edges(inst)[:, 0].long().numpy()
    got = session.run(None, {"label": label.numpy(), "instance_edges": edges})[0]
    assert got.shape == expected.shape
    err = float(np.abs(got - expected).max())
    print(f"max abs error {err:.2e}")
    assert err < TOLERANCE
    assert float(np.abs(expected).std()) > 1e-3  # a real image, not a constant
