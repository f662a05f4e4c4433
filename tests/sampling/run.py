#!/usr/bin/env python3
"""The sampling ops against onnxruntime: GridSample, AffineGrid, RoiAlign,
Col2Im, CenterCropPad and DeformConv on cases the ONNX node tests leave
out (every padding mode with every interpolation, 3-D grids, groups and
offset groups, adaptive RoiAlign sampling, float16 and float64, ...).

    run.py [--hodu PATH] [--seed S] [--work DIR] [--cflags FLAGS] [--timeout SEC]

Each case is one node; the cases of one opset are the nodes of one model,
so a model is built once by the real `hodu` (shape-deciding operands are
initializers) and run once on seeded random inputs given at run time
(`hodu --run --input NAME=FILE.npy`).  Every output must agree with
onnxruntime on the same inputs,

  |hodu - ort| <= atol + rtol * |ort|   elementwise (per dtype: below)

except where onnxruntime has no kernel (GridSample cubic in 3-D), where
the ONNX reference (onnx.reference) is the oracle.  One model takes the
shape-deciding operands at run time, as a user gives them, with the output
shapes declared: Col2Im's image_shape and block_shape, AffineGrid's size,
and TopK's K (largest and smallest, on every axis of a 3-D tensor, so the
run-time K path of that op is covered too).  A last model feeds
hostile run-time values (NaN, infinities and huge grid coordinates, boxes
and offsets; batch indices out of range) and checks that the run succeeds
and every output is finite: with finite X and W no such value may make a
read leave its operand (an ASan build of hodu's models would report it).

Prints one line per case and a summary.  Exit status: 0 when every case
agreed; 1 on any disagreement or failure; 2 when the test cannot start
(missing hodu, missing numpy, onnx or onnxruntime).  Nothing is skipped.
"""
import argparse
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
    log(f"sampling: error: {msg}")
    sys.exit(2)


try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator
    import onnxruntime as ort
except ImportError as exc:
    die(f"{exc}; the test needs numpy, onnx and onnxruntime (tools/setup.sh installs them into .venv)")

ort.set_default_logger_severity(3)  # not its RoiAlign max-mode notice
F16, F32, F64 = np.float16, np.float32, np.float64
TOL = {F16: (2e-2, 2e-2), F32: (1e-4, 1e-4), F64: (1e-9, 1e-9)}  # (atol, rtol)


class Case:
    """One node: data inputs (fed at run time) and constant inputs
    (initializers), attributes, and the oracle's name."""

    def __init__(self, name, op, inputs, attrs=None, oracle="ort", declared=None):
        self.name, self.op, self.attrs, self.oracle = name, op, attrs or {}, oracle
        # [(role, array)], role "data" (random, at run time), "rt" (a
        # shape-deciding operand at run time) or "const"; None: omitted
        self.inputs = inputs
        self.dtype = next(a.dtype.type for r, a in inputs if r == "data")
        # declared output shapes and dtypes [(shape, np dtype)], or None:
        # one output of the data's dtype, shape left to inference
        self.declared = declared

    def names(self):
        return [f"{self.name}_in{i}" if x is not None else "" for i, x in enumerate(self.inputs)]

    def outputs(self):
        n = len(self.declared) if self.declared else 1
        return [f"{self.name}_y"] + [f"{self.name}_y{i}" for i in range(1, n)]

    def output(self):
        return self.outputs()[0]


