#!/usr/bin/env python3
"""Transposing copies against onnxruntime, element for element.

    run.py [--hodu PATH] [--work DIR]

One model of Transposes whose copies the code generator writes in 16x16
tiles (a dim contiguous in the source walked with the destination's last
dim) and some it writes row by row: sizes that are not whole tiles (37,
33, 17), a single partial tile, tiles on a dim that is not next to the
last, float32, int64 and uint8, a copy too narrow to tile, and one whose
rows are contiguous on both sides (a memcpy per row).  Inputs are seeded
random values given at run time; a copy moves bits, so every output must
equal onnxruntime's exactly.

Exit status: 0 when every output agrees; 1 on any disagreement or failure;
2 when the test cannot start (no hodu, or numpy, onnx or onnxruntime
missing).  Nothing is ever skipped.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from clitest import CliTest  # noqa: E402

try:  # a missing oracle is a failure, never a skip
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
except ImportError as e:
    print(f"copies: cannot start: {e} (run tools/setup.sh)", file=sys.stderr)
    sys.exit(2)

# (shape, perm, numpy dtype, ONNX type); the first TILED go in tiles
TILED = 4
CASES = [
    ((3, 40, 37), (0, 2, 1), np.float32, TensorProto.FLOAT),      # tiles with ragged edges
    ((8, 64, 512), (0, 2, 1), np.float32, TensorProto.FLOAT),     # the transformer's weight-gradient copy
    ((2, 20, 3, 18), (0, 3, 2, 1), np.float32, TensorProto.FLOAT),  # tiled dim not next to the last
    ((20, 19), (1, 0), np.int64, TensorProto.INT64),              # one partial tile each way
    ((2, 16, 16, 3), (0, 3, 1, 2), np.uint8, TensorProto.UINT8),  # NHWC -> NCHW: the source's contiguous dim too short to tile
    ((2, 3, 18, 21), (0, 2, 3, 1), np.uint8, TensorProto.UINT8),  # NCHW -> NHWC: the destination's rows too short
    ((5, 7, 9), (2, 1, 0), np.float32, TensorProto.FLOAT),        # too narrow to tile
    ((4, 6, 40), (1, 0, 2), np.int64, TensorProto.INT64),         # contiguous rows: memcpy per row
]


def main():
    t = CliTest("copies", __doc__)
    rng = np.random.default_rng(5)
    nodes, inputs, outputs, feeds = [], [], [], {}
    for i, (shape, perm, dt, onnx_type) in enumerate(CASES):
        x, y = f"x{i}", f"y{i}"
        if dt == np.float32:
            feeds[x] = rng.standard_normal(shape).astype(dt)
        else:
            feeds[x] = rng.integers(0, 250 if dt == np.uint8 else 1 << 40, size=shape).astype(dt)
        inputs.append(helper.make_tensor_value_info(x, onnx_type, list(shape)))
        outputs.append(helper.make_tensor_value_info(y, onnx_type, None))
        nodes.append(helper.make_node("Transpose", [x], [y], name=f"transpose{i}", perm=list(perm)))
    graph = helper.make_graph(nodes, "copies", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = t.path("copies.onnx")
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    so = t.path("copies.so")
    errors = []
    p = t.run([t.hodu, "--build", path, "-o", so, "--emit-c", t.path("c"), "--cflags", "-O1 -Wall -Wextra -Werror"])
    if p.returncode != 0:
        return t.finish([f"build failed: {p.stderr.strip()}"])
    # the tiled copies are there: two tile loops each (t<dim> += 16)
    code = "".join(open(os.path.join(t.path("c"), f)).read() for f in os.listdir(t.path("c")) if f.endswith(".c"))
    tile_loops = len(re.findall(r"\bt\d+ \+= 16\)", code))
    if tile_loops < 2 * TILED:
        errors.append(f"{tile_loops} tile loops in the generated C, expected at least {2 * TILED}")
    args = [t.hodu, "--run", so, "--output-dir", t.path("out")]
    for name, v in feeds.items():
        np.save(t.path(name + ".npy"), v)
        args += ["--input", f"{name}={t.path(name + '.npy')}"]
    p = t.run(args)
    if p.returncode != 0:
        return t.finish([f"run failed: {p.stderr.strip()}"])
    for i, (shape, perm, _, _) in enumerate(CASES):
        want = ref[f"y{i}"]
        got = np.load(t.path("out", f"y{i}.npy"))
        same = got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
        print(f"{'ok  ' if same else 'FAIL'} {str(shape):16} perm {perm}  {want.dtype}")
        if not same:
            errors.append(f"y{i}: Transpose{perm} of {shape} differs from onnxruntime")
    return t.finish(errors, f": {len(CASES)} transposes")


if __name__ == "__main__":
    sys.exit(main())
