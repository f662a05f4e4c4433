#!/usr/bin/env python3
"""Data and an untrained model for examples/train_digits.c.

Writes into --out (default: this folder's train/ subfolder):
  train_x.npy, train_y.npy  1347 images float32[N,1,8,8] (0..1) and int64 labels
  test_x.npy, test_y.npy    the held-out quarter (450), split as train.py splits
  cnn.onnx                  train.py's DigitsNet with PyTorch's initial weights
                            (seeded), batch 30: input "image", outputs "logits"
                            and "label" (ArgMax)

scikit-learn ships the digits inside its wheel, so this runs offline.  Then:
  hodu --build cnn.onnx --train --loss cross_entropy --optimizer adamw -o step.so
  hodu --build cnn.onnx --train-eval -o eval.so
  train_digits step.so eval.so DIR [EPOCHS]
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import DigitsNet, WithArgMax  # noqa: E402

BATCH = 30  # 450 test images = 15 batches


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "train"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=a.seed, stratify=y)
    os.makedirs(a.out, exist_ok=True)
    for name, arr in (("train_x", x_tr), ("train_y", y_tr), ("test_x", x_te), ("test_y", y_te)):
        np.save(os.path.join(a.out, f"{name}.npy"), np.ascontiguousarray(arr))
    model = WithArgMax(DigitsNet()).eval()
    path = os.path.join(a.out, "cnn.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # legacy exporter notice
        torch.onnx.export(model, (torch.zeros(BATCH, 1, 8, 8),), path, input_names=["image"],
                          output_names=["logits", "label"], opset_version=17, do_constant_folding=True,
                          dynamo=False)
    print(f"wrote {len(y_tr)} training and {len(y_te)} test images and {path} to {a.out}")


if __name__ == "__main__":
    main()
