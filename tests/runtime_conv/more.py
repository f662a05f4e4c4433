"""More convolutions and pools over a run-time height and width (split from
run.py, which takes long): models built once with `--dim` and run at odd
and even sizes, the smallest and the largest of the range, against
onnxruntime.

auto_pad SAME_UPPER / SAME_LOWER: output ceil(in / stride), the pads
following the size; a chain of every form whose leading pad is the same
at every size (3x3 stride 1, 4x4 stride 2 SAME_UPPER, 3x3 stride 2
SAME_LOWER convolutions, a 2x2 stride 2 SAME_UPPER max pool, a 3x3
SAME_LOWER average pool); the convolutions and the max pool again
channel-blocked, ending in a global pool.

ConvTranspose (stride 2 with output_padding; dilated, grouped, asymmetric
pads) and Conv in float32, float64 and float16 (float32 ConvTranspose by
the GEMM form, the rest by the direct general path), onnxruntime running
the float32 model on the same values; ConvTranspose's output_shape
refused over run-time dims.

MaxPool's Indices (both storage orders, compared exactly) and LpPool
(p = 2, 1, 3), GlobalLpPool.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DIMS, check, expect_fail, save, start, weight  # noqa: E402

t, rng, errors = start("runtime_conv_more", __doc__)
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# --- auto_pad SAME over run-time sizes ----------------------------------------------
# Output ceil(in / s); every form whose leading pad is the same at every
# size (3x3 stride 1, 4x4 stride 2 SAME_UPPER, 3x3 stride 2 SAME_LOWER, 2x2
# stride 2 SAME_UPPER max pool, 3x3 stride 1 average pool) in one chain,
# built as it comes and channel-blocked, at odd and even sizes.
nodes, inits = [], []
for name, x, C, M, k, s, ap in (("sa1", "x", 3, 16, 3, 1, "SAME_UPPER"), ("sa2", "sa1", 16, 16, 4, 2, "SAME_UPPER"),
                                ("sa3", "sa2", 16, 16, 3, 2, "SAME_LOWER")):
    inits += [weight(name + "_w", [M, C, k, k]), weight(name + "_b", [M], 1.0)]
    nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name], kernel_shape=[k, k], strides=[s, s],
                                  auto_pad=ap))
nodes.append(helper.make_node("MaxPool", ["sa3"], ["sp1"], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"))
SAME_SIZES = [(1, 7, 6), (2, 8, 9), (1, 33, 29), (1, 30, 15)]
check("auto_pad SAME convolutions and pools",
      save("same_chain", nodes + [helper.make_node("AveragePool", ["sp1"], ["y"], kernel_shape=[3, 3],
                                                   auto_pad="SAME_LOWER")], 3, inits), 3, sizes=SAME_SIZES)
# blocked end to end: the global pool's result is over fixed sizes
blk_src = t.path("same_blocked_c")
if check("auto_pad SAME convolutions and max pool, blocked",
         save("same_blocked", nodes + [helper.make_node("GlobalAveragePool", ["sp1"], ["y"])], 3, inits), 3,
         sizes=SAME_SIZES, extra=["--emit-c", blk_src, "--conv-layout", "blocked"]):
    with open(os.path.join(blk_src, "model.c")) as f:
        code = f.read()
    if code.count("hd_conv_blocked_par(") != 3 or "_Conv(" in code or "_MaxPool(" not in code:
        errors.append("auto_pad SAME, blocked: not every convolution runs blocked")

# --- ConvTranspose and non-float32 Conv over run-time sizes ----------------------------
# Sizes read in the run: float32 ConvTranspose by SGEMM + col2im, the rest
# direct.  A chain: 3x3 stride-2 ConvTranspose with pads 1 and
# output_padding 1 (x2 upsampling), a dilated grouped one with asymmetric pads, a 3x3 stride-2 Conv, a dilated grouped
# Conv; built in float32, float64 and float16 (onnxruntime runs the float32
# model on the same values as the oracle).
def chain(name, np_t, elem):
    arrs = {"t1_w": rng.standard_normal((3, 8, 3, 3)) * 0.3, "t1_b": rng.standard_normal(8),
            "t2_w": rng.standard_normal((8, 2, 2, 2)) * 0.3, "c1_w": rng.standard_normal((8, 4, 3, 3)) * 0.3,
            "c1_b": rng.standard_normal(8), "c2_w": rng.standard_normal((6, 4, 3, 3)) * 0.3}
    nodes = [helper.make_node("ConvTranspose", ["x", "t1_w", "t1_b"], ["t1"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], output_padding=[1, 1]),
             helper.make_node("ConvTranspose", ["t1", "t2_w"], ["t2"], kernel_shape=[2, 2], dilations=[2, 2],
                              pads=[0, 1, 1, 0], group=2),
             helper.make_node("Conv", ["t2", "c1_w", "c1_b"], ["c1"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], group=1),
             helper.make_node("Conv", ["c1", "c2_w"], ["y"], kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 1, 0, 2],
                              group=2)]
    paths = []
    for suffix, t_np, e in (("", np_t, elem), ("_f32", np.float32, TensorProto.FLOAT)):
        # the oracle's weights are the model's, rounded to its type
        inits = [numpy_helper.from_array(a.astype(np_t).astype(t_np), k) for k, a in arrs.items()]
        paths.append(save(name + suffix, nodes, 3, inits, e))
    return paths


CT_SIZES = [(1, 7, 6), (2, 8, 9), (1, 33, 29)]
for what, np_t, elem, tol in (("float32", np.float32, TensorProto.FLOAT, 1e-4),
                              ("float64", np.float64, TensorProto.DOUBLE, 1e-4),
                              ("float16", np.float16, TensorProto.FLOAT16, 3e-2)):
    path, oracle = chain("ct_" + what, np_t, elem)
    check(f"ConvTranspose and Conv chain, {what}", path, 3, sizes=CT_SIZES, tol=tol, dtype=np_t, oracle=oracle)

ct_os = save("ct_os", [helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                        output_shape=[20, 20])], 3, [weight("w", [3, 4, 3, 3])])
expect_fail("ConvTranspose output_shape over run-time dims", [t.hodu, "--build", ct_os, "-o", t.path("no.so")] + DIMS,
            ["ConvTranspose", "output_shape", "--dim"])

# --- MaxPool's Indices and LpPool over run-time sizes -----------------------------------
# Indices of a 3x3 stride-2 pad-1 max pool in both storage orders, side by
# side (exact); a chain of LpPools, p = 2, 1 and 3; GlobalLpPool.
idx = [helper.make_node("MaxPool", ["x"], [f"v{o}", f"i{o}"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                        storage_order=o) for o in (0, 1)]
check("MaxPool Indices, storage_order 0 and 1",
      save("mp_idx", idx + [helper.make_node("Concat", ["i0", "i1"], ["y"], axis=1)], 3, [], y_elem=TensorProto.INT64),
      3, sizes=CT_SIZES)
lp = [helper.make_node("LpPool", ["x"], ["l1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], p=2),
      helper.make_node("LpPool", ["l1"], ["l2"], kernel_shape=[2, 2], p=1),
      helper.make_node("LpPool", ["l2"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], p=3)]
check("LpPool p = 2, 1, 3", save("lp", lp, 3, []), 3, sizes=CT_SIZES)
check("GlobalLpPool p = 3", save("glp", [helper.make_node("GlobalLpPool", ["x"], ["y"], p=3)], 3, []), 3,
      sizes=CT_SIZES)

sys.exit(t.finish(errors))
