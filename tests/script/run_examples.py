#!/usr/bin/env python3
"""Builds examples/{mlp,cnn,transformer_block,gpt}.hodu and
tests/script/norms.hodu (std's BatchNorm2d and RMSNorm) and grouped.hodu
(grouped and depthwise Conv2d), tuples.hodu (several outputs) and
windows.hodu (fixed windows of a run-time sequence) with weights
exported from their PyTorch twins (tools/hoduscript_export.py), runs them
with `hodu --run` on random inputs and compares with PyTorch (1e-4).  The
MLP is also built with a run-time batch (--dim B=1..16) and the GPT with a
run-time batch and sequence length (--dim B=1..4 --dim T=1..64), each run
at two sizes.

    run_examples.py --hodu build/hodu
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import hoduscript_export  # noqa: E402


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r


def check(hodu, tmp, name, dims, shapes, label, src=None, inp="x", tokens=0, outputs=("output",)):
    w = os.path.join(tmp, f"{name}.safetensors")
    sh([sys.executable, os.path.join(REPO, "tools", "hoduscript_export.py"), name, w])
    so = os.path.join(tmp, f"{name}-{label}.so")
    src = src or os.path.join(REPO, "examples", f"{name}.hodu")
    cmd = [hodu, "--build", src, "--weights", w, "-o", so]
    for d in dims:
        cmd += ["--dim", d]
    sh(cmd)
    model = hoduscript_export.make(name)
    rng = np.random.default_rng(7)
    for shape in shapes:
        if tokens:
            x = rng.integers(0, tokens, size=shape, dtype=np.int64)
        else:
            x = rng.standard_normal(shape).astype(np.float32)
        xin = os.path.join(tmp, "x.npy")
        np.save(xin, x)
        outdir = os.path.join(tmp, f"out-{label}")
        os.makedirs(outdir, exist_ok=True)
        sh([hodu, "--run", so, "--input", f"{inp}={xin}", "--output-dir", outdir])
        with torch.no_grad():
            wants = model(torch.from_numpy(x))
        wants = [wants] if len(outputs) == 1 else list(wants)
        for out, want in zip(outputs, wants):
            got, want = np.load(os.path.join(outdir, f"{out}.npy")), want.numpy()
            if got.shape != want.shape:
                raise SystemExit(f"FAIL {name} {label} {shape} {out}: shape {got.shape} != {want.shape}")
            err = float(np.max(np.abs(got - want)))
            if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
                raise SystemExit(f"FAIL {name} {label} {shape} {out}: max abs error {err}")
            print(f"ok {name} {label} {list(shape)} {out}: max abs error {err:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        check(a.hodu, tmp, "mlp", ["B=4"], [(4, 784)], "static")
        check(a.hodu, tmp, "mlp", ["B=1..16"], [(3, 784), (16, 784)], "runtime-batch")
        check(a.hodu, tmp, "cnn", ["N=2"], [(2, 1, 28, 28)], "static")
        check(a.hodu, tmp, "norms", ["N=2"], [(2, 3, 4, 5)], "static",
              src=os.path.join(REPO, "tests", "script", "norms.hodu"))
        check(a.hodu, tmp, "grouped", ["N=2"], [(2, 8, 10, 12)], "static",
              src=os.path.join(REPO, "tests", "script", "grouped.hodu"))
        check(a.hodu, tmp, "tuples", ["B=3"], [(3, 8)], "static", src=os.path.join(REPO, "tests", "script", "tuples.hodu"),
              outputs=("low", "high", "total"))
        check(a.hodu, tmp, "windows", ["B=1..4", "T=3..16"], [(2, 3, 4), (3, 16, 4), (1, 9, 4)], "runtime-seq",
              src=os.path.join(REPO, "tests", "script", "windows.hodu"), outputs=("last", "before", "head"))
        check(a.hodu, tmp, "transformer_block", ["B=2", "T=10"], [(2, 10, 64)], "static")
        check(a.hodu, tmp, "gpt", ["B=2", "T=16"], [(2, 16)], "static", inp="idx", tokens=256)
        check(a.hodu, tmp, "gpt", ["B=1..4", "T=1..64"], [(1, 7), (3, 64)], "runtime-seq", inp="idx", tokens=256)
    print("run_examples: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