def build_model(cases, opset):
    nodes, inputs, inits, outputs = [], [], [], []
    for c in cases:
        names = c.names()
        for n, x in zip(names, c.inputs):
            if x is None:
                continue
            role, arr = x
            if role == "const":
                inits.append(numpy_helper.from_array(arr, n))
            else:
                inputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(arr.dtype), arr.shape))
        nodes.append(helper.make_node(c.op, names, c.outputs(), name=c.name, **c.attrs))
        for i, o in enumerate(c.outputs()):
            shape, dt = c.declared[i] if c.declared else (None, c.dtype)
            outputs.append(helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(np.dtype(dt)), shape))
    g = helper.make_graph(nodes, "sampling", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def feeds_of(cases):
    return {n: arr for c in cases for n, x in zip(c.names(), c.inputs) if x is not None and x[0] in ("data", "rt")
            for arr in [x[1]]}


def oracle_outputs(model, cases, feeds, kind):
    if kind == "ort":
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        res = s.run([o for c in cases for o in c.outputs()], feeds)
    else:
        res = ReferenceEvaluator(model).run([o for c in cases for o in c.outputs()], feeds)
    return dict(zip([o for c in cases for o in c.outputs()], res))


def run_hodu(a, model, feeds, work, tag):
    d = os.path.join(work, tag)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    so = os.path.join(d, "model.so")
    cmd = [a.hodu, "--build", path, "-o", so, "--cflags", a.cflags]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=a.timeout)
    if p.returncode != 0:
        return None, "build failed: " + " | ".join(p.stdout.strip().splitlines()[:4])
    cmd = [a.hodu, "--run", so, "--output-dir", os.path.join(d, "out")]
    for n, arr in feeds.items():
        f = os.path.join(d, n + ".npy")
        np.save(f, arr)
        cmd += ["--input", f"{n}={f}"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=a.timeout)
    if p.returncode != 0:
        return None, f"run failed (exit {p.returncode}): " + " | ".join(p.stdout.strip().splitlines()[:4])
    return os.path.join(d, "out"), None


def compare(got, want, dtype):
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    atol, rtol = TOL.get(dtype, (0.0, 0.0))  # integers: exact
    g, w = got.astype(np.float64), want.astype(np.float64)
    if not np.array_equal(np.isnan(g), np.isnan(w)):
        return "NaN in different places"
    bad = ~np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, np.abs(g - w), 0)), g.shape)
        return f"{int(bad.sum())} of {g.size} differ; at {list(map(int, i))} {g[i]!r} vs {w[i]!r}"
    return None


# --- the cases -------------------------------------------------------------


def grid_cases(rng, v16):
    modes = ["nearest", "bilinear", "bicubic"] if v16 else ["nearest", "linear", "cubic"]
    out = []
    for mode in modes:
        for pad in ["zeros", "border", "reflection"]:
            for ac in (0, 1):
                x = rng.standard_normal((2, 3, 5, 7)).astype(F32)
                g = rng.uniform(-1.4, 1.4, (2, 4, 6, 2)).astype(F32)
                # ONNX reference and onnxruntime clamp both coordinates of
                # a cubic border sample differently when one is outside:
                # keep border cubic grids inside.
                if pad == "border" and mode.endswith("cubic"):
                    g = rng.uniform(-1.0, 1.0, g.shape).astype(F32) * 0.95
                out.append(Case(f"gs{16 if v16 else 20}_{mode}_{pad}_{ac}", "GridSample",
                                [("data", x), ("data", g)], {"mode": mode, "padding_mode": pad, "align_corners": ac}))
    return out


def grid3d_cases(rng):
    out = []
    for mode in ["nearest", "linear"]:
        for pad in ["zeros", "border", "reflection"]:
            for ac in (0, 1):
                x = rng.standard_normal((1, 2, 3, 4, 5)).astype(F32)
                g = rng.uniform(-1.3, 1.3, (1, 2, 3, 4, 3)).astype(F32)
                out.append(Case(f"gs3d_{mode}_{pad}_{ac}", "GridSample", [("data", x), ("data", g)],
                                {"mode": mode, "padding_mode": pad, "align_corners": ac}))
    # float64 and float16 operands, a 1-D grid (rank 3)
    x = rng.standard_normal((2, 2, 6, 5)).astype(F64)
    g = rng.uniform(-1.2, 1.2, (2, 3, 3, 2)).astype(F64)
    out.append(Case("gs_f64", "GridSample", [("data", x), ("data", g)], {"mode": "linear", "padding_mode": "border"}))
    return out


def grid_ref_cases(rng):
    out = []
    for pad in ["zeros", "border", "reflection"]:
        for ac in (0, 1):
            x = rng.standard_normal((1, 2, 3, 4, 5)).astype(F32)
            g = rng.uniform(-1.3, 1.3, (1, 2, 2, 3, 3)).astype(F32)
            out.append(Case(f"gs3d_cubic_{pad}_{ac}", "GridSample", [("data", x), ("data", g)],
                            {"mode": "cubic", "padding_mode": pad, "align_corners": ac}, oracle="ref"))
    x = rng.standard_normal((2, 3, 7)).astype(F32)
    g = rng.uniform(-1.3, 1.3, (2, 5, 1)).astype(F32)
    for mode in ["nearest", "linear", "cubic"]:
        out.append(Case(f"gs1d_{mode}", "GridSample", [("data", x), ("data", g)],
                        {"mode": mode, "padding_mode": "reflection"}, oracle="ref"))
    return out


