#!/usr/bin/env python3
"""Train a tiny CNN on scikit-learn's 8x8 handwritten digits and export it to ONNX.

Everything needed ships inside the scikit-learn wheel, so this runs offline.
Outputs (next to this script unless --out is given):
  digits.onnx  opset 17; input "image" float32[8,1,8,8] (pixels scaled to 0..1),
               outputs "logits" float32[8,10] and "label" int64[8] (ArgMax in the graph)
  images.npy   8 held-out test images, float32[8,1,8,8]
  labels.txt   their true labels, space separated, one line
"""
import argparse
import os
import random
import warnings

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

BATCH = 8  # fixed batch baked into the exported graph


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),                      # 16 x 4 x 4
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.head(self.features(x))


class WithArgMax(nn.Module):
    """Wraps the classifier so the exported graph also yields the predicted class."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        logits = self.net(image)
        return logits, torch.argmax(logits, dim=1)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=here, help="output folder (default: this script's folder)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]   # N,1,8,8 in [0,1]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.25, random_state=args.seed, stratify=y)

    net = DigitsNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=g)
        total = 0.0
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  train loss {total / len(xt):.4f}")

    net.eval()
    with torch.no_grad():
        pred = net(torch.from_numpy(x_te)).argmax(1).numpy()
    acc = float((pred == y_te).mean())
    print(f"test accuracy: {acc * 100:.2f}% ({int((pred == y_te).sum())}/{len(y_te)})")

    os.makedirs(args.out, exist_ok=True)
    sample_x = np.ascontiguousarray(x_te[:BATCH])
    sample_y = y_te[:BATCH]
    onnx_path = os.path.join(args.out, "digits.onnx")
    model = WithArgMax(net).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # legacy exporter notice
        torch.onnx.export(
            model, (torch.from_numpy(sample_x),), onnx_path,
            input_names=["image"], output_names=["logits", "label"],
            opset_version=17, do_constant_folding=True, dynamo=False)
    np.save(os.path.join(args.out, "images.npy"), sample_x)
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write(" ".join(str(int(v)) for v in sample_y) + "\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes), images.npy, labels.txt")
    print("sample labels:", " ".join(str(int(v)) for v in sample_y))


if __name__ == "__main__":
    main()
