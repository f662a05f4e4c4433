"""Writes the malformed models that run.sh feeds to `hodu`.

Each case is built with the onnx helpers (valid protobuf, invalid model) or
by mangling bytes (invalid protobuf).  Usage: make_cases.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(model, name):
    with open(os.path.join(out, name), "wb") as f:
        f.write(model.SerializeToString())


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


f32 = TensorProto.FLOAT
x = helper.make_tensor_value_info("x", f32, [2, 3])
y = helper.make_tensor_value_info("y", f32, [2, 3])

# A good model, also the base for the byte-level cases and run-time checks.
good = model([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 1])], [x], [y])
save(good, "good.onnx")
raw = good.SerializeToString()
with open(os.path.join(out, "truncated.onnx"), "wb") as f:
    f.write(raw[: len(raw) // 2])
with open(os.path.join(out, "random.onnx"), "wb") as f:
    f.write(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())

# Two nodes feeding each other.
save(model([helper.make_node("Add", ["x", "b"], ["a"]), helper.make_node("Relu", ["a"], ["b"]),
            helper.make_node("Identity", ["a"], ["y"])], [x], [y]), "cycle.onnx")

# A node reads 'w', which nothing defines.
save(model([helper.make_node("Add", ["x", "w"], ["y"])], [x], [y]), "missing_initializer.onnx")

# External data that points outside the model's folder.
w = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
w.ClearField("raw_data")
w.data_location = TensorProto.EXTERNAL
for k, v in (("location", "../escape.bin"), ("offset", "0"), ("length", "24")):
    e = w.external_data.add()
    e.key, e.value = k, v
save(model([helper.make_node("Add", ["x", "w"], ["y"])], [x], [y], [w]), "external_escape.onnx")

# Transpose's perm must be ints; here it is a string.
save(model([helper.make_node("Transpose", ["x"], ["y"], perm="1,0")], [x], [y]), "attribute_type.onnx")

# A FlexAttention score_mod whose result is not the scores' shape ([1,2,3,5]
# transposed to [1,2,5,3]).
sm = helper.make_graph([helper.make_node("Transpose", ["s"], ["t"], perm=[0, 1, 3, 2])], "score_mod",
                       [helper.make_tensor_value_info("s", f32, None)], [helper.make_tensor_value_info("t", f32, None)])
fq = helper.make_tensor_value_info("q", f32, [1, 2, 3, 4])
fk = helper.make_tensor_value_info("k", f32, [1, 2, 5, 4])
fv = helper.make_tensor_value_info("v", f32, [1, 2, 5, 4])
fy = helper.make_tensor_value_info("y", f32, [1, 2, 3, 4])
flex = helper.make_model(helper.make_graph([helper.make_node("FlexAttention", ["q", "k", "v"], ["y"],
                                                             domain="ai.onnx.preview", score_mod=sm)],
                                           "bad", [fq, fk, fv], [fy]),
                         opset_imports=[helper.make_opsetid("", 26), helper.make_opsetid("ai.onnx.preview", 1)])
save(flex, "flex_score_mod_shape.onnx")

# Grouped-query heads that do not divide: 4 query heads over 3 kv heads.
qkv = [helper.make_tensor_value_info(n, f32, [1, 2, 12]) for n in ("q", "k", "v")]
la_outs = [helper.make_tensor_value_info(n, f32, None) for n in ("o", "s")]
save(model([helper.make_node("LinearAttention", ["q", "k", "v"], ["o", "s"], q_num_heads=4, kv_num_heads=3,
                             update_rule="linear")], qkv, la_outs, opset=27), "linear_attention_heads.onnx")

# A causal convolution whose kernel is empty (weight [C, 1, 0]): no state length K-1 exists.
cx = helper.make_tensor_value_info("x", f32, [1, 2, 5])
cw = helper.make_tensor_value_info("w", f32, [2, 1, 0])
save(model([helper.make_node("CausalConvWithState", ["x", "w"], ["o", "s"])], [cx, cw], la_outs, opset=27),
     "causal_conv_kernel.onnx")

# raw_data shorter than the tensor's shape needs.
short = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
short.raw_data = short.raw_data[:10]
save(model([helper.make_node("Add", ["x", "w"], ["y"])], [x], [y], [short]), "short_raw_data.onnx")

# DFT with an absurd dft_length (a build-time constant), and a window op
# whose size is negative: both refused at the node.
sig = helper.make_tensor_value_info("s", f32, [1, 8, 1])
ys = helper.make_tensor_value_info("y", f32, None)
huge = numpy_helper.from_array(np.array(1 << 40, np.int64), "n")
save(model([helper.make_node("DFT", ["s", "n"], ["y"])], [sig], [ys], [huge], opset=20), "dft_length.onnx")
neg = numpy_helper.from_array(np.array(-5, np.int64), "n")
save(model([helper.make_node("HannWindow", ["n"], ["y"])], [], [ys], [neg]), "window_size.onnx")

# Run-time inputs: right, wrong shape, wrong dtype.
np.save(os.path.join(out, "x_good.npy"), np.ones((2, 3), np.float32))
np.save(os.path.join(out, "x_shape.npy"), np.ones((3, 2), np.float32))
np.save(os.path.join(out, "x_dtype.npy"), np.ones((2, 3), np.float64))

# Symbolic dims that nobody binds: the error must name each of them.
xs = helper.make_tensor_value_info("x", f32, ["batch", 3, "width"])
ys = helper.make_tensor_value_info("y", f32, None)
save(model([helper.make_node("Identity", ["x"], ["y"])], [xs], [ys]), "unbound_dims.onnx")

# Blocked quantization with a negative block size, and a BitCast to a
# number that is no element type.
yq = helper.make_tensor_value_info("y", TensorProto.INT8, None)
qs = numpy_helper.from_array(np.ones((2, 1), np.float32), "s")
save(model([helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1, block_size=-3, output_dtype=TensorProto.INT8)],
           [x], [yq], [qs], opset=21), "quant_block_size.onnx")
save(model([helper.make_node("BitCast", ["x"], ["y"], to=1000)], [x], [y], opset=26), "bitcast_to.onnx")

# QuantizeLinear into int2 at opset 24 (int2 came in 25), and a float8e8m0
# scale for DequantizeLinear without the output_dtype y needs.
y2 = helper.make_tensor_value_info("y", TensorProto.INT2, None)
save(model([helper.make_node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.INT2)], [x], [y2],
           [numpy_helper.from_array(np.ones((), np.float32), "s")], opset=24), "quant_int2_opset24.onnx")
xq4 = helper.make_tensor_value_info("x", TensorProto.INT4, [2, 3])
se8 = helper.make_tensor("s", TensorProto.FLOAT8E8M0, [], [127])
save(model([helper.make_node("DequantizeLinear", ["x", "s"], ["y"])], [xq4], [ys], [se8], opset=24),
     "dequant_e8m0_no_dtype.onnx")

# RoiAlign with a negative sampling_ratio.
xr = helper.make_tensor_value_info("x", f32, [1, 1, 4, 4])
rois = helper.make_tensor_value_info("rois", f32, [1, 4])
bidx = helper.make_tensor_value_info("bi", TensorProto.INT64, [1])
save(model([helper.make_node("RoiAlign", ["x", "rois", "bi"], ["y"], sampling_ratio=-3)], [xr, rois, bidx], [ys],
           opset=16), "roi_align_sampling.onnx")

# AffineGrid asked for a grid of 2^50 x 2^50 points.
theta = helper.make_tensor_value_info("theta", f32, [1, 2, 3])
size = numpy_helper.from_array(np.array([1, 1, 1 << 50, 1 << 50], np.int64), "size")
save(model([helper.make_node("AffineGrid", ["theta", "size"], ["y"])], [theta], [ys], [size], opset=20),
     "affine_grid_size.onnx")

# A recurrent node with an absurd hidden_size, and a ReverseSequence whose
# time and batch axes coincide.
xr = helper.make_tensor_value_info("x", f32, [5, 2, 3])
yr = helper.make_tensor_value_info("y", f32, None)
wr = numpy_helper.from_array(np.ones((1, 16, 3), np.float32), "w")
rr = numpy_helper.from_array(np.ones((1, 16, 4), np.float32), "r")
save(model([helper.make_node("LSTM", ["x", "w", "r"], ["y"], name="lstm", hidden_size=-5)], [xr], [yr], [wr, rr]),
     "lstm_hidden_size.onnx")
lens = numpy_helper.from_array(np.full((2,), 5, np.int64), "lens")
save(model([helper.make_node("ReverseSequence", ["x", "lens"], ["y"], name="rev", batch_axis=0, time_axis=0)], [xr],
           [yr], [lens]), "reverse_sequence_axes.onnx")

# Einsum's equation is model text: an output that repeats a label.
x4 = helper.make_tensor_value_info("x", f32, [2, 3, 4, 5])
save(model([helper.make_node("Einsum", ["x"], ["y"], equation="abcd->aa")], [x4], [ys]), "einsum_equation.onnx")
# LRN with a negative window.
save(model([helper.make_node("LRN", ["x"], ["y"], size=-3)], [x4], [ys]), "lrn_size.onnx")

# TensorScatter's write indices are run-time data: hostile values must write
# nothing out of bounds (linear: skipped; circular: wrapped).
i64 = TensorProto.INT64
ts_in = [helper.make_tensor_value_info("past", f32, [2, 4, 3]), helper.make_tensor_value_info("upd", f32, [2, 2, 3]),
         helper.make_tensor_value_info("w", i64, [2])]
ts_out = [helper.make_tensor_value_info(n, f32, [2, 4, 3]) for n in ("lin", "circ")]
save(model([helper.make_node("TensorScatter", ["past", "upd", "w"], ["lin"], axis=1),
            helper.make_node("TensorScatter", ["past", "upd", "w"], ["circ"], axis=1, mode="circular")],
           ts_in, ts_out, opset=24), "tscatter.onnx")
np.save(os.path.join(out, "ts_past.npy"), np.zeros((2, 4, 3), np.float32))
np.save(os.path.join(out, "ts_upd.npy"), np.ones((2, 2, 3), np.float32))
np.save(os.path.join(out, "ts_w.npy"), np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min], np.int64))

# Integer products whose sums pass 2^31 (MatMulInteger's int32 result
# wraps; QLinearMatMul sums in 64 bits) and a NaN scale given at run time
# (the requantized value saturates): defined results, no signed overflow or
# NaN-to-integer conversion (the sanitizer build aborts on either).
u8 = TensorProto.UINT8
qa = helper.make_tensor_value_info("a", u8, [1, 40000])
qb = helper.make_tensor_value_info("b", u8, [40000, 1])
qs = helper.make_tensor_value_info("s", f32, [])
q_zero = numpy_helper.from_array(np.array(0, np.uint8), "z")
save(model([helper.make_node("MatMulInteger", ["a", "b"], ["i"]),
            helper.make_node("QLinearMatMul", ["a", "s", "z", "b", "s", "z", "s", "z"], ["q"])],
           [qa, qb, qs], [helper.make_tensor_value_info("i", TensorProto.INT32, [1, 1]),
                          helper.make_tensor_value_info("q", u8, [1, 1])], [q_zero], opset=13), "int_overflow.onnx")
np.save(os.path.join(out, "qa.npy"), np.full((1, 40000), 255, np.uint8))
np.save(os.path.join(out, "qb.npy"), np.full((40000, 1), 255, np.uint8))
np.save(os.path.join(out, "qs_nan.npy"), np.array(np.nan, np.float32))

# Reshape whose target shape is a run-time input: built for the declared
# output shape [3, 2]; run with the values that ask for it (also as -1, 0)
# and with ones that ask for another shape.
rs_shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
rs_y = helper.make_tensor_value_info("y", f32, [3, 2])
save(model([helper.make_node("Reshape", ["x", "shape"], ["y"])], [x, rs_shape], [rs_y]), "reshape_runtime.onnx")
for name, vals in (("rs_good", [3, 2]), ("rs_minus_one", [-1, 2]), ("rs_bad", [2, 3]), ("rs_bad_zero", [0, 3]),
                   ("rs_two_minus", [-1, -1])):
    np.save(os.path.join(out, name + ".npy"), np.array(vals, np.int64))

# Expand and ConstantOfShape with the shape at run time, declared outputs
# [2, 2, 3] and [3, 2].
ex_shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [3])
ex_y = helper.make_tensor_value_info("y", f32, [2, 2, 3])
save(model([helper.make_node("Expand", ["x", "shape"], ["y"])], [x, ex_shape], [ex_y]), "expand_runtime.onnx")
cs_y = helper.make_tensor_value_info("y", f32, [3, 2])
save(model([helper.make_node("ConstantOfShape", ["shape"], ["y"])], [rs_shape], [cs_y]), "cos_runtime.onnx")
for name, vals in (("ex_good", [2, 1, 3]), ("ex_good_full", [2, 2, 3]), ("ex_bad", [3, 1, 3]), ("ex_good_ones", [2, 2, 1]), ("ex_bad_conflict", [2, 4, 3])):
    np.save(os.path.join(out, name + ".npy"), np.array(vals, np.int64))

# CumSum with its axis at run time: -1 and 1 are the last axis, 2 is none.
cum_axis = helper.make_tensor_value_info("axis", TensorProto.INT64, [])
save(model([helper.make_node("CumSum", ["x", "axis"], ["y"])], [x, cum_axis], [y]), "cumsum_runtime.onnx")
for name, v in (("cum_last", -1), ("cum_one", 1), ("cum_bad", 2)):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Unsqueeze with its axes at run time, declared output [2, 1, 3].
uq_axes = helper.make_tensor_value_info("axes", TensorProto.INT64, [1])
uq_y = helper.make_tensor_value_info("y", f32, [2, 1, 3])
save(model([helper.make_node("Unsqueeze", ["x", "axes"], ["y"])], [x, uq_axes], [uq_y], opset=13),
     "unsqueeze_runtime.onnx")
for name, v in (("uq_one", [1]), ("uq_minus_two", [-2]), ("uq_other", [0]), ("uq_out", [5])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Tile's repeats and Split's sizes at run time: declared [4, 3] and [2, 1] + [2, 2].
tl_reps = helper.make_tensor_value_info("reps", TensorProto.INT64, [2])
tl_y = helper.make_tensor_value_info("y", f32, [4, 3])
save(model([helper.make_node("Tile", ["x", "reps"], ["y"])], [x, tl_reps], [tl_y]), "tile_runtime.onnx")
sp_sizes = helper.make_tensor_value_info("split", TensorProto.INT64, [2])
sp_outs = [helper.make_tensor_value_info("a", f32, [2, 1]), helper.make_tensor_value_info("b", f32, [2, 2])]
save(model([helper.make_node("Split", ["x", "split"], ["a", "b"], axis=1)], [x, sp_sizes], sp_outs, opset=13),
     "split_runtime.onnx")
for name, v in (("tl_good", [2, 1]), ("tl_bad", [1, 2]), ("sp_good", [1, 2]), ("sp_bad", [2, 1])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# ReduceSum with its axes at run time, keepdims=1, declared output [2, 1].
rd_axes = helper.make_tensor_value_info("axes", TensorProto.INT64, [1])
rd_y = helper.make_tensor_value_info("y", f32, [2, 1])
save(model([helper.make_node("ReduceSum", ["x", "axes"], ["y"])], [x, rd_axes], [rd_y], opset=13),
     "reduce_runtime.onnx")
for name, v in (("rd_one", [1]), ("rd_minus_one", [-1]), ("rd_other", [0]), ("rd_out", [2])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Slice with starts and ends at run time along axis 1, declared output
# [2, 2]: [1, 3) and [-2, big) give it; [0, 3) is one too many; a start of
# INT64_MIN clamps to 0 (three columns: refused too).
sl_starts = helper.make_tensor_value_info("starts", TensorProto.INT64, [1])
sl_ends = helper.make_tensor_value_info("ends", TensorProto.INT64, [1])
sl_axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
sl_y = helper.make_tensor_value_info("y", f32, [2, 2])
save(model([helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"])], [x, sl_starts, sl_ends], [sl_y],
           [sl_axes], opset=13), "slice_runtime.onnx")
for name, v in (("sl_1", [1]), ("sl_3", [3]), ("sl_m2", [-2]), ("sl_big", [1 << 62]), ("sl_0", [0]),
                ("sl_min", [-(1 << 63)])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Range with start, limit and delta at run time, declared length 4.
rg_in = [helper.make_tensor_value_info(n, TensorProto.INT64, []) for n in ("start", "limit", "delta")]
rg_y = helper.make_tensor_value_info("y", TensorProto.INT64, [4])
save(model([helper.make_node("Range", ["start", "limit", "delta"], ["y"])], rg_in, [rg_y], opset=11),
     "range_runtime.onnx")
for name, v in (("rg_0", 0), ("rg_1", 1), ("rg_2", 2), ("rg_4", 4), ("rg_5", 5), ("rg_8", 8), ("rg_min", -(1 << 63)),
                ("rg_max", (1 << 63) - 1)):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Pad (reflect) with its pads at run time, declared output [2, 5].
pd_pads = helper.make_tensor_value_info("pads", TensorProto.INT64, [4])
pd_y = helper.make_tensor_value_info("y", f32, [2, 5])
save(model([helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")], [x, pd_pads], [pd_y], opset=13),
     "pad_runtime.onnx")
# pd_wide: within the size limit and giving [2, 5], reflected 2^38 times
# over (one remainder per element, not a loop: the run must end at once).
for name, v in (("pd_good", [0, 1, 0, 1]), ("pd_left", [0, 2, 0, 0]), ("pd_bad", [0, 2, 0, 2]),
                ("pd_huge", [0, 1 << 62, 0, -(1 << 62) + 2]), ("pd_wide", [0, 1 << 39, 0, -(1 << 39) + 2])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Shape-deciding operands of the signal, TopK, Col2Im and Dropout ops at run
# time (one npy per value; 'npv' names them).
def npv(name, v, dtype=np.int64):
    np.save(os.path.join(out, name + ".npy"), np.array(v, dtype))


# TopK with K at run time, declared [2, 2]: K = 2 fits, 3 and -1 do not.
tk_k = helper.make_tensor_value_info("k", TensorProto.INT64, [1])
tk_outs = [helper.make_tensor_value_info("v", f32, [2, 2]), helper.make_tensor_value_info("i", TensorProto.INT64, [2, 2])]
save(model([helper.make_node("TopK", ["x", "k"], ["v", "i"])], [x, tk_k], tk_outs, opset=11), "topk_runtime.onnx")
for name, v in (("tk_2", [2]), ("tk_3", [3]), ("tk_m1", [-1])):
    npv(name, v)

# HannWindow with its size at run time, declared length 8.
wn_size = helper.make_tensor_value_info("size", TensorProto.INT64, [])
wn_y = helper.make_tensor_value_info("y", f32, [8])
save(model([helper.make_node("HannWindow", ["size"], ["y"])], [wn_size], [wn_y]), "window_runtime.onnx")
for name, v in (("wn_8", 8), ("wn_9", 9), ("wn_m1", -1)):
    npv(name, v)

# DFT (opset 20) with its axis at run time: x [2, 3, 1] -> declared [2, 3, 2];
# axes 0, 1, -2, -3 give it; -1 (the complex dim), 2 and INT64_MIN name none.
dft_x = helper.make_tensor_value_info("x", f32, [2, 3, 1])
dft_axis = helper.make_tensor_value_info("axis", TensorProto.INT64, [])
dft_y = helper.make_tensor_value_info("y", f32, [2, 3, 2])
save(model([helper.make_node("DFT", ["x", "", "axis"], ["y"])], [dft_x, dft_axis], [dft_y], opset=20),
     "dft_runtime.onnx")
npv("dft_x", np.arange(6).reshape(2, 3, 1), np.float32)
for name, v in (("dft_0", 0), ("dft_m2", -2), ("dft_m1", -1), ("dft_2", 2), ("dft_min", -(1 << 63))):
    npv(name, v)

# Col2Im with image_shape and block_shape at run time: [1, 4, 4] columns of
# 2x2 blocks -> declared image [1, 1, 3, 3]; other blocks or images fail.
ci_x = helper.make_tensor_value_info("cols", f32, [1, 4, 4])
ci_in = [helper.make_tensor_value_info(n, TensorProto.INT64, [2]) for n in ("image", "block")]
ci_y = helper.make_tensor_value_info("y", f32, [1, 1, 3, 3])
save(model([helper.make_node("Col2Im", ["cols", "image", "block"], ["y"])], [ci_x] + ci_in, [ci_y], opset=18),
     "col2im_runtime.onnx")
npv("ci_x", np.ones((1, 4, 4)), np.float32)
for name, v in (("ci_33", [3, 3]), ("ci_22", [2, 2]), ("ci_34", [3, 4]), ("ci_41", [4, 1]), ("ci_huge", [1 << 62, 4]),
                ("ci_neg", [-2, -2])):
    npv(name, v)

# MelWeightMatrix with every operand at run time, declared [5, 4]
# (dft_length 8 or 9): dft_length 10 and a NaN edge fail.
mw_in = [helper.make_tensor_value_info(n, TensorProto.INT64, []) for n in ("mels", "dft", "rate")]
mw_in += [helper.make_tensor_value_info(n, f32, []) for n in ("lo", "hi")]
mw_y = helper.make_tensor_value_info("y", f32, [5, 4])
save(model([helper.make_node("MelWeightMatrix", ["mels", "dft", "rate", "lo", "hi"], ["y"])], mw_in, [mw_y]),
     "mel_runtime.onnx")
for name, v in (("mw_4", 4), ("mw_8", 8), ("mw_10", 10), ("mw_rate", 8000)):
    npv(name, v)
for name, v in (("mw_lo", 100.0), ("mw_hi", 3000.0), ("mw_nan", float("nan"))):
    npv(name, v, np.float32)

# Dropout with ratio and training_mode at run time: training with ratio 0
# or no training is the identity; training with ratio 0.5 would need random
# numbers and stops the run; a ratio of 1 is out of range.
do_in = [helper.make_tensor_value_info("r", f32, []), helper.make_tensor_value_info("t", TensorProto.BOOL, [])]
save(model([helper.make_node("Dropout", ["x", "r", "t"], ["y"])], [x] + do_in, [y], opset=13), "dropout_runtime.onnx")
for name, v in (("do_0", 0.0), ("do_half", 0.5), ("do_1", 1.0)):
    npv(name, v, np.float32)
for name, v in (("do_on", True), ("do_off", False)):
    npv(name, v, np.bool_)

# An If over a size the data decides inside a branch of another such If:
# the inlined branches' guards would have to combine both conditions.
i64 = TensorProto.INT64
vi64 = helper.make_tensor_value_info
inner = helper.make_node(
    "If", ["c2"], ["r_in"], name="inner",
    then_branch=helper.make_graph([helper.make_node("Neg", ["nz"], ["a1"])], "t2", [], [vi64("a1", i64, None)]),
    else_branch=helper.make_graph([helper.make_node("Abs", ["nz"], ["a2"])], "e2", [], [vi64("a2", i64, None)]))
outer_then = helper.make_graph([helper.make_node("Size", ["nz"], ["sz"]),
                                helper.make_node("Greater", ["sz", "one"], ["c2"]), inner], "t1", [],
                               [vi64("r_in", i64, None)])
outer_else = helper.make_graph([helper.make_node("Identity", ["nz"], ["r_id"])], "e1", [], [vi64("r_id", i64, None)])
save(model([helper.make_node("NonZero", ["x"], ["nz"], name="find"), helper.make_node("Size", ["nz"], ["n"]),
            helper.make_node("Greater", ["n", "zero_i"], ["c1"]),
            helper.make_node("If", ["c1"], ["r"], name="outer", then_branch=outer_then, else_branch=outer_else)],
           [x], [vi64("r", i64, None)],
           [numpy_helper.from_array(np.array(0, np.int64), "zero_i"), numpy_helper.from_array(np.array(1, np.int64), "one")]),
     "if_runtime_nested.onnx")
# A value whose size has no bound (StringSplit's tokens) read by another
# node: refused at build time (a bounded one, NonZero's, is a run-time dim).
save(model([helper.make_node("StringSplit", ["s"], ["tok", "cnt"], name="split"),
            helper.make_node("StringConcat", ["tok", "tok"], ["t"], name="twice")],
           [helper.make_tensor_value_info("s", TensorProto.STRING, [2])],
           [helper.make_tensor_value_info("t", TensorProto.STRING, None)], opset=20), "unbounded_consumer.onnx")
# ... nor may a subgraph return one (its control node computes on exact
# shapes): NonZero as a Loop body's result.
nz_body = helper.make_graph([helper.make_node("NonZero", ["x"], ["nz"], name="find_in_body"),
                             helper.make_node("Identity", ["c"], ["c2"])], "body",
                            [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                             helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                            [helper.make_tensor_value_info("c2", TensorProto.BOOL, []),
                             helper.make_tensor_value_info("nz", TensorProto.INT64, None)])
save(model([helper.make_node("Loop", ["trip", ""], ["all"], body=nz_body, name="repeat")], [x],
           [helper.make_tensor_value_info("all", TensorProto.INT64, None)],
           [numpy_helper.from_array(np.array(2, np.int64), "trip")]), "nonzero_in_loop.onnx")
# NonMaxSuppression's iou_threshold must lie in [0, 1]: a constant is refused
# when building, a run-time value when the model runs.
nms_in = [helper.make_tensor_value_info("boxes", f32, [1, 3, 4]), helper.make_tensor_value_info("scores", f32, [1, 1, 3])]
nms_out = [helper.make_tensor_value_info("sel", TensorProto.INT64, None)]
save(model([helper.make_node("NonMaxSuppression", ["boxes", "scores", "max", "iou"], ["sel"])], nms_in, nms_out,
           [numpy_helper.from_array(np.array([2], np.int64), "max"),
            numpy_helper.from_array(np.array([2.0], np.float32), "iou")]), "nms_iou_const.onnx")
save(model([helper.make_node("NonMaxSuppression", ["boxes", "scores", "max", "iou"], ["sel"])],
           nms_in + [helper.make_tensor_value_info("iou", f32, [1])], nms_out,
           [numpy_helper.from_array(np.array([2], np.int64), "max")]), "nms_iou_runtime.onnx")
np.save(os.path.join(out, "nms_boxes.npy"), np.array([[[0, 0, 1, 1], [0, 0, 1, 1.1], [5, 5, 6, 6]]], np.float32))
np.save(os.path.join(out, "nms_scores.npy"), np.array([[[0.9, 0.8, 0.7]]], np.float32))
np.save(os.path.join(out, "nms_iou_good.npy"), np.array([0.5], np.float32))
np.save(os.path.join(out, "nms_iou_bad.npy"), np.array([1.5], np.float32))
np.save(os.path.join(out, "nms_iou_nan.npy"), np.array([np.nan], np.float32))
# ReduceSum, keepdims=0, axes at run time: x [2, 3, 3] to the declared [2, 3]
# is axis 1 or axis 2 (the build has a loop nest for each); axis 0 gives
# [3, 3] and axis 3 is out of range.
rk_x = helper.make_tensor_value_info("x", f32, [2, 3, 3])
rk_axes = helper.make_tensor_value_info("axes", TensorProto.INT64, [1])
rk_y = helper.make_tensor_value_info("y", f32, [2, 3])
save(model([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)], [rk_x, rk_axes], [rk_y], opset=13),
     "reduce_nokeep_runtime.onnx")
np.save(os.path.join(out, "rk_x.npy"), np.arange(18, dtype=np.float32).reshape(2, 3, 3))
for name, v in (("rk_1", [1]), ("rk_2", [2]), ("rk_m1", [-1]), ("rk_0", [0]), ("rk_3", [3])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Resize (linear) with its scales at run time, x [1, 1, 2, 3] to the
# declared [1, 1, 4, 6]: scales 2 and 2.4 both give 4 rows; 3 gives 6, and
# NaN, infinity, negative and tiny scales are refused.
rz_x = helper.make_tensor_value_info("x", f32, [1, 1, 2, 3])
rz_scales = helper.make_tensor_value_info("scales", f32, [4])
rz_y = helper.make_tensor_value_info("y", f32, [1, 1, 4, 6])
save(model([helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")], [rz_x, rz_scales], [rz_y],
           opset=19), "resize_scales_runtime.onnx")
np.save(os.path.join(out, "rz_x.npy"), np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3))
for name, v in (("rz_2", [1, 1, 2, 2]), ("rz_24", [1, 1, 2.4, 2]), ("rz_3", [1, 1, 3, 2]),
                ("rz_nan", [1, 1, np.nan, 2]), ("rz_inf", [1, 1, np.inf, 2]), ("rz_neg", [1, 1, -2, 2]),
                ("rz_tiny", [1, 1, 1e-30, 2])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.float32))

# Resize tf_crop_and_resize with its roi at run time (sizes a constant): a
# NaN roi is refused; a huge one extrapolates everywhere.
rr_x = helper.make_tensor_value_info("x", f32, [1, 1, 4, 4])
rr_roi = helper.make_tensor_value_info("roi", f32, [8])
rr_y = helper.make_tensor_value_info("y", f32, [1, 1, 3, 3])
rr_sizes = numpy_helper.from_array(np.array([1, 1, 3, 3], np.int64), "sizes")
save(model([helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], mode="linear",
                             coordinate_transformation_mode="tf_crop_and_resize")], [rr_x, rr_roi], [rr_y],
           [rr_sizes], opset=19), "resize_roi_runtime.onnx")
np.save(os.path.join(out, "rr_x.npy"), np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
for name, v in (("rr_good", [0, 0, 0.4, 0.6, 1, 1, 0.6, 0.8]), ("rr_nan", [0, 0, np.nan, 0.6, 1, 1, 0.6, 0.8]),
                ("rr_huge", [0, 0, -3e38, 3e38, 1, 1, 3e38, -3e38])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.float32))

# Resize with sizes at run time under keep_aspect_ratio_policy not_larger,
# x [1, 1, 2, 4] to the declared [1, 1, 1, 2]: sizes [1, 3] give it, [2, 8]
# give [2, 4], a negative size is refused.
ra_x = helper.make_tensor_value_info("x", f32, [1, 1, 2, 4])
ra_sizes = helper.make_tensor_value_info("sizes", TensorProto.INT64, [2])
ra_y = helper.make_tensor_value_info("y", f32, [1, 1, 1, 2])
save(model([helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], axes=[2, 3], keep_aspect_ratio_policy="not_larger")],
           [ra_x, ra_sizes], [ra_y], opset=19), "resize_aspect_runtime.onnx")
np.save(os.path.join(out, "ra_x.npy"), np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4))
for name, v in (("ra_good", [1, 3]), ("ra_big", [2, 8]), ("ra_neg", [-1, 3])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Pad (constant) with its axes at run time (pads a constant [1, 1]), x
# [2, 3] to the declared [2, 5]: axis 1 or -1; axis 0 gives [4, 3], axis 2 is
# out of range.
pa_axes = helper.make_tensor_value_info("axes", TensorProto.INT64, [1])
pa_pads = numpy_helper.from_array(np.array([1, 1], np.int64), "pads")
pa_y = helper.make_tensor_value_info("y", f32, [2, 5])
save(model([helper.make_node("Pad", ["x", "pads", "", "axes"], ["y"])], [x, pa_axes], [pa_y], [pa_pads], opset=18),
     "pad_axes_runtime.onnx")
for name, v in (("pa_1", [1]), ("pa_m1", [-1]), ("pa_0", [0]), ("pa_2", [2])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.int64))

# Control flow.  A branch reads 'nowhere', which no enclosing graph defines.
bvi = helper.make_tensor_value_info
cond = bvi("c", TensorProto.BOOL, [])
then_g = helper.make_graph([helper.make_node("Add", ["x", "nowhere"], ["t"])], "then", [], [bvi("t", f32, [2, 3])])
else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [bvi("e", f32, [2, 3])])
save(model([helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)], [x, cond], [y]),
     "if_undefined.onnx")
# Branches of different shapes under a run-time condition.
else_g2 = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["e"], keepdims=0)], "else", [],
                            [bvi("e", f32, [])])
then_g2 = helper.make_graph([helper.make_node("Neg", ["x"], ["t"])], "then", [], [bvi("t", f32, [2, 3])])
save(model([helper.make_node("If", ["c"], ["y"], then_branch=then_g2, else_branch=else_g2, name="pick")],
           [x, cond], [y]), "if_shapes.onnx")
# A loop-carried value that changes shape.
body = helper.make_graph([helper.make_node("Identity", ["ci"], ["co"]),
                          helper.make_node("Concat", ["s", "s"], ["s2"], axis=0)], "body",
                         [bvi("i", TensorProto.INT64, []), bvi("ci", TensorProto.BOOL, []), bvi("s", f32, [2, 3])],
                         [bvi("co", TensorProto.BOOL, []), bvi("s2", f32, [4, 3])])
trip = numpy_helper.from_array(np.array(3, np.int64), "trip")
save(model([helper.make_node("Loop", ["trip", "", "x"], ["y"], body=body, name="grow")], [x], [y], [trip]),
     "loop_carried_shape.onnx")
# Scan outputs of a loop whose trip count is a run-time input and whose
# length the model declares (4): another count is refused when it runs.
body = helper.make_graph([helper.make_node("Identity", ["ci"], ["co"]), helper.make_node("Neg", ["s"], ["so"]),
                          helper.make_node("Identity", ["so"], ["sc"])], "body",
                         [bvi("i", TensorProto.INT64, []), bvi("ci", TensorProto.BOOL, []), bvi("s", f32, [2, 3])],
                         [bvi("co", TensorProto.BOOL, []), bvi("so", f32, [2, 3]), bvi("sc", f32, [2, 3])])
ttrue = numpy_helper.from_array(np.array(True), "ttrue")
save(model([helper.make_node("Loop", ["n", "ttrue", "x"], ["y", "scans"], body=body)],
           [x, bvi("n", TensorProto.INT64, [])], [y, bvi("scans", f32, [4, 2, 3])], [ttrue]), "loop_scan_runtime.onnx")
np.save(os.path.join(out, "trip_4.npy"), np.array(4, np.int64))
np.save(os.path.join(out, "trip_6.npy"), np.array(6, np.int64))


# Multinomial's log-probabilities at run time: a NaN, a +inf or a row of
# -inf is no distribution; -inf in some classes only rules them out.
mn_x = helper.make_tensor_value_info("x", f32, [2, 3])
mn_y = helper.make_tensor_value_info("y", TensorProto.INT32, [2, 4])
save(model([helper.make_node("Multinomial", ["x"], ["y"], sample_size=4, seed=1.0)], [mn_x], [mn_y]),
     "multinomial_runtime.onnx")
for name, v in (("mn_good", [[0, -np.inf, 1], [2, 2, 2]]), ("mn_nan", [[0, np.nan, 1], [2, 2, 2]]),
                ("mn_inf", [[0, 0, 1], [2, np.inf, 2]]), ("mn_none", [[0, 0, 1], [-np.inf, -np.inf, -np.inf]])):
    np.save(os.path.join(out, name + ".npy"), np.array(v, np.float32))
# Multinomial with sample_size 0, and RandomUniform into an integer type.
save(model([helper.make_node("Multinomial", ["x"], ["y"], sample_size=0)], [mn_x], [mn_y]),
     "multinomial_sample_size.onnx")
save(model([helper.make_node("RandomUniform", [], ["y"], shape=[2, 3], dtype=TensorProto.INT32)], [],
           [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])]), "random_uniform_dtype.onnx")

# Strings.  RegexFullMatch with a pattern POSIX regcomp refuses (an
# unclosed group) and one using RE2 syntax POSIX lacks: build errors
# naming the node.  A StringConcat model for run-time string inputs:
# a good '<U' .npy, one whose code unit is a surrogate, one past U+10FFFF,
# and one whose data is shorter than its header says.
s_x = helper.make_tensor_value_info("x", TensorProto.STRING, [2])
s_y = helper.make_tensor_value_info("y", TensorProto.STRING, [2])
s_b = helper.make_tensor_value_info("b", TensorProto.BOOL, [2])
save(model([helper.make_node("RegexFullMatch", ["x"], ["b"], name="re", pattern="(ab")], [s_x], [s_b], opset=20),
     "regex_bad.onnx")
save(model([helper.make_node("RegexFullMatch", ["x"], ["b"], name="re", pattern="(?i)ab")], [s_x], [s_b], opset=20),
     "regex_re2.onnx")
save(model([helper.make_node("StringConcat", ["x", "x"], ["y"], name="cat")], [s_x], [s_y], opset=20),
     "string_concat.onnx")
# Add on strings: only the string ops take them.
save(model([helper.make_node("Identity", ["x"], ["y"], name="id")], [s_x], [s_y], opset=20), "string_identity.onnx")
np.save(os.path.join(out, "str_good.npy"), np.array(["ab", "\u4e2d"]))


def unicode_npy(name, units, n_elems, width):
    """A '<U<width>' .npy of n_elems elements holding the given UTF-32 code units."""
    header = "{'descr': '<U%d', 'fortran_order': False, 'shape': (%d,), }" % (width, n_elems)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    body = b"".join(int(u).to_bytes(4, "little") for u in units)
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + body)


unicode_npy("str_surrogate.npy", [0x61, 0, 0xD800, 0], 2, 2)
unicode_npy("str_too_big.npy", [0x61, 0, 0x110000, 0], 2, 2)
unicode_npy("str_short.npy", [0x61, 0, 0x62], 2, 2)

# ImageDecoder: the encoded bytes come at run time, 64 of them.  A good
# 4x4 PPM (padded: a decoder stops at the image's end), images of each
# format family cut to 64 bytes (Pillow writes them), and bytes that are
# no image: the node's check with the decoder's reason.
import io  # noqa: E402

from PIL import Image  # noqa: E402

IMG_BYTES = 64
save(model([helper.make_node("ImageDecoder", ["b"], ["px"], name="dec", pixel_format="RGB")],
           [helper.make_tensor_value_info("b", TensorProto.UINT8, [IMG_BYTES])],
           [helper.make_tensor_value_info("px", TensorProto.UINT8, None)], opset=20), "image_decoder.onnx")


def img_npy(name, data):
    data = (data + bytes(IMG_BYTES))[:IMG_BYTES]
    np.save(os.path.join(out, name), np.frombuffer(data, np.uint8))


img_npy("img_good.npy", b"P6\n4 4\n255\n" + bytes(range(48)))
noise = Image.fromarray(np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8), "RGB")
for fmt, kw in (("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("TIFF", {}), ("JPEG2000", {}), ("BMP", {})):
    b = io.BytesIO()
    noise.save(b, fmt, **kw)
    assert len(b.getvalue()) > IMG_BYTES
    img_npy(f"img_{fmt.lower()}_cut.npy", b.getvalue())
img_npy("img_unknown.npy", b"GIF89a" + bytes(range(58)))
# --grad through an op with no gradient rule: the error names the node.
save(model([helper.make_node("Mod", ["x", "x"], ["y"], name="remainder", fmod=1)], [x],
           [helper.make_tensor_value_info("y", f32, None)]), "grad_no_rule.onnx")
# --grad through an LSTM whose sequence length is a run-time dim: the
# gradient unrolls the steps, so the error names the node and the dim.
save(model([helper.make_node("LSTM", ["xs", "w", "r"], ["ys"], name="lstm", hidden_size=2)],
           [helper.make_tensor_value_info("xs", f32, ["T", 1, 3])], [helper.make_tensor_value_info("ys", f32, None)],
           [numpy_helper.from_array(np.ones((1, 8, 3), np.float32), "w"),
            numpy_helper.from_array(np.ones((1, 8, 2), np.float32), "r")]), "grad_lstm_runtime_seq.onnx")
# A Loop over a run-time batch (--dim batch=1..4) whose body holds an If
# over it, and one whose scan output's size the body makes (a Concat of
# the carried value with itself): both refused, naming the node.
vb = helper.make_tensor_value_info("s_in", f32, ["batch", 3])
lp_in = [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []), vb]
pick = helper.make_node(
    "If", ["cond_in"], ["s_out"], name="pick",
    then_branch=helper.make_graph([helper.make_node("Neg", ["s_in"], ["a"])], "t", [], [vi64("a", f32, None)]),
    else_branch=helper.make_graph([helper.make_node("Abs", ["s_in"], ["b"])], "e", [], [vi64("b", f32, None)]))
body = helper.make_graph([pick, helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body", lp_in,
                         [vi64("cond_out", TensorProto.BOOL, []), vi64("s_out", f32, ["batch", 3])])
save(model([helper.make_node("Loop", ["trip", "c", "s0"], ["s"], name="lp", body=body)],
           [vi64("trip", i64, []), vi64("c", TensorProto.BOOL, []), vi64("s0", f32, ["batch", 3])],
           [vi64("s", f32, ["batch", 3])]), "loop_if_runtime.onnx")
body = helper.make_graph([helper.make_node("Concat", ["s_in", "s_in"], ["twice"], axis=0),
                          helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                          helper.make_node("Identity", ["s_in"], ["s_out"])], "body", lp_in,
                         [vi64("cond_out", TensorProto.BOOL, []), vi64("s_out", f32, ["batch", 3]),
                          vi64("twice", f32, None)])
save(model([helper.make_node("Loop", ["trip", "", "s0"], ["s", "scans"], name="grow", body=body)],
           [vi64("s0", f32, ["batch", 3])], [vi64("s", f32, ["batch", 3]), vi64("scans", f32, None)],
           [numpy_helper.from_array(np.array(2, np.int64), "trip")]), "loop_scan_body_size.onnx")
# --export-onnx with a checkpoint that does not fit the model: refused,
# naming the tensor, and nothing written.
save(model([helper.make_node("Add", ["x", "w"], ["y"])], [x], [helper.make_tensor_value_info("y", f32, None)],
           [numpy_helper.from_array(np.zeros((2, 3), np.float32), "w")]), "export_model.onnx")
from safetensors.numpy import save_file  # noqa: E402

save_file({"w": np.zeros((3, 2), np.float32)}, os.path.join(out, "export_shape.safetensors"))
save_file({"w": np.zeros((2, 3), np.float32), "nope": np.zeros(1, np.float32)},
          os.path.join(out, "export_extra.safetensors"))
