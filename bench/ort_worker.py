"""One onnxruntime measurement in a process of its own (run by bench/bench.py).

    python bench/ort_worker.py --model M.onnx --input NAME=FILE.npy ... \\
        --threads T --repeat N --warmup W --out-dir DIR
    python bench/ort_worker.py --baseline

The parent reads this process's peak RSS from wait4(), so the process does
nothing but the measurement: load the inputs, create the session, run W
untimed and N timed runs, save the outputs, print one JSON line.  With
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

    for _ in range(max(1, a.warmup)):
        outs = sess.run(names, feeds)
    ms = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        sess.run(names, feeds)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()

    os.makedirs(a.out_dir, exist_ok=True)
    for name, value in zip(names, outs):
        np.save(os.path.join(a.out_dir, output_file(name)), value)
    print(json.dumps({"median_ms": ms[len(ms) // 2], "best_ms": ms[0], "runs": len(ms),
                      "session_s": session_s, "outputs": names, "ort_version": ort.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
