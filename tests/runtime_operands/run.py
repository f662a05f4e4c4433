#!/usr/bin/env python3
"""Shape-deciding operands given at run time, against onnxruntime: Resize's
scales, sizes (keep_aspect_ratio_policy) and roi, Upsample's scales, the
Reduce ops' axes (keepdims 0 and 1) and Pad's pads and axes.

    run.py [--hodu PATH] [--seed S] [--work DIR] [--cflags FLAGS] [--timeout SEC]

Each case is one node whose operands are graph inputs; the model declares
every output's shape (taken from onnxruntime on the first value set), so
hodu builds for it and reads the operands when the model runs.  Each case
carries two value sets that give the same output shape (scales 2 and 2.1
on an axis of 5, axes 1 and 2 of a [2, 3, 3] reduced without keepdims, ...):
one build runs both, and each output must agree with onnxruntime on the
same inputs,

  |hodu - ort| <= 1e-4 + 1e-4 * |ort|   elementwise

except for the coordinate modes where onnxruntime departs from the ONNX
definition or has no kernel (align_corners, pytorch_half_pixel,
half_pixel_symmetric), where the ONNX reference (onnx.reference), the node
tests' oracle, is.

Prints one line per case and value set, and a summary.  Exit status: 0 when
every case agreed; 1 on any disagreement or failure; 2 when the test cannot
start (missing hodu, numpy, onnx or onnxruntime).  Nothing is skipped.
"""
import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def log(msg=""):
    print(msg, flush=True)


def die(msg):
    log(f"runtime_operands: error: {msg}")
    sys.exit(2)


try:
    import numpy as np
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator
    import onnxruntime as ort
except ImportError as exc:
    die(f"{exc}; the test needs numpy, onnx and onnxruntime (tools/setup.sh installs them into .venv)")

ort.set_default_logger_severity(3)
ATOL = RTOL = 1e-4


class Case:
    """One node: its data input x, its operands (slot -> one array per value
    set; None: omitted), attributes and oracle."""

    def __init__(self, name, op, x, operands, attrs=None, oracle="ort"):
        self.name, self.op, self.x, self.attrs, self.oracle = name, op, x, attrs or {}, oracle
        self.operands = operands  # list over input slots 1..: None or [array per value set]

    def names(self):
        return [f"{self.name}_x"] + [f"{self.name}_in{i + 1}" if v is not None else "" for i, v in
                                     enumerate(self.operands)]

    def output(self):
        return f"{self.name}_y"

    def feeds(self, k):
        f = {self.names()[0]: self.x}
        for n, v in zip(self.names()[1:], self.operands):
            if v is not None:
                f[n] = v[k]
        return f


def build_model(cases, opset, shapes=None):
    nodes, inputs, outputs = [], [], []
    for c in cases:
        for n, arr in c.feeds(0).items():
            inputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(arr.dtype), arr.shape))
        nodes.append(helper.make_node(c.op, c.names(), [c.output()], name=c.name, **c.attrs))
        dt = helper.np_dtype_to_tensor_dtype(c.x.dtype)
        outputs.append(helper.make_tensor_value_info(c.output(), dt, shapes[c.name] if shapes else None))
    g = helper.make_graph(nodes, "runtime_operands", inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def oracle_run(cases, opset, k):
    """Each case's expected output for value set k (one model per case, so
    one oracle's failure names its case)."""
    res = {}
    for c in cases:
        m = build_model([c], opset)
        feeds = c.feeds(k)
        if c.oracle == "ort":
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
            res[c.name] = s.run([c.output()], feeds)[0]
        else:
            res[c.name] = ReferenceEvaluator(m).run([c.output()], feeds)[0]
    return res


def run(cmd, a):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                          timeout=a.timeout)


def compare(got, want):
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    g, w = got.astype(np.float64), want.astype(np.float64)
    if not np.array_equal(np.isnan(g), np.isnan(w)):
        return "NaN in different places"
    bad = ~np.isclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, np.abs(g - w), 0)), g.shape)
        return f"{int(bad.sum())} of {g.size} differ; at {list(map(int, i))} {g[i]!r} vs {w[i]!r}"
    return None


# --- the cases -------------------------------------------------------------


def f32(v):
    return np.array(v, np.float32)


