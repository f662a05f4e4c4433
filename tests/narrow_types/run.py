#!/usr/bin/env python3
"""The narrow-types test: Cast to and from the 8-bit floats and the 4- and 2-bit types, bit for bit.

    run.py [--hodu PATH] [--work DIR]

The ONNX node tests cast a handful of values.  This test builds one model
per conversion with the real `hodu` and runs it on many more, given at run
time, against the ONNX reference implementation (onnx.reference, which
casts through ml_dtypes):

  float32 -> every narrow type, saturate 1 and 0: 2^17 inputs covering
             every float32 exponent and sign (upper 16 bits exhaustive, the
             rest random), plus infinities, NaN, zeros and each type's
             rounding boundaries;
  float32 -> float8e8m0 with round_mode up, down and nearest;
  every narrow type -> float32 and -> int32: every code;
  int32 -> the 4- and 2-bit ints (wrap-around), and bool/float16 -> float8;
  initializers of every 4- and 2-bit type (packed by ONNX, odd counts, in
             raw_data and in int32_data) cast to float32 and added to an
             input.

Outputs must equal the reference byte for byte, except that a NaN may be
any NaN code of the type.  Exit status 0 when all agree, 1 otherwise, 2
when the test cannot start.  Nothing is skipped.
"""
import os
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from clitest import CliTest  # noqa: E402

try:
    import ml_dtypes
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
except ImportError as e:
    print(f"narrow_types: cannot start: {e}", file=sys.stderr)
    sys.exit(2)

NARROW = {  # ONNX type -> ml_dtypes type
    TensorProto.FLOAT8E4M3FN: ml_dtypes.float8_e4m3fn,
    TensorProto.FLOAT8E4M3FNUZ: ml_dtypes.float8_e4m3fnuz,
    TensorProto.FLOAT8E5M2: ml_dtypes.float8_e5m2,
    TensorProto.FLOAT8E5M2FNUZ: ml_dtypes.float8_e5m2fnuz,
    TensorProto.UINT4: ml_dtypes.uint4,
    TensorProto.INT4: ml_dtypes.int4,
    TensorProto.FLOAT4E2M1: ml_dtypes.float4_e2m1fn,
    TensorProto.FLOAT8E8M0: ml_dtypes.float8_e8m0fnu,
    TensorProto.UINT2: ml_dtypes.uint2,
    TensorProto.INT2: ml_dtypes.int2,
}
FLOATS = {TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2, TensorProto.FLOAT8E5M2FNUZ,
          TensorProto.FLOAT4E2M1, TensorProto.FLOAT8E8M0}
CODE_BITS = {TensorProto.UINT4: 4, TensorProto.INT4: 4, TensorProto.FLOAT4E2M1: 4, TensorProto.UINT2: 2,
             TensorProto.INT2: 2}


def float_sweep(rng):
    hi = np.arange(1 << 16, dtype=np.uint32) << 16
    bits = np.concatenate([hi | rng.integers(0, 1 << 16, hi.size, dtype=np.uint32),
                           hi | rng.integers(0, 1 << 16, hi.size, dtype=np.uint32)])
    x = bits.view(np.float32)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 448, 449, 464, 480, 240, 248, 57344, 61440, 65536, 6, 5, 7,
               0.25, 0.75, 2.0 ** -127, 2.0 ** 127, 3.0 * 2.0 ** 126, 1e-45, -1e-45, 7.5, 8.5, -8.5, 15.5, 1e10]
    # each type's codes and the midpoints between neighbours
    for t in FLOATS:
        v = np.arange(256 if t not in CODE_BITS else 16, dtype=np.uint8).view(NARROW[t]).astype(np.float32)
        v = np.sort(v[np.isfinite(v)])
        special += list(v) + list((v[1:] + v[:-1]) / 2)
    return np.concatenate([x, np.array(special, np.float32), -np.array(special, np.float32)])


def cast_model(path, src, dst, n, **attrs):
    node = helper.make_node("Cast", ["x"], ["y"], to=dst, **attrs)
    graph = helper.make_graph([node], "cast", [helper.make_tensor_value_info("x", src, [n])],
                              [helper.make_tensor_value_info("y", dst, [n])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)]), path)


def initializer_model(path, t, raw, rng):
    """y = Cast(w, float32) + x, with w a constant of narrow type t."""
    n = 7
    bits = CODE_BITS[t]
    codes = rng.integers(0, 1 << bits, n).astype(np.uint8)
    vals = codes.view(NARROW[t])
    if raw:
        w = onnx.numpy_helper.from_array(vals, "w")
    else:
        w = helper.make_tensor("w", t, [n], vals.astype(np.int32).tolist())
    nodes = [helper.make_node("Cast", ["w"], ["wf"], to=TensorProto.FLOAT), helper.make_node("Add", ["wf", "x"], ["y"])]
    graph = helper.make_graph(nodes, "init", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)]), path)
    return "raw_data" if w.HasField("raw_data") else "int32_data"


def nan_mask(a):
    return np.isnan(a.astype(np.float32)) if a.dtype.kind not in "iub" else np.zeros(a.shape, bool)


