"""Writes models whose shapes overflow or pass Hodu's tensor size limit
(2^40 elements / bytes, HODU_MAX_TENSOR_BYTES in src/ir/ir.h); sizes.sh
feeds each to the real `hodu`.  Usage: sizes.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
f32, i64 = TensorProto.FLOAT, TensorProto.INT64


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "sizes", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    with open(os.path.join(out, name), "wb") as f:
        f.write(model.SerializeToString())


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def scalar(name, value, dtype):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


y = vi("y", f32, None)
y64 = vi("y", i64, None)
x = vi("x", f32, [1, 1])

# Expand to 2^60 elements: once from a constant (would be folded), once from
# a run-time input (would be planned into the arena).
save("expand_const.onnx", [helper.make_node("Expand", ["c", "s"], ["y"], name="expand0")], [], [y],
     [numpy_helper.from_array(np.ones((1, 1), np.float32), "c"), ints("s", [1 << 30, 1 << 30])])
save("expand_input.onnx", [helper.make_node("Expand", ["x", "s"], ["y"], name="expand0")], [x], [y],
     [ints("s", [1 << 30, 1 << 30])])

# Reshape whose shape entries multiply past int64 (3e9^3 ~ 2.7e28).
save("reshape.onnx", [helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape0")], [x], [y],
     [ints("s", [3000000000, 3000000000, 3000000000])])

# Tile: a dim of 3e9 repeated 4e9 times, and repeats of int64 max.
save("tile.onnx", [helper.make_node("Tile", ["x", "r"], ["y"], name="tile0")], [x], [y],
     [ints("r", [3000000000, 3000000000])])
save("tile_max.onnx", [helper.make_node("Tile", ["x", "r"], ["y"], name="tile0")],
     [vi("x", f32, [2, 1])], [y], [ints("r", [(1 << 63) - 1, 1])])

# ConstantOfShape with dims near 3e9 (the product wraps int64) and int64 max.
save("cos.onnx", [helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos0")], [], [y],
     [ints("s", [3000000000, 3000000000, 3000000000])])
save("cos_max.onnx", [helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos0")], [], [y],
     [ints("s", [(1 << 63) - 1])])
# A zero dim makes the tensor empty, but its other dims still overflow strides.
save("cos_zero.onnx", [helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos0")], [], [y],
     [ints("s", [0, 1 << 62, 1 << 62])])

# Range from 0 to 9e18 step 1 (int64 and float), and a NaN delta.
save("range.onnx", [helper.make_node("Range", ["a", "b", "d"], ["y"], name="range0")], [], [y64],
     [scalar("a", 0, np.int64), scalar("b", 9000000000000000000, np.int64), scalar("d", 1, np.int64)])
save("range_f.onnx", [helper.make_node("Range", ["a", "b", "d"], ["y"], name="range0")], [], [y],
     [scalar("a", 0, np.float32), scalar("b", 1e30, np.float32), scalar("d", 1e-30, np.float32)])

# Conv with pads past the window limit, and pads that make the output huge.
w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
xc = vi("x", f32, [1, 1, 2, 2])
save("conv_pads.onnx", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv0", pads=[1 << 62] * 4)], [xc], [y], [w])
save("conv_big.onnx", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv0", pads=[1 << 31] * 4)], [xc], [y], [w])

# Pad whose begin and end overflow when added.
save("pad.onnx", [helper.make_node("Pad", ["x", "p"], ["y"], name="pad0")], [x], [y],
     [ints("p", [0, (1 << 63) - 1, 0, (1 << 63) - 1])])

# Slice with extreme starts/ends/steps (valid: must still build).
save("slice_steps.onnx", [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="slice0")],
     [vi("x", f32, [4, 6])], [vi("y", f32, None)],
     [ints("st", [-(1 << 63), (1 << 63) - 1]), ints("en", [(1 << 63) - 1, -(1 << 63)]), ints("ax", [0, 1]),
      ints("sp", [(1 << 63) - 1, -(1 << 63)])])

# Concat of two inputs whose axis sum passes the limit.
save("concat.onnx", [helper.make_node("Concat", ["a", "b"], ["y"], name="cat0", axis=0)],
     [vi("a", TensorProto.UINT8, [(1 << 39) + 1]), vi("b", TensorProto.UINT8, [(1 << 39) + 1])],
     [vi("y", TensorProto.UINT8, None)])

# OneHot with a huge depth.
save("onehot.onnx", [helper.make_node("OneHot", ["i", "d", "v"], ["y"], name="onehot0")],
     [vi("i", i64, [4])], [y],
     [scalar("d", 1e30, np.float32), numpy_helper.from_array(np.array([0, 1], np.float32), "v")])

# A plain input model for --input-shape bindings past the limit.
save("input.onnx", [helper.make_node("Relu", ["x"], ["y"], name="relu0")], [vi("x", f32, ["a", "b", "c"])], [y])

# Strides far wider than the input (found by fuzz_compile: the stride-phase
# copy was unrolled once per phase, 500 MB of C for one Conv).  Each must
# build quickly and agree with onnxruntime (checked by sizes.sh).
rng = np.random.default_rng(5)
xw = vi("x", f32, [1, 2, 7, 9])
wdw = numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "w")
wfull = numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "w")
for name, node, inits in (
        ("wide_dw", helper.make_node("Conv", ["x", "w"], ["y"], group=2, strides=[61, 6291455], pads=[1, 5, 1, 1]),
         [wdw]),
        ("wide_conv", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 40], pads=[1, 1, 1, 1]), [wfull]),
        ("wide_pool", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[1, 33]), [])):
    save(name + ".onnx", [node], [xw], [y], inits)
np.save(os.path.join(out, "x_wide.npy"), rng.standard_normal((1, 2, 7, 9)).astype(np.float32))
