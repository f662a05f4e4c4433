#!/usr/bin/env python3
"""QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear against onnxruntime.

    run.py [--hodu PATH] [--seed S] [--keep DIR]

The ONNX node tests cover each op once, at the newest opset, per tensor or
with one small per-axis or blocked case.  This test fills the gaps: small
models at opsets 10, 13, 19, 21 and 23 quantize random data per tensor, per
axis (negative axes too) and per block (a last block shorter than the
others, blocking on an inner or the outer axis), into int8, uint8, int16
and uint16, and dequantize it back; one model dequantizes constant weights,
which hodu folds at build time; NaN and infinities must saturate as
onnxruntime does (NaN and -inf to the type's lowest value, +inf to its
highest).  Each model is built by the real `hodu` (`--build`, then `--run`
on .npy inputs, on 3 threads: the large cases run as tasks) and run by onnxruntime on the same inputs; quantized
outputs must be equal, float outputs equal to 1e-6 relative (float16: one
unit in the last place).

Exit status: 0 when every case agreed; 1 on any disagreement or failure;
2 when the test cannot start (missing hodu, numpy, onnx or onnxruntime).
Nothing is ever skipped.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def die(msg):
    print(f"quant: error: {msg}", flush=True)
    sys.exit(2)


try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto as T
    from onnx import helper, numpy_helper
except ImportError as e:
    die(f"{e.name} is missing (pip install -r tools/requirements-test.txt)")

NP = {T.FLOAT: np.float32, T.FLOAT16: np.float16, T.INT8: np.int8, T.UINT8: np.uint8, T.INT16: np.int16,
      T.UINT16: np.uint16, T.INT32: np.int32}
QRANGE = {T.INT8: (-128, 127), T.UINT8: (0, 255), T.INT16: (-32768, 32767), T.UINT16: (0, 65535)}


class Case:
    """A model under construction: graph inputs (with their values),
    initializers, nodes and outputs."""

    def __init__(self, name, opset, rng):
        self.name, self.opset, self.rng = name, opset, rng
        self.inputs, self.feeds, self.inits, self.nodes, self.outputs = [], {}, [], [], []

    def input(self, name, value, ttype):
        self.inputs.append(helper.make_tensor_value_info(name, ttype, list(value.shape)))
        self.feeds[name] = value
        return name

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op, ins, outs, **attrs):
        self.nodes.append(helper.make_node(op, ins, outs, **attrs))

    def output(self, name, ttype):
        self.outputs.append(helper.make_tensor_value_info(name, ttype, None))

    def model(self):
        g = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)])
        m.ir_version = 9 if self.opset < 21 else 10
        return m


def scales(rng, shape, dtype=np.float32):
    return rng.uniform(0.01, 0.2, shape).astype(dtype)


def zero_points(rng, shape, qtype):
    lo, hi = QRANGE[qtype]
    span = (hi - lo) // 8
    return rng.integers(lo + span, hi - span, shape, endpoint=True).astype(NP[qtype])


def data(rng, shape, dtype=np.float32, specials=False):
    x = rng.normal(0.0, 8.0, shape).astype(dtype)
    if specials:
        flat = x.reshape(-1)
        flat[:5] = [np.nan, np.inf, -np.inf, 3e38 if dtype == np.float32 else 6e4, -3e38 if dtype == np.float32 else -6e4]
    return x


def qdq_case(name, opset, rng, xshape, sshape, qtype, axis=None, block=None, zp=True, as_inputs=True,
             xtype=T.FLOAT, stype=T.FLOAT, specials=False, output_dtype=None):
    """x -> QuantizeLinear -> q -> DequantizeLinear -> r; both are outputs."""
    c = Case(name, opset, rng)
    add = c.input if as_inputs else (lambda n, v, t: c.const(n, v))
    x = c.input("x", data(rng, xshape, NP[xtype], specials), xtype)
    s = add("s", scales(rng, sshape, NP[stype]), stype)
    ins = [x, s]
    if zp:
        ins.append(add("z", zero_points(rng, sshape, qtype), qtype))
    attrs = {}
    if axis is not None:
        attrs["axis"] = axis
    if block is not None:
        attrs["block_size"] = block
    qattrs = dict(attrs)
    if output_dtype is not None:
        qattrs["output_dtype"] = output_dtype
    c.node("QuantizeLinear", ins, ["q"], **qattrs)
    c.node("DequantizeLinear", ["q"] + ins[1:], ["r"], **attrs)
    c.output("q", qtype)
    c.output("r", stype)
    return c


def cases(rng):
    out = [
        qdq_case("q10_tensor_u8", 10, rng, [3, 7], [], T.UINT8, specials=True),
        qdq_case("q10_tensor_nozp", 10, rng, [17], [], T.UINT8, zp=False),
        qdq_case("q13_axis1_u8", 13, rng, [2, 5, 3], [5], T.UINT8),
        qdq_case("q13_axis_neg1_i8", 13, rng, [4, 3, 6], [6], T.INT8, axis=-1, as_inputs=False, specials=True),
        qdq_case("q13_axis0_i8", 13, rng, [5, 8], [5], T.INT8, axis=0),
        qdq_case("q19_axis2_f16", 19, rng, [2, 3, 4], [4], T.INT8, axis=2, xtype=T.FLOAT16, stype=T.FLOAT16),
        qdq_case("q21_block_axis1", 21, rng, [4, 10], [4, 3], T.INT8, axis=1, block=4),
        qdq_case("q21_block_axis0_u16", 21, rng, [5, 3, 4], [3, 3, 4], T.UINT16, axis=0, block=2),
        qdq_case("q21_block_axis_neg2", 21, rng, [2, 7, 3], [2, 2, 3], T.UINT8, axis=-2, block=5, as_inputs=False),
        qdq_case("q21_tensor_i16", 21, rng, [40], [], T.INT16, specials=True),
        qdq_case("q21_axis_u16", 21, rng, [3, 6], [6], T.UINT16, axis=1),
        qdq_case("q21_block_i16_odt", 21, rng, [6, 4], [2, 4], T.INT16, axis=0, block=3, zp=False,
                 output_dtype=T.INT16),
        qdq_case("q23_axis_u8", 23, rng, [3, 5, 2], [5], T.UINT8, axis=1),
        qdq_case("q23_block_i8", 23, rng, [3, 9], [3, 3], T.INT8, axis=1, block=3),
        qdq_case("q23_block_whole_row", 23, rng, [5, 6], [5, 1], T.UINT8, axis=1, block=6),
        # Large enough to run as tasks on the pool (--threads 3).
        qdq_case("q21_tensor_large", 21, rng, [300, 700], [], T.UINT8),
        qdq_case("q21_axis_large", 21, rng, [300, 700], [300], T.INT8, axis=0),
        qdq_case("q21_block_large", 21, rng, [300, 700], [300, 22], T.INT16, axis=1, block=32),
    ]
    # Constant weights dequantized at build time (folded), per axis and per
    # block, then used by run-time arithmetic.
    c = Case("dq21_fold", 21, rng)
    x = c.input("x", data(rng, [6, 8]), T.FLOAT)
    w = c.const("w", rng.integers(-128, 127, (6, 8), endpoint=True).astype(np.int8))
    c.node("DequantizeLinear", [w, c.const("ws", scales(rng, [6])), c.const("wz", zero_points(rng, [6], T.INT8))],
           ["wf"], axis=0)
    c.node("DequantizeLinear", [w, c.const("bs", scales(rng, [6, 3])), c.const("bz", zero_points(rng, [6, 3], T.INT8))],
           ["bf"], axis=1, block_size=3)
    c.node("Add", [x, "wf"], ["a"])
    c.node("Mul", ["a", "bf"], ["y"])
    c.output("y", T.FLOAT)
    out.append(c)
    # int32 dequantization (biases), no zero point.
    c = Case("dq10_int32", 10, rng)
    c.node("DequantizeLinear", [c.input("x", rng.integers(-2**31, 2**31 - 1, [33], endpoint=True).astype(np.int32),
                                        T.INT32), c.input("s", np.array(1.7e-3, np.float32), T.FLOAT)], ["y"])
    c.output("y", T.FLOAT)
    out.append(c)
    # Dynamic quantization of data that straddles zero.
    for name, lo, hi in (("dynq_mixed", -3.0, 5.0), ("dynq_positive", 0.5, 9.0)):
        c = Case(name, 11, rng)
        c.node("DynamicQuantizeLinear", [c.input("x", rng.uniform(lo, hi, (4, 9)).astype(np.float32), T.FLOAT)],
               ["y", "ys", "yz"])
        for o, t in (("y", T.UINT8), ("ys", T.FLOAT), ("yz", T.UINT8)):
            c.output(o, t)
        out.append(c)
    return out


def compare(name, got, want):
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{name}: hodu gave {got.dtype}{list(got.shape)}, onnxruntime {want.dtype}{list(want.shape)}"
    if got.dtype.kind in "iub":
        bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    else:
        g, w = got.astype(np.float64).reshape(-1), want.astype(np.float64).reshape(-1)
        tol = np.abs(w) * (1e-3 if got.dtype == np.float16 else 1e-6)
        same_nan = np.isnan(g) == np.isnan(w)
        close = (np.abs(g - w) <= tol) | (np.isnan(g) & np.isnan(w)) | (g == w)
        bad = np.flatnonzero(~(same_nan & close))
    if bad.size:
        i = bad[0]
        return (f"{name}: {bad.size} of {got.size} values differ; first at flat index {i}: hodu "
                f"{got.reshape(-1)[i]!r}, onnxruntime {want.reshape(-1)[i]!r}")
    return None


def run_case(c, hodu, work):
    d = os.path.join(work, c.name)
    os.makedirs(d)
    m = c.model()
    path = os.path.join(d, "m.onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in m.graph.output]
    want = dict(zip(names, sess.run(names, c.feeds)))
    so = os.path.join(d, "m.so")
    p = subprocess.run([hodu, "--build", path, "-o", so], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        return [f"build failed: {p.stdout.strip()}"]
    argv = [hodu, "--run", so, "--threads", "3", "--output-dir", os.path.join(d, "out")]
    for k, v in c.feeds.items():
        f = os.path.join(d, f"in_{k}.npy")
        np.save(f, v)
        argv += ["--input", f"{k}={f}"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        return [f"run failed: {p.stdout.strip()}"]
    errs = []
    for k in names:
        got = np.load(os.path.join(d, "out", f"{k}.npy"))
        e = compare(k, got, want[k])
        if e:
            errs.append(e)
    return errs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--keep", help="work in DIR and keep it (default: a temporary folder, removed)")
    a = ap.parse_args()
    if not (os.path.isfile(a.hodu) and os.access(a.hodu, os.X_OK)):
        die(f"no hodu executable at {a.hodu}")
    work = a.keep or tempfile.mkdtemp(prefix="hodu-quant-")
    if a.keep:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    failed = 0
    try:
        all_cases = cases(np.random.default_rng(a.seed))
        for c in all_cases:
            try:
                errs = run_case(c, a.hodu, work)
            except Exception as e:  # onnxruntime or onnx refusing the model is a failure too
                errs = [f"{type(e).__name__}: {e}"]
            print(f"{'ok  ' if not errs else 'FAIL'} {c.name}" + "".join(f"\n     {e}" for e in errs), flush=True)
            failed += bool(errs)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"quant: {len(all_cases) - failed} of {len(all_cases)} cases agree with onnxruntime", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
