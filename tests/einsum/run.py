#!/usr/bin/env python3
"""Einsum against onnxruntime: one model of many Einsum nodes, random inputs.

    run.py [--hodu PATH] [--seed S] [--work DIR]

The ONNX node tests cover few equations; this builds one model holding an
Einsum node per equation below (batched matmul, attention scores, outer
product, trace, diagonal, ellipsis, three operands, implicit outputs, sums,
float32 through the GEMM path and float64 / int32 through the loop nests),
built by the real `hodu` with -Wall -Wextra -Werror, and compares every
output with onnxruntime's on the same seeded random inputs drawn at run
time: float32 to 1e-4 relative, float64 to 1e-10, integers exactly.

Exit status: 0 when every output agrees; 1 on any disagreement or failure;
2 when the test cannot start (missing hodu, numpy, onnx or onnxruntime).
Nothing is ever skipped.
"""
import argparse
import os
import subprocess
import sys
import tempfile

# (equation, input shapes, dtype)
CASES = [
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)], "float32"),
    ("bhqd,bhkd->bhqk", [(2, 3, 7, 8), (2, 3, 9, 8)], "float32"),
    ("i,j->ij", [(5,), (7,)], "float32"),
    ("ii", [(6, 6)], "float32"),
    ("ii->i", [(6, 6)], "float32"),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 6)], "float32"),
    ("ij,jk,kl->il", [(4, 5), (5, 6), (6, 3)], "float32"),
    ("ij,jk", [(4, 5), (5, 3)], "float32"),
    ("ba,cb", [(4, 5), (3, 4)], "float32"),
    ("ij,kj->ik", [(70, 64), (80, 64)], "float32"),
    ("ibj,jk->bik", [(4, 3, 5), (5, 6)], "float32"),
    ("bn,anm,bm->ba", [(3, 4), (2, 4, 5), (3, 5)], "float32"),
    ("bii->bi", [(3, 4, 4)], "float32"),
    ("ijk->", [(3, 4, 5)], "float32"),
    ("ab,ab,ab->", [(4, 5), (4, 5), (4, 5)], "float32"),
    ("...ii->...i", [(2, 3, 4, 4)], "float32"),
    ("ij->ji", [(3, 4)], "float64"),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)], "float64"),
    ("i,i", [(7,)] * 2, "float64"),
    ("ij,ij->i", [(4, 5), (4, 5)], "int32"),
    ("ij,jk->ik", [(4, 5), (5, 3)], "int64"),
]


def die(msg):
    print(f"einsum: {msg}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(here, "..", "..", "build", "hodu"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", help="keep the model, library and outputs here (default: a temporary folder)")
    a = ap.parse_args(argv)
    if not (os.path.isfile(a.hodu) and os.access(a.hodu, os.X_OK)):
        die(f"no hodu binary at {a.hodu} (build it, or pass --hodu)")
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import helper
    except ImportError as exc:  # a missing oracle is a failure, never a skip
        die(f"cannot import {exc.name}: this test needs numpy, onnx and onnxruntime (run tools/setup.sh)")

    rng = np.random.default_rng(a.seed)
    nodes, inputs, outputs, feeds = [], [], [], {}
    for k, (eq, shapes, dt) in enumerate(CASES):
        names = []
        for j, shape in enumerate(shapes):
            name = f"x{k}_{j}"
            if dt.startswith("int"):
                v = rng.integers(-9, 10, size=shape).astype(dt)
            else:
                v = rng.standard_normal(shape).astype(dt)
            feeds[name] = v
            names.append(name)
            elem = helper.np_dtype_to_tensor_dtype(np.dtype(dt))
            inputs.append(helper.make_tensor_value_info(name, elem, list(shape)))
        out = f"y{k}"
        nodes.append(helper.make_node("Einsum", names, [out], name=f"einsum{k}", equation=eq))
        outputs.append(helper.make_tensor_value_info(out, helper.np_dtype_to_tensor_dtype(np.dtype(dt)), None))
    graph = helper.make_graph(nodes, "einsum_cases", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8

    work = a.work or tempfile.mkdtemp(prefix="hodu-einsum-")
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "einsum.onnx")
    onnx.save(model, path)
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    except Exception as exc:
        print(f"einsum: onnxruntime failed: {exc}")
        return 1

    so = os.path.join(work, "einsum.so")
    p = subprocess.run([a.hodu, "--build", path, "-o", so, "--cflags", "-O1 -Wall -Wextra -Werror"],
                       capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        print(f"einsum: build failed (exit {p.returncode}):\n{p.stderr}{p.stdout}")
        return 1
    args = [a.hodu, "--run", so, "--output-dir", os.path.join(work, "out")]
    for name, v in feeds.items():
        f = os.path.join(work, name + ".npy")
        np.save(f, v)
        args += ["--input", f"{name}={f}"]
    p = subprocess.run(args, capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        print(f"einsum: run failed (exit {p.returncode}):\n{p.stderr}{p.stdout}")
        return 1

    fails = 0
    for k, (eq, shapes, dt) in enumerate(CASES):
        r = ref[f"y{k}"]
        got = np.load(os.path.join(work, "out", f"y{k}.npy"))
        if got.shape != r.shape or got.dtype != r.dtype:
            ok, what = False, f"shape/dtype {got.shape} {got.dtype} vs {r.shape} {r.dtype}"
        elif dt.startswith("int"):
            ok, what = bool(np.array_equal(got, r)), "exact"
        else:
            scale = max(float(np.max(np.abs(r))) if r.size else 0.0, 1e-30)
            rel = float(np.max(np.abs(got.astype(np.float64) - r))) / scale if r.size else 0.0
            ok, what = rel <= (1e-4 if dt == "float32" else 1e-10), f"rel {rel:.3g}"
        print(f"{'ok  ' if ok else 'FAIL'} {eq!r:24} {dt:8} {what}")
        fails += not ok
    print(f"einsum: {len(CASES) - fails} passed, {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
