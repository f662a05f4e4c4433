"""What a run-time height and width cost: one model built twice, static at
one size and with run-time spatial dims, both run at that size, in one run.

usage: bench/rtdims_conv.py [--model M.onnx] [--size 224] [--range 160..320]
                            [--threads T] [--repeat N] [--rounds R] [--hodu PATH] [--work DIR]

The model (default: torchvision's ResNet-50 with random weights, exported
with dynamic batch, height and width; cached in WORK) is built
  static    --dim batch=1 --dim height=SIZE --dim width=SIZE
  run-time  --dim batch=1 --dim height=LO..HI --dim width=LO..HI
and each library runs `hodu --run --repeat N --threads T` on the same
SIZExSIZE input; the two alternate R times, each side's figure is the
median of its rounds' medians, and the outputs must agree within 1e-4.
Printed: ms per run of each, and the ratio run-time / static, of the
medians and of the best single runs (steadier on a shared machine).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_resnet50(path):
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet50(weights=None).eval()
    torch.onnx.export(net, (torch.randn(1, 3, 224, 224),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}}, opset_version=17, dynamo=False)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"rtdims_conv: {' '.join(cmd)}: exit status {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--range", default="160..320")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--work", default=os.path.join(REPO, "build", "bench", "rtdims_conv"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    model = a.model
    if not model:
        model = os.path.join(a.work, "resnet50.onnx")
        if not os.path.exists(model):
            export_resnet50(model)
    # the input dims' names: the first input's, as the model declares them
    import onnx
    m = onnx.load(model, load_external_data=False)
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    nb, hs, ws = dims[0], dims[2], dims[3]
    fixed = ["--dim", f"{nb}=1"] if isinstance(nb, str) else []
    libs = {"static": os.path.join(a.work, "static.so"), "run-time": os.path.join(a.work, "runtime.so")}
    run([a.hodu, "--build", model, "-o", libs["static"]] + fixed +
        ["--dim", f"{hs}={a.size}", "--dim", f"{ws}={a.size}"])
    run([a.hodu, "--build", model, "-o", libs["run-time"]] + fixed +
        ["--dim", f"{hs}={a.range}", "--dim", f"{ws}={a.range}"])
    x = np.random.default_rng(0).standard_normal((1, dims[1], a.size, a.size)).astype(np.float32)
    xin = os.path.join(a.work, "x.npy")
    np.save(xin, x)
    name = m.graph.input[0].name
    ms = {k: [] for k in libs}
    best, outs = {}, {}
    for _ in range(a.rounds):
        for k, lib in libs.items():
            od = os.path.join(a.work, k.replace("-", ""))
            out = run([a.hodu, "--run", lib, "--input", f"{name}={xin}", "--repeat", str(a.repeat), "--threads",
                       str(a.threads), "--output-dir", od])
            t = re.search(r"time: median ([0-9.]+) ms, best ([0-9.]+) ms", out)
            if not t:
                sys.exit(f"rtdims_conv: no time in the output of {lib}")
            ms[k].append(float(t.group(1)))
            best[k] = min(best.get(k, float("inf")), float(t.group(2)))
            outs[k] = np.load(os.path.join(od, f"{m.graph.output[0].name}.npy"))
    err = float(np.abs(outs["static"] - outs["run-time"]).max())
    st, rt = statistics.median(ms["static"]), statistics.median(ms["run-time"])
    print(f"model {os.path.basename(model)} at {a.size}x{a.size}, {a.threads} thread(s), "
          f"{a.rounds} rounds of {a.repeat} runs")
    print(f"  static    {a.size}x{a.size}: {st:.2f} ms  (rounds {ms['static']})")
    print(f"  run-time  {a.range}: {rt:.2f} ms  (rounds {ms['run-time']})")
    print(f"  ratio run-time / static: {rt / st:.3f} (medians), {best['run-time'] / best['static']:.3f} (best runs: "
          f"{best['run-time']:.2f} and {best['static']:.2f} ms); max |difference| of the outputs {err:.3g}")
    return 0 if err <= 1e-4 * max(1.0, float(np.abs(outs["static"]).max())) else 1


if __name__ == "__main__":
    sys.exit(main())