def i64(v):
    return np.array(v, np.int64)


def same_floor_scale(rng, n):
    """Two float32 scales s, t with floor(s * n) == floor(t * n) > 0."""
    o = int(rng.integers(max(1, n // 3), 3 * n + 1))
    s, t = np.float32((o + 0.05) / n), np.float32((o + 0.9) / n)
    assert np.floor(np.float64(s) * n) == np.floor(np.float64(t) * n) == o
    return float(s), float(t)


# onnxruntime has no half_pixel_symmetric, and maps align_corners and
# pytorch_half_pixel with the integer output length where the ONNX
# definition (and its reference) takes input length x scale.
REF_COORDS = ("align_corners", "pytorch_half_pixel", "half_pixel_symmetric")


def resize_cases(rng):
    out = []
    coords = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"]
    modes = [("nearest", {"nearest_mode": m}) for m in ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]]
    modes += [("linear", {}), ("cubic", {}), ("cubic", {"cubic_coeff_a": -0.5, "exclude_outside": 1})]
    for (mode, extra), ct in itertools.product(modes, coords):
        x = rng.standard_normal((1, 2, 5, 7)).astype(np.float32)
        (s2, t2), (s3, t3) = same_floor_scale(rng, 5), same_floor_scale(rng, 7)
        scales = [f32([1, 1, s2, s3]), f32([1, 1, t2, t3])]
        name = f"rs_{mode}_{ct}_{len(out)}"
        oracle = "ref" if ct in REF_COORDS else "ort"
        out.append(Case(name, "Resize", x, [None, scales],
                        {"mode": mode, "coordinate_transformation_mode": ct, **extra}, oracle))
    # axes, 3-D input, int8 nearest, antialias down, not_larger / not_smaller
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    out.append(Case("rs_axes_2_0", "Resize", x, [None, [f32([1.5, 0.5]), f32([1.7, 0.4])]],
                    {"mode": "linear", "axes": [2, 0]}))
    for mode in ["linear", "cubic"]:
        x = rng.standard_normal((1, 1, 9, 11)).astype(np.float32)
        out.append(Case(f"rs_antialias_{mode}", "Resize", x, [None, [f32([1, 1, 0.45, 0.6]), f32([1, 1, 0.5, 0.62])]],
                        {"mode": mode, "antialias": 1}))
    for pol in ["not_larger", "not_smaller"]:
        x = rng.standard_normal((1, 2, 6, 9)).astype(np.float32)
        sizes = [i64([4, 7]), i64([4, 6])] if pol == "not_larger" else [i64([4, 4]), i64([3, 6])]
        out.append(Case(f"rs_sizes_{pol}", "Resize", x, [None, None, sizes],
                        {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": pol}))
    for mode in ["nearest", "linear", "cubic"]:
        x = rng.standard_normal((1, 2, 6, 5)).astype(np.float32)
        # (no source coordinate at a nearest tie: hodu maps in double,
        # the ONNX reference in float)
        roi = [f32([0.13, -0.21, 0.87, 1.33]), f32(rng.uniform(-0.3, 1.3, 4))]
        out.append(Case(f"rs_tf_crop_{mode}", "Resize", x, [roi, None, [i64([4, 7])] * 2],
                        {"mode": mode, "coordinate_transformation_mode": "tf_crop_and_resize", "axes": [2, 3],
                         "extrapolation_value": 2.5}))
    return out


def upsample_cases(rng):
    out = []
    for mode in ["nearest", "linear"]:
        x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
        out.append(Case(f"up_{mode}", "Upsample", x, [[f32([1, 1, 2, 1.5]), f32([1, 1, 2.3, 1.74])]], {"mode": mode}))
    return out


REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def reduce_cases(rng):
    out = []
    for op in REDUCE_OPS:
        for keep in (0, 1):
            # [2, 3, 3, 2]: without keepdims, axes {1} and {2} (or {0, 3}
            # and {0, 2}...) give one shape; with it, the dims of size 1
            x = rng.uniform(0.5, 1.5, (2, 3, 3, 2)).astype(np.float32)
            if keep:
                axes = [i64([1]), i64([-3])]
            else:
                axes = [i64([1]), i64([2])]
            out.append(Case(f"{op}_{keep}_one", op, x, [axes], {"keepdims": keep}))
            x = rng.uniform(0.5, 1.5, (2, 3, 3, 2)).astype(np.float32)
            axes = [i64([0, 2]), i64([2, 0])] if not keep else [i64([0, 2]), i64([2, -4])]
            out.append(Case(f"{op}_{keep}_two", op, x, [axes], {"keepdims": keep}))
    return out


def pad_cases(rng):
    out = []
    for mode in ["constant", "reflect", "edge", "wrap"]:
        x = rng.standard_normal((2, 3, 4)).astype(np.float32)
        pads = [i64([1, -1, 2, 0]), i64([3, 0, 0, -1])]
        axes = [i64([2, 1]), i64([-1, 1])]
        out.append(Case(f"pad_{mode}", "Pad", x, [pads, None, axes], {"mode": mode}))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"), help="the hodu binary (default build/hodu)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    ap.add_argument("--work", help="keep the models, libraries and outputs here (default: a temporary folder)")
    ap.add_argument("--cflags", default="-O0", help="flags for the models' C (default -O0, which builds fast)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds one build or run may take (default 300)")
    a = ap.parse_args(argv)
    if not (os.path.isfile(a.hodu) and os.access(a.hodu, os.X_OK)):
        die(f"no hodu binary at {a.hodu} (build it, or pass --hodu)")
    a.hodu = os.path.abspath(a.hodu)
    rng = np.random.default_rng(a.seed)
    groups = [("resize", 19, resize_cases(rng)), ("upsample", 9, upsample_cases(rng)),
              ("reduce", 18, reduce_cases(rng)), ("pad", 19, pad_cases(rng))]
    work = os.path.abspath(a.work) if a.work else tempfile.mkdtemp(prefix="hodu-rtops.")
    os.makedirs(work, exist_ok=True)
    t0 = time.perf_counter()
    n_ok = n_bad = 0
    try:
        for tag, opset, cases in groups:
            d = os.path.join(work, tag)
            os.makedirs(d, exist_ok=True)
            wants, err = [], None
            try:
                wants = [oracle_run(cases, opset, k) for k in (0, 1)]
            except Exception as exc:  # the oracle must run: a failure, not a skip
                err = f"oracle failed: {type(exc).__name__}: {str(exc)[:300]}"
            if not err:
                for c in cases:
                    if wants[0][c.name].shape != wants[1][c.name].shape:
                        err = f"test bug: {c.name}'s value sets give different shapes"
            so = os.path.join(d, "model.so")
            if not err:
                model = build_model(cases, opset, {c.name: list(wants[0][c.name].shape) for c in cases})
                onnx.save(model, os.path.join(d, "model.onnx"))
                p = run([a.hodu, "--build", os.path.join(d, "model.onnx"), "-o", so, "--cflags", a.cflags], a)
                if p.returncode != 0:
                    err = "build failed: " + " | ".join(p.stdout.strip().splitlines()[:4])
            log(f"{tag}: {len(cases)} cases, opset {opset}")
            for k in (0, 1):
                msgs = {}
                if not err:
                    od = os.path.join(d, f"out{k}")
                    cmd = [a.hodu, "--run", so, "--output-dir", od]
                    for c in cases:
                        for n, arr in c.feeds(k).items():
                            f = os.path.join(d, f"{n}_{k}.npy")
                            np.save(f, arr)
                            cmd += ["--input", f"{n}={f}"]
                    p = run(cmd, a)
                    if p.returncode != 0:
                        msgs = {c.name: f"run failed (exit {p.returncode}): " + " | ".join(
                            p.stdout.strip().splitlines()[:3]) for c in cases}
                    else:
                        for c in cases:
                            f = os.path.join(od, c.output() + ".npy")
                            msgs[c.name] = compare(np.load(f), wants[k][c.name]) if os.path.isfile(f) else "no output"
                for c in cases:
                    msg = err or msgs.get(c.name)
                    ok = msg is None
                    n_ok += ok
                    n_bad += not ok
                    log(f"{'ok  ' if ok else 'FAIL'} {tag:<8} {c.name:<40} set {k} {'' if ok else msg}")
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    log(f"runtime_operands: {n_ok} agreed, {n_bad} failed ({time.perf_counter() - t0:.1f} s)")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
