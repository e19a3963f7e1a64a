"""Runs an easel package's generator.onnx on the inputs pytorch_eager.py saved
(--save-io) and prints the largest difference from PyTorch's output as JSON.

  python bench/check_package_output.py PACKAGE_DIR IO_DIR
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort


def main():
    package, io = sys.argv[1], sys.argv[2]
    card = json.load(open(os.path.join(package, "model.json")))
    label = np.load(os.path.join(io, "label.npy")).astype(np.int64)
    if card["dontcare"] is not None:
        label[label == 255] = card["dontcare"]["index"]
    feeds = {"label": label}
    if card["uses_instances"]:
        feeds["instance_edges"] = np.load(os.path.join(io, "edges.npy")).reshape(label.shape).astype(np.int64)
    session = ort.InferenceSession(os.path.join(package, "generator.onnx"))
    ours = session.run(None, feeds)[0]
    reference = np.load(os.path.join(io, "output.npy"))
    err = np.abs(ours - reference)
    print(json.dumps({"check": "easel vs pytorch output", "max_abs_error": float(err.max()),
                      "mean_abs_error": float(err.mean()), "shape": list(ours.shape)}))


if __name__ == "__main__":
    main()
