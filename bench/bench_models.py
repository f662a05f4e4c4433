"""Speed of hodu-compiled models against onnxruntime, measured in one run.

For each model: build it with hodu, make seeded random inputs, time
`hodu --run --repeat N` (median of N runs inside one process) and an
onnxruntime session on the same inputs (median of N runs), both on one
thread, and print the ratio onnxruntime_ms / hodu_ms (above 1 = hodu faster).

usage: python bench/bench_models.py --hodu build/hodu MODEL.onnx [...]
       [--repeat 20] [--cflags "-march=native"] [--ort-threads 1]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort


def random_inputs(model_path, seed):
    rng = np.random.default_rng(seed)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        if "int" in i.type:
            high = 2 if "mask" in i.name else 100
            feeds[i.name] = rng.integers(0 if high == 100 else 1, high, shape).astype(
                np.int64 if "int64" in i.type else np.int32)
        elif "bool" in i.type:
            feeds[i.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def time_ort(model_path, feeds, repeat, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    sess.run(None, feeds)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--hodu", default="build/hodu")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--cflags", default="")
    ap.add_argument("--ort-threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hodu-bench-")
    print(f"{'model':24} {'hodu ms':>10} {'ort ms':>10} {'ort/hodu':>9}")
    status = 0
    for path in args.models:
        name = os.path.splitext(os.path.basename(path))[0]
        lib = os.path.join(work, name + ".so")
        feeds = random_inputs(path, args.seed)
        cmd = [args.hodu, "--build", path, "-o", lib]
        if args.cflags:
            cmd += ["--cflags", args.cflags]
        b = subprocess.run(cmd, capture_output=True, text=True)
        if b.returncode != 0:
            print(f"{name:24} build failed: {b.stderr.strip().splitlines()[0] if b.stderr else b.returncode}")
            status = 1
            continue
        run = [args.hodu, "--run", lib, "--repeat", str(args.repeat)]
        for k, v in feeds.items():
            f = os.path.join(work, f"{name}.{re.sub(r'[^A-Za-z0-9_.-]', '_', k)}.npy")
            np.save(f, v)
            run += ["--input", f"{k}={f}"]
        r = subprocess.run(run, capture_output=True, text=True)
        m = re.search(r"time: median ([0-9.]+) ms", r.stdout)
        if r.returncode != 0 or not m:
            print(f"{name:24} run failed: {r.stderr.strip()}")
            status = 1
            continue
        hodu_ms = float(m.group(1))
        ort_ms = time_ort(path, feeds, args.repeat, args.ort_threads)
        print(f"{name:24} {hodu_ms:10.3f} {ort_ms:10.3f} {ort_ms / hodu_ms:9.2f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
