#!/usr/bin/env python3
"""Builds tests/script/features.hodu with random weights (a safetensors file
written here), runs it with `hodu --run` and compares with the same
computation in PyTorch (1e-4).  Also checks that a build without --weights
is deterministic for one --seed and differs for another.

    run_features.py --hodu build/hodu
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
D, N = 8, 3


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")


def reference(p, x, y):
    t = {k: torch.from_numpy(v) for k, v in p.items()}
    h = torch.from_numpy(x)
    for i in range(N):
        n = F.layer_norm(h, (D,), t[f"layers.{i}.norm.weight"], t[f"layers.{i}.norm.bias"], 1e-5)
        h = h + F.gelu(F.linear(n, t[f"layers.{i}.fc.weight"], t[f"layers.{i}.fc.bias"]))
    h = h * t["s"] - 0.5
    a = h[:, 0:3]
    m = h.mean(dim=-1, keepdim=True)
    f = h[..., 0:4].reshape(h.shape[0], 2, 2).transpose(1, 2).flatten(1)
    yt = torch.from_numpy(y)
    z = a * torch.sigmoid(yt) + m ** 2 / (1.0 + torch.exp(-f[:, 1:4])) + (a * 3.0).to(torch.int32).to(torch.float32)
    z = z + torch.rsqrt(1.0 + yt * yt) * (-7 // 2) + (-7 % 3)
    z = z + torch.floor_divide(a * 3.0, 1.3) * 0.25 + torch.remainder(yt, 0.7) - torch.remainder(-yt, 0.7)
    ai, bi = (a * 7.0).to(torch.int32), (a * 5.0).to(torch.int32)
    z = z + (torch.div(ai, 2, rounding_mode="floor") + torch.remainder(bi, 3)).to(torch.float32)
    last = h[:, -1] - f.sum(dim=1)
    return torch.cat([z, yt * 2.0, last.reshape(-1, 1)], dim=1).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(3)
    p = {"s": rng.standard_normal(D).astype(np.float32)}
    for i in range(N):
        p[f"layers.{i}.norm.weight"] = rng.standard_normal(D).astype(np.float32)
        p[f"layers.{i}.norm.bias"] = rng.standard_normal(D).astype(np.float32)
        p[f"layers.{i}.fc.weight"] = (rng.standard_normal((D, D)) / np.sqrt(D)).astype(np.float32)
        p[f"layers.{i}.fc.bias"] = rng.standard_normal(D).astype(np.float32)
    src = os.path.join(HERE, "features.hodu")
    with tempfile.TemporaryDirectory() as tmp:
        w = os.path.join(tmp, "w.safetensors")
        save_file(p, w)
        so = os.path.join(tmp, "f.so")
        sh([a.hodu, "--build", src, "--weights", w, "--dim", "B=5", "-o", so])
        x = rng.standard_normal((5, D)).astype(np.float32)
        y = rng.standard_normal((5, 3)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        np.save(os.path.join(tmp, "y.npy"), y)

        def run(lib, out):
            sh([a.hodu, "--run", lib, "--input", f"x={tmp}/x.npy", "--input", f"y={tmp}/y.npy", "--output-dir", out])
            return np.load(os.path.join(out, "output.npy"))

        got = run(so, os.path.join(tmp, "o1"))
        want = reference(p, x, y)
        err = float(np.max(np.abs(got - want)))
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            raise SystemExit(f"FAIL features: shape {got.shape} vs {want.shape}, max abs error {err}")
        print(f"ok features: max abs error {err:.2e}")

        # initializers: the same seed gives the same model, another seed another
        outs = []
        for seed in (1, 1, 2):
            lib = os.path.join(tmp, f"s{seed}-{len(outs)}.so")
            sh([a.hodu, "--build", src, "--seed", str(seed), "--dim", "B=5", "-o", lib])
            outs.append(run(lib, os.path.join(tmp, f"os{len(outs)}")))
        if not np.array_equal(outs[0], outs[1]) or np.array_equal(outs[0], outs[2]):
            raise SystemExit("FAIL seeds: --seed does not decide the initial parameters")
        print("ok seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