def affine_cases(rng):
    out = []
    for nd, size in [(2, [2, 3, 5, 4]), (3, [2, 1, 3, 4, 5])]:
        for ac in (0, 1):
            th = rng.standard_normal((2, nd, nd + 1)).astype(F32)
            out.append(Case(f"affine{nd}d_{ac}", "AffineGrid",
                            [("data", th), ("const", np.array(size, np.int64))], {"align_corners": ac}))
    th = rng.standard_normal((1, 2, 3)).astype(F64)
    out.append(Case("affine_f64", "AffineGrid", [("data", th), ("const", np.array([1, 1, 3, 6], np.int64))]))
    return out


def rois(rng, R, H, W):
    x1 = rng.uniform(-2, W - 1, R)
    y1 = rng.uniform(-2, H - 1, R)
    return np.stack([x1, y1, x1 + rng.uniform(0.2, W * 0.8, R), y1 + rng.uniform(0.2, H * 0.8, R)], 1)


def roi_cases(rng, v16):
    out = []
    N, C, H, W, R = 2, 3, 9, 11, 5
    cts = ["half_pixel", "output_half_pixel"] if v16 else [None]
    for ct in cts:
        for mode in ["avg", "max"]:
            for sr, scale in [(0, 1.0), (2, 0.5), (3, 2.0)]:
                x = rng.standard_normal((N, C, H, W)).astype(F32)
                b = (rois(rng, R, H, W) / scale).astype(F32)
                bi = rng.integers(0, N, R).astype(np.int64)
                attrs = {"mode": mode, "output_height": 3, "output_width": 4, "sampling_ratio": sr,
                         "spatial_scale": scale}
                if ct:
                    attrs["coordinate_transformation_mode"] = ct
                out.append(Case(f"roi{16 if v16 else 10}_{ct or 'legacy'}_{mode}_{sr}", "RoiAlign",
                                [("data", x), ("data", b), ("data", bi)], attrs))
    if v16:
        x = rng.standard_normal((1, 2, 6, 7)).astype(F64)
        b = rois(rng, 3, 6, 7).astype(F64)
        out.append(Case("roi_f64", "RoiAlign", [("data", x), ("data", b), ("data", np.zeros(3, np.int64))],
                        {"output_height": 2, "output_width": 2}))
    return out


