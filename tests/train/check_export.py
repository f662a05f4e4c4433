#!/usr/bin/env python3
"""The ONNX model `hodu --export-onnx` wrote from a training checkpoint,
run by onnxruntime: over the whole test set it must classify exactly as
many images right as the trainer reported (same parameters, same
predictions), and hodu's own build of it must give onnxruntime's logits.

    check_export.py --hodu HODU TRAINED.onnx DATA_DIR RIGHT
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", required=True)
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("right", type=int)
    a = ap.parse_args()
    x = np.load(os.path.join(a.data, "test_x.npy"))
    y = np.load(os.path.join(a.data, "test_y.npy"))
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    batch = sess.get_inputs()[0].shape[0]
    right, first = 0, None
    for b in range(0, len(x) - batch + 1, batch):
        logits, label = sess.run(None, {"image": x[b:b + batch]})
        right += int((label == y[b:b + batch]).sum())
        first = logits if first is None else first
    if right != a.right:
        print(f"export: FAILED: onnxruntime gets {right} test images right, the trainer {a.right}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), x[:batch])
        so = os.path.join(tmp, "m.so")
        subprocess.run([a.hodu, "--build", a.model, "-o", so], check=True)
        subprocess.run([a.hodu, "--run", so, "--input", f"image={tmp}/x.npy", "--output-dir", tmp], check=True,
                       capture_output=True)
        mine = np.load(os.path.join(tmp, "logits.npy"))
    err = float(np.abs(mine - first).max()) / max(float(np.abs(first).max()), 1e-6)
    if not err <= 1e-5:
        print(f"export: FAILED: hodu's logits differ from onnxruntime's by {err:.1e} (relative)")
        return 1
    print(f"export: passed (onnxruntime: {right}/{len(x) // batch * batch} right, as the trainer; "
          f"hodu against onnxruntime {err:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
