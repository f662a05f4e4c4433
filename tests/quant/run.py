#!/usr/bin/env python3
"""QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear against onnxruntime and onnx.reference.

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

The narrow quantized types (int4/uint4, int2/uint2, the float8 types,
float4e2m1) and float8e8m0 scales, which onnxruntime lacks in part, are
checked against onnx.reference instead, byte for byte: round trips per
tensor, per axis and per block at the opset that introduced each type,
with NaN, infinities, -0 and huge values, saturate on and off, float16
data, a `precision` attribute, float4 zero points, and whole chains of
constants that hodu folds at build time (the folding must give the bytes
the generated code gives).  Narrow tensors travel as raw bytes ('|V1').

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
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.ops.op_dequantize_linear import DequantizeLinear_25
    from onnx.reference.ops.op_quantize_linear import QuantizeLinear_25
    import ml_dtypes
except ImportError as e:
    die(f"{e.name} is missing (pip install -r tools/requirements-test.txt)")

NP = {T.FLOAT: np.float32, T.FLOAT16: np.float16, T.INT8: np.int8, T.UINT8: np.uint8, T.INT16: np.int16,
      T.UINT16: np.uint16, T.INT32: np.int32}
QRANGE = {T.INT8: (-128, 127), T.UINT8: (0, 255), T.INT16: (-32768, 32767), T.UINT16: (0, 65535)}
# The narrow types (ml_dtypes), checked against onnx.reference.
NARROW = {T.INT4: ml_dtypes.int4, T.UINT4: ml_dtypes.uint4, T.INT2: ml_dtypes.int2, T.UINT2: ml_dtypes.uint2,
          T.FLOAT8E4M3FN: ml_dtypes.float8_e4m3fn, T.FLOAT8E4M3FNUZ: ml_dtypes.float8_e4m3fnuz,
          T.FLOAT8E5M2: ml_dtypes.float8_e5m2, T.FLOAT8E5M2FNUZ: ml_dtypes.float8_e5m2fnuz,
          T.FLOAT4E2M1: ml_dtypes.float4_e2m1fn, T.FLOAT8E8M0: ml_dtypes.float8_e8m0fnu}
NP.update(NARROW)
QRANGE.update({T.INT4: (-8, 7), T.UINT4: (0, 15), T.INT2: (-2, 1), T.UINT2: (0, 3)})


class Case:
    """A model under construction: graph inputs (with their values),
    initializers, nodes and outputs."""

    def __init__(self, name, opset, rng):
        self.name, self.opset, self.rng = name, opset, rng
        self.oracle = "onnxruntime"  # or "onnx.reference"
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
        m.ir_version = 9 if self.opset < 21 else 10 if self.opset < 24 else 11
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


def narrow_scales(rng, shape, qtype, stype):
    """Scales that send x / s past the type's range now and then."""
    if stype == T.FLOAT8E8M0:  # powers of two, 2^-7 .. 2^3
        return rng.integers(120, 130, shape, endpoint=True).astype(np.uint8).view(ml_dtypes.float8_e8m0fnu)
    lo, hi = (0.01, 0.2) if qtype in (T.FLOAT8E4M3FN, T.FLOAT8E4M3FNUZ, T.FLOAT8E5M2, T.FLOAT8E5M2FNUZ) else (0.5, 4.0)
    return rng.uniform(lo, hi, shape).astype(NP[stype])


# onnx.reference registers its QuantizeLinear / DequantizeLinear classes only
# up to version 21 (which lack output_dtype and precision); 25's serve 23+.
class QuantizeLinear(QuantizeLinear_25):
    op_domain = ""


class DequantizeLinear(DequantizeLinear_25):
    op_domain = ""


def narrow_data(rng, shape, dtype, qtype):
    x = (rng.normal(0.0, 8.0, shape) * rng.choice([1e-3, 1.0, 1e3], shape)).astype(dtype)
    flat = x.reshape(-1)
    big = 3e38 if dtype == np.float32 else 6e4
    if qtype in QRANGE:
        # The reference converts x / s to int32 and adds the zero point
        # before it clamps, so NaN, infinities and values past int32 wrap
        # there; leave those out (the onnxruntime cases above check them on
        # the same code path).
        specials = [-0.0, 0.0, 1e-7, 6e4, -6e4]
    else:
        specials = [np.nan, np.inf, -np.inf, big, -big, -0.0, 0.0, 1e-7]
    flat[:len(specials)] = specials[:flat.size]
    return x