def col2im_cases(rng):
    out = []
    for name, img, blk, attrs in [
        ("col2im_basic", [5, 6], [2, 3], {}),
        ("col2im_all", [7, 8], [3, 2], {"strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 2, 1]}),
        ("col2im_1d", [9], [3], {"strides": [2], "pads": [1, 1]}),
        ("col2im_3d", [4, 5, 3], [2, 2, 2], {"strides": [1, 2, 1]}),
    ]:
        nd = len(img)
        s, d, p = attrs.get("strides", [1] * nd), attrs.get("dilations", [1] * nd), attrs.get("pads", [0] * 2 * nd)
        L = 1
        for i in range(nd):
            L *= (img[i] + p[i] + p[i + nd] - ((blk[i] - 1) * d[i] + 1)) // s[i] + 1
        x = rng.standard_normal((2, 3 * int(np.prod(blk)), L)).astype(F32)
        out.append(Case(name, "Col2Im", [("data", x), ("const", np.array(img, np.int64)),
                                         ("const", np.array(blk, np.int64))], attrs))
    return out


def runtime_cases(rng):
    """Shape-deciding operands given at run time, output shapes declared."""
    out = []
    for name, img, blk, attrs in [
        ("col2im_rt", [5, 6], [2, 3], {}),
        ("col2im_rt_all", [7, 8], [3, 2], {"strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 2, 1]}),
        ("col2im_rt_3d", [4, 5, 3], [2, 2, 2], {"strides": [1, 2, 1]}),
    ]:
        nd = len(img)
        s, d, p = attrs.get("strides", [1] * nd), attrs.get("dilations", [1] * nd), attrs.get("pads", [0] * 2 * nd)
        L = 1
        for i in range(nd):
            L *= (img[i] + p[i] + p[i + nd] - ((blk[i] - 1) * d[i] + 1)) // s[i] + 1
        x = rng.standard_normal((2, 3 * int(np.prod(blk)), L)).astype(F32)
        out.append(Case(name, "Col2Im", [("data", x), ("rt", np.array(img, np.int64)), ("rt", np.array(blk, np.int64))],
                        attrs, declared=[([2, 3] + img, F32)]))
    for nd, size in [(2, [2, 3, 5, 4]), (3, [2, 1, 3, 4, 5])]:
        th = rng.standard_normal((2, nd, nd + 1)).astype(F32)
        out.append(Case(f"affine_rt{nd}d", "AffineGrid", [("data", th), ("rt", np.array(size, np.int64))],
                        {"align_corners": 1}, declared=[([2] + size[2:] + [nd], F32)]))
    x = rng.standard_normal((4, 5, 6)).astype(F32)
    x[:, :, 3] = x[:, :, 1]  # ties: the lower index comes first
    for axis in (0, 1, -1):
        for largest in (1, 0):
            dims = list(x.shape)
            dims[axis] = 3
            out.append(Case(f"topk_rt_axis{axis}_{'max' if largest else 'min'}", "TopK",
                            [("data", x), ("rt", np.array([3], np.int64))], {"axis": axis, "largest": largest},
                            declared=[(dims, F32), (dims, np.int64)]))
    return out


def crop_cases(rng):
    out = []
    for name, shape, want, axes, dt in [
        ("ccp_mixed", (6, 7, 4), [3, 10, 4], None, F32),
        ("ccp_axes", (5, 8, 3), [9, 3], [-1, 1], F32),
        ("ccp_f16", (4, 5), [7, 2], None, F16),
        ("ccp_i64", (3, 6), [5], [1], np.int64),
    ]:
        x = rng.standard_normal(shape).astype(dt) if dt != np.int64 else rng.integers(-9, 9, shape).astype(dt)
        attrs = {"axes": axes} if axes else {}
        out.append(Case(name, "CenterCropPad", [("data", x), ("const", np.array(want, np.int64))], attrs))
    return out


def deform_cases(rng):
    out = []
    for name, N, C, M, H, W, k, G, OG, attrs, bias, mask in [
        ("dc_groups", 2, 4, 6, 6, 7, (3, 3), 2, 1, {"pads": [1, 1, 1, 1]}, True, False),
        ("dc_offgroups", 1, 4, 2, 5, 6, (2, 3), 1, 2, {"strides": [2, 1], "dilations": [1, 2]}, False, True),
        ("dc_both", 2, 6, 4, 7, 5, (3, 2), 2, 3, {"pads": [0, 1, 2, 0], "strides": [1, 2]}, True, True),
    ]:
        s, d = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
        p = attrs.get("pads", [0, 0, 0, 0])
        OH = (H + p[0] + p[2] - ((k[0] - 1) * d[0] + 1)) // s[0] + 1
        OW = (W + p[1] + p[3] - ((k[1] - 1) * d[1] + 1)) // s[1] + 1
        ins = [("data", rng.standard_normal((N, C, H, W)).astype(F32)),
               ("data", rng.standard_normal((M, C // G, *k)).astype(F32)),
               ("data", (rng.standard_normal((N, OG * k[0] * k[1] * 2, OH, OW)) * 1.5).astype(F32)),
               ("data", rng.standard_normal(M).astype(F32)) if bias else None,
               ("data", rng.uniform(0, 1, (N, OG * k[0] * k[1], OH, OW)).astype(F32)) if mask else None]
        while ins[-1] is None:
            ins.pop()
        out.append(Case(name, "DeformConv", ins, dict(attrs, group=G, offset_group=OG, kernel_shape=list(k))))
    x = rng.standard_normal((1, 2, 5, 5)).astype(F64)
    out.append(Case("dc_f64", "DeformConv", [("data", x), ("data", rng.standard_normal((3, 2, 2, 2)).astype(F64)),
                                             ("data", rng.standard_normal((1, 8, 4, 4)).astype(F64))]))
    return out


def hostile_cases(rng):
    """Run-time values that must not make a read leave its operand."""
    bad = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3e9, -7.5, 40.0], F32)
    out = []
    for mode in ["nearest", "linear", "cubic"]:
        for pad in ["zeros", "border", "reflection"]:
            for ac in (0, 1):
                g = rng.choice(bad, (1, 4, 4, 2)).astype(F32)
                out.append(Case(f"bad_gs_{mode}_{pad}_{ac}", "GridSample",
                                [("data", rng.standard_normal((1, 2, 1, 3)).astype(F32)), ("data", g)],
                                {"mode": mode, "padding_mode": pad, "align_corners": ac}))
    g = rng.choice(bad, (1, 2, 2, 2, 3)).astype(F32)
    out.append(Case("bad_gs3d", "GridSample", [("data", rng.standard_normal((1, 1, 2, 3, 1)).astype(F32)),
                                               ("data", g)], {"mode": "cubic", "padding_mode": "reflection"}))
    for sr in (0, 2):
        b = rng.choice(bad, (6, 4)).astype(F32)
        bi = np.array([0, -1, 1, 5, -(2 ** 62), 2 ** 62], np.int64)
        out.append(Case(f"bad_roi_{sr}", "RoiAlign", [("data", rng.standard_normal((2, 2, 4, 5)).astype(F32)),
                                                      ("data", b), ("data", bi)],
                        {"sampling_ratio": sr, "output_height": 2, "output_width": 3, "mode": "max" if sr else "avg"}))
    off = rng.choice(bad, (1, 8, 2, 2)).astype(F32)
    out.append(Case("bad_dc", "DeformConv", [("data", rng.standard_normal((1, 1, 3, 3)).astype(F32)),
                                             ("data", rng.standard_normal((1, 1, 2, 2)).astype(F32)),
                                             ("data", off)], {"kernel_shape": [2, 2]}))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"), help="the hodu binary (default build/hodu)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    ap.add_argument("--work", help="keep the models, libraries and outputs here (default: a temporary folder)")
    ap.add_argument("--cflags", default="-O0",
                    help="flags for the models' C (default -O0, which builds fast; e.g. add -fsanitize=address "
                    "with an ASan build of hodu)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds one build or run may take (default 300)")
    a = ap.parse_args(argv)
    if not (os.path.isfile(a.hodu) and os.access(a.hodu, os.X_OK)):
        die(f"no hodu binary at {a.hodu} (build it, or pass --hodu)")
    a.hodu = os.path.abspath(a.hodu)
    rng = np.random.default_rng(a.seed)
    groups = [  # (tag, opset, cases, oracle)
        ("opset22", 22, grid_cases(rng, False) + grid3d_cases(rng) + affine_cases(rng) + col2im_cases(rng)
         + crop_cases(rng) + deform_cases(rng), "ort"),
        # onnxruntime has no RoiAlign-22 (same as 16 but for bfloat16)
        ("opset16", 16, grid_cases(rng, True) + roi_cases(rng, True), "ort"),
        ("opset11", 11, roi_cases(rng, False), "ort"),
        ("reference", 22, grid_ref_cases(rng), "ref"),
        ("hostile", 22, hostile_cases(rng), None),
        ("runtime", 22, runtime_cases(rng), "ort"),
    ]
    work = os.path.abspath(a.work) if a.work else tempfile.mkdtemp(prefix="hodu-sampling.")
    os.makedirs(work, exist_ok=True)
    t0 = time.perf_counter()
    n_ok = n_bad = 0
    try:
        for tag, opset, cases, oracle in groups:
            model = build_model(cases, opset)
            feeds = feeds_of(cases)
            t1 = time.perf_counter()
            out_dir, err = run_hodu(a, model, feeds, work, tag)
            t_hodu = time.perf_counter() - t1
            want = None
            if oracle and not err:
                try:
                    want = oracle_outputs(model, cases, feeds, oracle)
                except Exception as exc:  # the oracle must run: a failure, not a skip
                    err = f"{oracle} failed: {type(exc).__name__}: {str(exc)[:300]}"
            log(f"{tag}: {len(cases)} cases, opset {opset}, hodu build and run {t_hodu:.1f} s")
            for c in cases:
                msg = err
                for o in [] if err else c.outputs():
                    f = os.path.join(out_dir, o + ".npy")
                    if not os.path.isfile(f):
                        msg = f"no output {o}"
                    else:
                        got = np.load(f)
                        if want is None:
                            msg = None if np.isfinite(got.astype(np.float64)).all() else "non-finite output"
                        else:
                            msg = compare(got, want[o], want[o].dtype.type)
                    if msg:
                        break
                ok = msg is None
                n_ok += ok
                n_bad += not ok
                log(f"{'ok  ' if ok else 'FAIL'} {tag:<9} {c.name:<32} {'' if ok else msg}")
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    log(f"sampling: {n_ok} agreed, {n_bad} failed ({time.perf_counter() - t0:.0f} s)")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
