#!/usr/bin/env python3
"""HoduScript against ONNX: the same model, written in HoduScript
(examples/*.hodu) and exported from its PyTorch twin (tools/hoduscript_export.py,
torch.onnx.export, the same weights), both built by hodu and timed in
alternation with `hodu --run --repeat N`.  The two front ends lower into one
IR, so the libraries should run at the same speed; the table gives
HoduScript ms / ONNX ms per model (1.00 = same speed) and checks that the
outputs agree (1e-4 relative).

    bench/script_vs_onnx.py [--hodu build/hodu] [--repeat 200] [--rounds 3] [--threads 1]

Python: the repository's .venv (torch, onnx, numpy, safetensors).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import hoduscript_export  # noqa: E402

# name, the input's name, its shape (--dim values bind the script's names), token range (0: floats)
MODELS = [
    ("mlp", "x", (64, 784), ["B=64"], 0),
    ("cnn", "x", (8, 1, 28, 28), ["N=8"], 0),
    ("transformer_block", "x", (4, 64, 64), ["B=4", "T=64"], 0),
    ("gpt", "idx", (4, 64), ["B=4", "T=64"], 256),
]


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"script_vs_onnx: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def median_ms(hodu, lib, inp, path, repeat, threads):
    out = sh([hodu, "--run", lib, "--input", f"{inp}={path}", "--repeat", str(repeat), "--threads", str(threads)])
    m = re.search(r"median ([\d.]+) ms", out)
    if not m:
        raise SystemExit(f"script_vs_onnx: no median in the output of hodu --run {lib}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(5)
    ratios = []
    print(f"{'model':18} {'shape':16} {'script ms':>10} {'onnx ms':>10} {'ratio':>6} {'max rel diff':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, inp, shape, dims, tokens in MODELS:
            w = os.path.join(tmp, f"{name}.safetensors")
            sh([sys.executable, os.path.join(REPO, "tools", "hoduscript_export.py"), name, w])
            x = (rng.integers(0, tokens, size=shape, dtype=np.int64) if tokens
                 else rng.standard_normal(shape).astype(np.float32))
            xpath = os.path.join(tmp, f"{name}_in.npy")
            np.save(xpath, x)
            onnx_path = os.path.join(tmp, f"{name}.onnx")
            torch.onnx.export(hoduscript_export.make(name), (torch.from_numpy(x),), onnx_path, input_names=[inp],
                              output_names=["output"], opset_version=17, dynamo=False)
            libs = {"script": os.path.join(tmp, f"{name}_script.so"), "onnx": os.path.join(tmp, f"{name}_onnx.so")}
            dim_args = [arg for d in dims for arg in ("--dim", d)]
            sh([a.hodu, "--build", os.path.join(REPO, "examples", f"{name}.hodu"), "--weights", w, "-o",
                libs["script"]] + dim_args)
            sh([a.hodu, "--build", onnx_path, "-o", libs["onnx"]])
            outs = {}
            for kind, lib in libs.items():
                d = os.path.join(tmp, f"{name}_{kind}_out")
                sh([a.hodu, "--run", lib, "--input", f"{inp}={xpath}", "--output-dir", d])
                outs[kind] = np.load(os.path.join(d, "output.npy"))
            diff = float(np.max(np.abs(outs["script"] - outs["onnx"]))) / max(float(np.max(np.abs(outs["onnx"]))),
                                                                              1e-30)
            times = {"script": [], "onnx": []}
            for _ in range(a.rounds):  # alternate, so drift on a shared machine hits both
                for kind, lib in libs.items():
                    times[kind].append(median_ms(a.hodu, lib, inp, xpath, a.repeat, a.threads))
            ms = {k: statistics.median(v) for k, v in times.items()}
            ratios.append(ms["script"] / ms["onnx"])
            print(f"{name:18} {str(list(shape)):16} {ms['script']:10.4f} {ms['onnx']:10.4f} {ratios[-1]:6.2f} "
                  f"{diff:12.2e}")
            if not diff <= 1e-4:
                raise SystemExit(f"script_vs_onnx: {name}: the two libraries differ by {diff:.3g} (bar 1e-4)")
    geo = float(np.exp(np.mean(np.log(ratios))))
    print(f"geomean HoduScript ms / ONNX ms: {geo:.2f} ({a.threads} thread{'s' if a.threads > 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