def narrow_case(name, opset, rng, xshape, sshape, qtype, axis=None, block=None, zp=True, fold=False,
                xtype=T.FLOAT, stype=T.FLOAT, saturate=None, precision=None, ytype=None):
    """x -> QuantizeLinear -> q -> DequantizeLinear -> r into a narrow type,
    against onnx.reference.  Float zero points are zero (the reference
    ignores them in DequantizeLinear); fold: every operand a constant."""
    c = Case(name, opset, rng)
    c.oracle = "onnx.reference"
    add = (lambda n, v, t: c.const(n, v)) if fold else c.input
    x = add("x", narrow_data(rng, xshape, NP[xtype], qtype), xtype)
    ins = [x, add("s", narrow_scales(rng, sshape, qtype, stype), stype)]
    if zp:
        if qtype in QRANGE:
            lo, hi = QRANGE[qtype]
            z = rng.integers(lo, hi, sshape, endpoint=True).astype(NP[qtype])
        else:
            z = np.zeros(sshape, NP[qtype])
        ins.append(add("z", z, qtype))
    attrs = {}
    if axis is not None:
        attrs["axis"] = axis
    if block is not None:
        attrs["block_size"] = block
    qattrs = dict(attrs, output_dtype=qtype) if opset >= 21 else dict(attrs)
    if saturate is not None:
        qattrs["saturate"] = saturate
    if precision is not None:
        qattrs["precision"] = precision
    dattrs = dict(attrs)
    if ytype is not None:
        dattrs["output_dtype"] = ytype
    c.node("QuantizeLinear", ins, ["q"], **qattrs)
    c.node("DequantizeLinear", ["q"] + ins[1:], ["r"], **dattrs)
    c.output("q", qtype)
    c.output("r", ytype or stype)
    return c


