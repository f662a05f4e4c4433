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
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, save, start, weight  # noqa: E402

t, rng, errors = start("runtime_conv_more", __doc__)
from onnx import helper  # noqa: E402

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

sys.exit(t.finish(errors))