def check_case(t, label, src, dst, x, **attrs):
    model = t.path(f"{label}.onnx")
    cast_model(model, src, dst, x.size, **attrs)
    return check_model(t, label, model, x, src in FLOATS or dst in FLOATS)


def check_model(t, label, model, x, floats):
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    lib = t.path(f"{label}.so")
    t.run([t.hodu, "--build", model, "-o", lib])
    xin = t.path(f"{label}.x.npy")
    np.save(xin, x)
    out = t.path(label)
    t.run([t.hodu, "--run", lib, "--input", f"x={xin}", "--output-dir", out])
    got = np.load(os.path.join(out, "y.npy"))
    if got.dtype.kind == "V":
        got = got.view(want.dtype)
    if got.shape != want.shape or got.dtype.itemsize != want.dtype.itemsize:
        return f"{label}: got {got.dtype}{got.shape}, expected {want.dtype}{want.shape}"
    gb, wb = got.view(np.uint8 if got.dtype.itemsize == 1 else np.uint32), want.view(gb_type(want))
    both_nan = nan_mask(got) & nan_mask(want) if floats else np.zeros(got.shape, bool)
    bad = (gb.astype(np.uint64) != wb.astype(np.uint64)) & ~both_nan
    if bad.any():
        i = int(np.argmax(bad))
        return (f"{label}: {int(bad.sum())} of {x.size} differ; first at input {x.reshape(-1)[i]!r}: "
                f"got {gb[i]:#x}, expected {wb[i]:#x}")
    return None


def gb_type(arr):
    return {1: np.uint8, 2: np.uint16, 4: np.uint32}[arr.dtype.itemsize]


def main():
    warnings.simplefilter("ignore", RuntimeWarning)  # the reference's casts of NaN and infinities
    t = CliTest("narrow_types", __doc__)
    rng = np.random.default_rng(5)
    sweep = float_sweep(rng)
    codes = np.arange(256, dtype=np.uint8)
    ints = np.concatenate([np.arange(-300, 300), rng.integers(-2**31, 2**31 - 1, 1000)]).astype(np.int32)
    cases = []
    for ty in NARROW:
        name = TensorProto.DataType.Name(ty).lower()
        if ty == TensorProto.FLOAT8E8M0:
            for mode in ("up", "down", "nearest"):
                for sat in (1, 0):
                    cases.append((f"f32_{name}_{mode}_sat{sat}", TensorProto.FLOAT, ty, np.abs(sweep),
                                  dict(saturate=sat, round_mode=mode)))
        elif ty in FLOATS:
            for sat in (1, 0):
                cases.append((f"f32_{name}_sat{sat}", TensorProto.FLOAT, ty, sweep, dict(saturate=sat)))
        else:
            cases.append((f"f32_{name}", TensorProto.FLOAT, ty, sweep[np.isfinite(sweep)], {}))
            cases.append((f"i32_{name}", TensorProto.INT32, ty, ints, {}))
        # every code of the type
        src = codes.view(NARROW[ty]) if ty not in CODE_BITS else (codes & ((1 << CODE_BITS[ty]) - 1)).view(NARROW[ty])
        cases.append((f"{name}_f32", ty, TensorProto.FLOAT, src, {}))
        if ty != TensorProto.FLOAT8E8M0:
            finite = src[np.isfinite(src.astype(np.float32))] if ty in FLOATS else src
            cases.append((f"{name}_i32", ty, TensorProto.INT32, finite, {}))
    cases.append(("f16_float8e4m3fn", TensorProto.FLOAT16, TensorProto.FLOAT8E4M3FN,
                  np.arange(1 << 16, dtype=np.uint16).view(np.float16), {}))
    cases.append(("bool_float8e5m2", TensorProto.BOOL, TensorProto.FLOAT8E5M2, np.array([True, False, True]), {}))
    errors = []
    try:
        fields = set()
        for ty in CODE_BITS:
            for raw in (True, False):
                label = f"init_{TensorProto.DataType.Name(ty).lower()}_{'raw' if raw else 'typed'}"
                model = t.path(label + ".onnx")
                fields.add(initializer_model(model, ty, raw, rng))
                err = check_model(t, label, model, rng.standard_normal(7).astype(np.float32), True)
                print(f"{label}: {'ok' if err is None else 'FAILED'}")
                if err:
                    errors.append(err)
        if fields != {"raw_data", "int32_data"}:
            errors.append(f"the initializers used only {sorted(fields)}")
        for label, src, dst, x, attrs in cases:
            # hodu reads every byte of a narrow input; the reference wants
            # the code alone, as ml_dtypes keeps it
            err = check_case(t, label, src, dst, np.ascontiguousarray(x), **attrs)
            print(f"{label}: {'ok' if err is None else 'FAILED'}")
            if err:
                errors.append(err)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        errors.append(str(e))
    return t.finish(errors, f" ({len(cases)} conversions, {2 * len(CODE_BITS)} initializers)")


if __name__ == "__main__":
    sys.exit(main())
