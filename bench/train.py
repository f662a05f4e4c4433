#!/usr/bin/env python3
"""Training speed: one optimizer step per batch, Hodu's compiled step
(`hodu --build --train`, driven through libhodu_rt's hodu_trainer) against
PyTorch's eager step (forward, backward, optimizer) at the same thread
count, on the same three models: an MLP, a small CNN and a transformer
encoder layer, each exported from its PyTorch module with the module's
initial weights.  Both run alternately in this process; the table gives the
median ms per step and hodu ms / PyTorch ms (below 1: Hodu faster).  The
first step's losses must agree (1e-3 relative), so both train the same
thing.

The workspace column is the step's arena (`hodu --inspect`); --recompute
none builds without recomputation, to compare.

    bench/train.py [--hodu build/hodu] [--rt build/libhodu_rt.so] [--threads 1] [--steps 50] [--rounds 5]
                   [--recompute auto|none] [--models mlp,cnn,transformer]
"""
import argparse
import ctypes as C
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))
import hodurt  # noqa: E402


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class Encoder(nn.Module):
    """A pre-LN encoder layer written out (the exporter keeps plain ops),
    mean-pooled into a classifier."""

    def __init__(self, d=128, heads=4, ff=512, classes=10):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1) @ v
        x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
        x = x + self.ff2(torch.relu(self.ff1(self.ln2(x))))
        return self.head(x.mean(dim=1))


MODELS = [("mlp", MLP, (64, 784)), ("cnn", CNN, (32, 1, 28, 28)), ("transformer", Encoder, (8, 64, 128))]


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--rt", default=os.path.join(REPO, "build", "libhodu_rt.so"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50, help="steps per timed round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--recompute", choices=("auto", "none"), default="auto")
    ap.add_argument("--models", default=",".join(m[0] for m in MODELS), help="which of them, comma-separated")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    rt = hodurt.load(a.rt)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, cls, shape in [m for m in MODELS if m[0] in a.models.split(",")]:
            net = cls()
            path, so = os.path.join(tmp, f"{name}.onnx"), os.path.join(tmp, f"{name}.so")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(net, (torch.zeros(shape),), path, input_names=["x"], output_names=["y"],
                                  opset_version=17, dynamo=False)
            sh([a.hodu, "--build", path, "--train", "--loss", "cross_entropy", "--optimizer", "adamw",
                "--recompute", a.recompute, "-o", so])
            ws = int(re.search(r"workspace: (\d+) bytes", sh([a.hodu, "--inspect", so])).group(1))
            err, model, tr = hodurt.Error(), C.c_void_p(), C.c_void_p()
            opts = hodurt.Options()
            opts.n_threads = a.threads
            if rt.hodu_model_open(so.encode(), C.byref(model), C.byref(err)) or \
                    rt.hodu_trainer_create(model, C.byref(opts), C.byref(tr), C.byref(err)):
                raise SystemExit(f"FAIL {name}: {err.message.decode()}")
            rng = np.random.default_rng(0)
            x = rng.standard_normal(shape).astype(np.float32)
            t = rng.integers(0, 10, shape[0]).astype(np.int64)
            ins = (hodurt.Tensor * 2)(hodurt.tensor(x), hodurt.tensor(t))
            loss = C.c_float()
            opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
            xt, tt = torch.from_numpy(x), torch.from_numpy(t)

            def hodu_step():
                if rt.hodu_trainer_step(tr, ins, 2, 1e-3, C.byref(loss), C.byref(err)):
                    raise SystemExit(f"FAIL {name}: {err.message.decode()}")
                return loss.value

            def torch_step():
                opt.zero_grad()
                lt = nn.functional.cross_entropy(net(xt), tt)
                lt.backward()
                opt.step()
                return lt.item()

            first_h, first_t = hodu_step(), torch_step()
            if abs(first_h - first_t) > 1e-3 * abs(first_t):
                raise SystemExit(f"FAIL {name}: first loss {first_h} against PyTorch's {first_t}")
            times = {"hodu": [], "torch": []}
            for _ in range(a.rounds):
                for label, fn in (("hodu", hodu_step), ("torch", torch_step)):
                    t0 = time.perf_counter()
                    for _ in range(a.steps):
                        fn()
                    times[label].append((time.perf_counter() - t0) * 1e3 / a.steps)
            rt.hodu_trainer_destroy(tr)
            rt.hodu_model_close(model)
            h, p = statistics.median(times["hodu"]), statistics.median(times["torch"])
            rows.append((name, shape, h, p, ws))
    print(f"train step, AdamW, cross-entropy, {a.threads} thread(s); median of {a.rounds} rounds of {a.steps} steps; "
          f"--recompute {a.recompute}")
    print(f"{'model':<12} {'batch':<16} {'hodu ms':>9} {'torch ms':>9} {'ratio':>7} {'workspace':>10}")
    for name, shape, h, p, ws in rows:
        print(f"{name:<12} {str(list(shape)):<16} {h:9.3f} {p:9.3f} {h / p:7.2f} {ws:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
