"""Checks builder_models' outputs (tests/builder/models.c) against PyTorch.

usage: check.py DIR

DIR holds every parameter, input and output of the models as NAME.npy;
this script computes each model again from its parameters and inputs and
compares.  The models are described in models.c.
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

d = Path(sys.argv[1])
failures = []


def load(name):
    return torch.from_numpy(np.load(d / f"{name}.npy"))


def compare(what, got, want, tol=1e-4):
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else got
    want = want.detach().numpy()
    if got.shape != want.shape:
        failures.append(f"{what}: shape {got.shape}, expected {want.shape}")
        return
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    print(f"{what}: max abs error {err:.2e}")
    if not err <= tol:
        failures.append(f"{what}: max abs error {err:.3g} > {tol}")


def mlp(p, x):
    h = F.relu(x @ p["w1"].T + p["b1"])
    return torch.sigmoid(h @ p["w2"] + p["b2"])


mlp_params = {k: load(f"mlp.{k}") for k in ("w1", "b1", "w2", "b2")}
for run in ("mlp3", "mlp7"):
    compare(f"{run}.y", load(f"{run}.y"), mlp(mlp_params, load(f"{run}.x")))

# one SGD step, lr 0.1, on the mean squared error
p = {k: v.clone().requires_grad_(True) for k, v in mlp_params.items()}
loss = F.mse_loss(mlp(p, load("train.x")), load("train.target"))
loss.backward()
compare("train.loss", load("train.loss"), loss)
with torch.no_grad():
    for k, v in p.items():
        compare(f"train.{k}", load(f"train.{k}"), v - 0.1 * v.grad)

c = {k: load(f"cnn.{k}") for k in ("w1", "b1", "w2")}
x = load("cnn.x")
h = F.max_pool2d(F.relu(F.conv2d(x, c["w1"], c["b1"], padding=1)), 2)
h = F.avg_pool2d(F.conv2d(h, c["w2"], stride=2, padding=1), 2)
compare("cnn.y", load("cnn.y"), torch.softmax(h.reshape(2, -1), dim=1))

b = {k: load(f"block.{k}") for k in ("ln1_scale", "ln1_bias", "wq", "wk", "wv", "ln2_scale", "w1", "w2")}
x = load("block.x")
n1 = F.layer_norm(x, (8,), b["ln1_scale"], b["ln1_bias"], eps=1e-5)
q, k, v = n1 @ b["wq"], n1 @ b["wk"], n1 @ b["wv"]
a = torch.softmax(q @ k.transpose(1, 2) / np.sqrt(8.0), dim=-1)
r1 = a @ v + x
n2 = F.layer_norm(r1, (8,), b["ln2_scale"], None, eps=1e-5)
y = torch.tanh(n2 @ b["w1"]) @ b["w2"] + r1
compare("block.y", load("block.y"), y)
compare("block.mean", load("block.mean"), y.mean(dim=1))

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("builder models: all match")
