"""One onnxruntime measurement in a process of its own (run by bench/bench.py).

    python bench/ort_worker.py --model M.onnx --input NAME=FILE.npy ... \\
        --threads T --repeat N --warmup W --out-dir DIR
    python bench/ort_worker.py --baseline

The parent reads this process's peak RSS from wait4(), so the process does
nothing but the measurement: load the inputs, create the session, run W
untimed and N timed runs, save the outputs, print one JSON line.

What is timed is what `hodu --run` times: one inference from inputs already
in memory into output buffers allocated once.  The runs go through an
IOBinding (inputs bound once, outputs bound to numpy arrays allocated once),
so a timed run is one run_with_iobinding call: no feed conversion, no
output allocation, no numpy wrapping, only the Python call itself.  A model
whose outputs cannot be bound that way falls back to sess.run, and "timing"
in the JSON line says which was timed.  With
--baseline it only imports numpy and onnxruntime, which is the part of the
peak RSS that is the Python interpreter's and not onnxruntime's.
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np
import onnxruntime as ort


def output_file(name):
    # The same file name `hodu --run --output-dir` writes for an output.
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]
    if s in ("", ".", ".."):
        s += "_"
    return s + ".npy"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--model")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out-dir")
    a = ap.parse_args()
    if a.baseline:
        print(json.dumps({"ort_version": ort.__version__}))
        return 0

    feeds = {}
    for item in a.input:
        name, _, path = item.partition("=")
        feeds[name] = np.load(path)

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    session_s = time.perf_counter() - t0
    names = [o.name for o in sess.get_outputs()]

    # One plain run gives the output shapes and dtypes for the binding (and
    # the outputs saved, should the binding fail).
    outs = sess.run(names, feeds)
    run_once, timing = (lambda: sess.run(names, feeds)), "run"
    try:
        binding = sess.io_binding()
        keep = []  # the OrtValues must outlive the binding
        for name, value in feeds.items():
            keep.append(ort.OrtValue.ortvalue_from_numpy(value))
            binding.bind_ortvalue_input(name, keep[-1])
        bound = [np.empty_like(o) for o in outs]
        for name, value in zip(names, bound):
            keep.append(ort.OrtValue.ortvalue_from_numpy(value))
            binding.bind_ortvalue_output(name, keep[-1])
        sess.run_with_iobinding(binding)
        run_once, timing, outs = (lambda: sess.run_with_iobinding(binding)), "iobinding", bound
    except Exception:  # the plain run is still a measurement, only a slower one
        pass

    # W runs, and at least 0.2 s as hodu --run does: a short model's first
    # milliseconds meet cold caches and a CPU still raising its clock
    t_warm = time.perf_counter()
    for _ in range(max(1, a.warmup)):
        run_once()
    while time.perf_counter() - t_warm < 0.2:
        run_once()
    ms = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        run_once()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()

    os.makedirs(a.out_dir, exist_ok=True)
    for name, value in zip(names, outs):
        np.save(os.path.join(a.out_dir, output_file(name)), value)
    print(json.dumps({"median_ms": ms[len(ms) // 2], "best_ms": ms[0], "runs": len(ms),
                      "session_s": session_s, "timing": timing, "outputs": names, "ort_version": ort.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