def narrow_cases(rng):
    F16, E8M0 = T.FLOAT16, T.FLOAT8E8M0
    out = [
        narrow_case("n21_i4_tensor", 21, rng, [3, 7], [], T.INT4),
        narrow_case("n21_u4_axis", 21, rng, [2, 5, 3], [5], T.UINT4, axis=1),
        narrow_case("n21_i4_block", 21, rng, [4, 10], [4, 3], T.INT4, axis=1, block=4),
        narrow_case("n21_u4_nozp", 21, rng, [17], [], T.UINT4, zp=False),
        narrow_case("n25_i2_tensor", 25, rng, [20], [], T.INT2),
        narrow_case("n25_u2_block_axis0", 25, rng, [5, 3, 4], [3, 3, 4], T.UINT2, axis=0, block=2),
        narrow_case("n25_i2_axis_f16", 25, rng, [3, 4], [4], T.INT2, axis=-1, xtype=F16, stype=F16),
        narrow_case("n19_e4m3fn_tensor", 19, rng, [40], [], T.FLOAT8E4M3FN),
        narrow_case("n19_e4m3fnuz_axis_nosat", 19, rng, [3, 16], [16], T.FLOAT8E4M3FNUZ, axis=1, saturate=0),
        narrow_case("n19_e5m2_nosat", 19, rng, [40], [], T.FLOAT8E5M2, saturate=0),
        narrow_case("n21_e5m2_block", 21, rng, [6, 4], [2, 4], T.FLOAT8E5M2, axis=0, block=3),
        narrow_case("n21_e5m2fnuz_f16", 21, rng, [2, 3, 8], [8], T.FLOAT8E5M2FNUZ, axis=2, xtype=F16, stype=F16,
                    saturate=0),
        narrow_case("n21_e4m3fn_nozp", 21, rng, [5, 6], [6], T.FLOAT8E4M3FN, axis=1, zp=False, saturate=0),
        narrow_case("n23_e4m3fn_prec_f16", 23, rng, [30], [], T.FLOAT8E4M3FN, precision=F16),
        narrow_case("n23_f4_tensor", 23, rng, [40], [], T.FLOAT4E2M1),
        narrow_case("n23_f4_block", 23, rng, [3, 9], [3, 3], T.FLOAT4E2M1, axis=1, block=3),
        narrow_case("n24_e8m0_i4_axis", 24, rng, [3, 8], [8], T.INT4, axis=1, stype=E8M0, ytype=T.FLOAT),
        narrow_case("n25_e8m0_e4m3fn_block_f16", 25, rng, [4, 6], [4, 2], T.FLOAT8E4M3FN, axis=1, block=3,
                    xtype=F16, stype=E8M0, ytype=F16),
        narrow_case("n25_e8m0_u2_tensor", 25, rng, [12], [], T.UINT2, stype=E8M0, ytype=F16),
        # Whole chains of constants: folded at build time.
        narrow_case("n21_fold_i4_block", 21, rng, [4, 10], [4, 3], T.INT4, axis=1, block=4, fold=True),
        narrow_case("n25_fold_u2_axis", 25, rng, [3, 5], [3], T.UINT2, axis=0, fold=True),
        narrow_case("n19_fold_e4m3fnuz", 19, rng, [40], [], T.FLOAT8E4M3FNUZ, fold=True, saturate=0),
        narrow_case("n21_fold_e5m2_f16", 21, rng, [5, 8], [8], T.FLOAT8E5M2, axis=1, fold=True, xtype=F16,
                    stype=F16),
        narrow_case("n23_fold_f4_block", 23, rng, [3, 9], [3, 3], T.FLOAT4E2M1, axis=1, block=3, fold=True),
        narrow_case("n24_fold_e8m0_e5m2fnuz", 24, rng, [3, 8], [8], T.FLOAT8E5M2FNUZ, axis=1, fold=True,
                    stype=E8M0, ytype=T.FLOAT),
        # Large enough to run as tasks on the pool.
        narrow_case("n21_e4m3fn_axis_large", 21, rng, [300, 700], [300], T.FLOAT8E4M3FN, axis=0),
        narrow_case("n21_i4_block_large", 21, rng, [300, 700], [300, 22], T.INT4, axis=1, block=32),
    ]
    # A float4 zero point is added when quantizing (the reference does too),
    # at run time and folded.
    for name, fold in (("n23_f4_zp", False), ("n23_fold_f4_zp", True)):
        c = Case(name, 23, rng)
        c.oracle = "onnx.reference"
        add = (lambda n, v, t: c.const(n, v)) if fold else c.input
        zs = np.array([0.0, 0.5, -1.0, 6.0, -0.0, 1.5], np.float32).astype(ml_dtypes.float4_e2m1fn)
        c.node("QuantizeLinear", [add("x", narrow_data(rng, [4, 6], np.float32, T.FLOAT4E2M1), T.FLOAT),
                                  add("s", narrow_scales(rng, [6], T.FLOAT4E2M1, T.FLOAT), T.FLOAT),
                                  add("z", zs, T.FLOAT4E2M1)], ["q"], axis=1)
        c.output("q", T.FLOAT4E2M1)
        out.append(c)
    return out


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
    return out + narrow_cases(rng)


def compare(name, got, want):
    if got.dtype.kind == "V" and got.dtype.itemsize == 1 and want.dtype in NARROW.values():
        # a narrow type: raw bytes, which must be the reference's
        if got.shape != want.shape:
            return f"{name}: hodu gave shape {list(got.shape)}, the reference {list(want.shape)}"
        g, w = got.view(np.uint8).reshape(-1), want.view(np.uint8).reshape(-1)
        bad = np.flatnonzero(g != w)
        if bad.size:
            i = bad[0]
            return (f"{name}: {bad.size} of {got.size} codes differ; first at flat index {i}: hodu "
                    f"0x{g[i]:02x}, the reference 0x{w[i]:02x} ({want.reshape(-1)[i]!r})")
        return None
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
    names = [o.name for o in m.graph.output]
    if c.oracle == "onnx.reference":
        new_ops = [QuantizeLinear, DequantizeLinear] if c.opset >= 23 else None
        want = dict(zip(names, ReferenceEvaluator(m, new_ops=new_ops).run(names, c.feeds)))
    else:
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
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
    np.seterr(all="ignore")  # NaN, infinities and overflow are what some cases test
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
    print(f"quant: {len(all_cases) - failed} of {len(all_cases)} cases agree with onnxruntime / onnx.reference",
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
