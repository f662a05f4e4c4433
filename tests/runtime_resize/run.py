"""Resize to sizes the run computes from run-time dims with arithmetic on
data (torchvision's detectors: floor(h * scale) in float, the scale
min(min_size / min(h, w), max_size / max(h, w))), built once with
`--dim height=LO..HI --dim width=LO..HI` and run at three sizes against
onnxruntime.  The output's height and width are data symbols whose
bounds the build derives from the dims' ranges (src/ops/valbounds.c);
the Conv after the Resize runs over them (quotient symbols of them),
and `--dump-ir` shows their bounds.

Models: Shape -> Slice -> Cast float -> Mul by a constant scale -> Floor
-> Cast int64 -> Concat with the batch and channels -> Resize(sizes) ->
Conv; the detector's form, the scale from ReduceMin/ReduceMax of the
image's height and width, Div and Min; and Pad over run-time dims, by
constant pads and up to a multiple of 8 by pads the run computes from
the resized size (ceil(s / 8) * 8 - s: bounded by walking the size's
values, since intervals alone would allow a negative pad); a Slice from
one run-time dim to another (h * w to 2 * h * w of a flattened image),
also after a Reshape of [3 * h * w, 1] to (1, -1), whose -1 takes the
run-time dims (a detector's objectness); two levels' anchors
concatenated and flattened from axis 2 (a sum of two products); a Split of a fixed axis with
run-time dims after it and on both sides of it; RoiAlign from a map
whose height and width are run-time dims.

Refusals checked with their messages: sizes from a graph input (no
bound), sizes whose bound is too large to allocate, and sizes behind a
chain of shared producers too deep to walk (2^40 paths).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from clitest import CliTest  # noqa: E402

t = CliTest("runtime_resize", __doc__)
try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
except ImportError as exc:
    print(f"runtime_resize: cannot start: {exc}", file=sys.stderr)
    sys.exit(2)

rng = np.random.default_rng(0)
errors = []
DIMS = ["--dim", "height=9..40", "--dim", "width=8..37"]
SIZES = [(9, 8), (40, 37), (23, 30)]


def i64(name, vals):
    return helper.make_tensor(name, TensorProto.INT64, [len(vals)], vals)


def f32(name, vals):
    return helper.make_tensor(name, TensorProto.FLOAT, [len(vals)] if isinstance(vals, list) else [],
                              vals if isinstance(vals, list) else [vals])


def save(name, nodes, inits, xin="x", sz_input=None):
    ins = [helper.make_tensor_value_info(xin, TensorProto.FLOAT, [1, 3, "height", "width"])]
    if sz_input:
        ins.append(helper.make_tensor_value_info(sz_input, TensorProto.INT64, [4]))
    m = helper.make_model(helper.make_graph(nodes, name, ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                                                            None)], inits),
                          opset_imports=[helper.make_opsetid("", 17)])
    path = t.path(f"{name}.onnx")
    onnx.save(m, path)
    return path


def resize_conv(hw_nodes, inits):
    """Resize x to Concat(Shape(x)[0:2], "hw") (linear), then a 3x3
    stride-2 conv."""
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Shape", ["x"], ["sx"]),
             helper.make_node("Slice", ["sx", "s0", "s2"], ["nc"]),
             helper.make_node("Slice", ["sx", "s2", "s4"], ["hwi"]),
             helper.make_node("Cast", ["hwi"], ["hwf"], to=TensorProto.FLOAT)] + hw_nodes + [
        helper.make_node("Cast", ["hwo"], ["hw"], to=TensorProto.INT64),
        helper.make_node("Concat", ["nc", "hw"], ["sz"], axis=0),
        helper.make_node("Resize", ["x", "", "", "sz"], ["r"], mode="linear"),
        helper.make_node("Conv", ["r", "w", "b"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])]
    inits = inits + [i64("s0", [0]), i64("s2", [2]), i64("s4", [4]),
                     helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten()),
                     helper.make_tensor("b", TensorProto.FLOAT, [4], rng.standard_normal(4).astype(np.float32))]
    return nodes, inits


def run_hodu(lib, x):
    np.save(t.path("x.npy"), x)
    out = t.path("out")
    os.makedirs(out, exist_ok=True)
    t.run([t.hodu, "--run", lib, "--output-dir", out, "--input", f"x={t.path('x.npy')}"])
    return np.load(os.path.join(out, "y.npy"))


def check(what, path):
    lib = t.path(os.path.basename(path).replace(".onnx", ".so"))
    try:
        t.run([t.hodu, "--build", path, "-o", lib] + DIMS)
    except RuntimeError as exc:
        errors.append(f"{what}: build failed: {exc}")
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for h, w in SIZES:
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        want = sess.run(None, {"x": x})[0]
        got = run_hodu(lib, x)
        if got.shape != want.shape:
            errors.append(f"{what} at {h}x{w}: shape {got.shape}, onnxruntime {want.shape}")
        elif not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            errors.append(f"{what} at {h}x{w}: max error {np.abs(got - want).max():.3g}")
    return lib


def expect_fail(what, cmd, needles):
    CliTest.expect_fail(errors, what, cmd, needles)


# floor(hw * 1.7): the bounds floor(9 * 1.7) = 15 .. floor(40 * 1.7) = 68
nodes, inits = resize_conv([helper.make_node("Mul", ["hwf", "k"], ["hwm"]),
                            helper.make_node("Floor", ["hwm"], ["hwo"])], [f32("k", 1.7)])
lib = check("Resize to floor(1.7 * (height, width)), then a conv", save("rs_scale", nodes, inits))
if lib:
    p = subprocess.run([t.hodu, "--build", t.path("rs_scale.onnx"), "-o", t.path("again.so"), "--dump-ir"] + DIMS,
                       capture_output=True, text=True, timeout=120)
    # the resized height and width are data symbols bounded by
    # floor(40 * 1.7) = 68 and floor(37 * 1.7) = 62, and the conv's
    # output their quotients
    for want in ["r.dim2<=68", "r.dim3<=62", "(r.dim2+1)/2<=34"]:
        if p.returncode != 0 or want not in p.stdout:
            errors.append(f"--dump-ir lacks {want}: {(p.stdout + p.stderr)[-800:]}")

# the detector's form: scale = min(24 / min(h, w), 48 / max(h, w))
nodes, inits = resize_conv([helper.make_node("ReduceMin", ["hwf"], ["mn"], keepdims=0),
                            helper.make_node("ReduceMax", ["hwf"], ["mx"], keepdims=0),
                            helper.make_node("Div", ["lo", "mn"], ["s1"]),
                            helper.make_node("Div", ["hi", "mx"], ["s2f"]),
                            helper.make_node("Min", ["s1", "s2f"], ["sc"]),
                            helper.make_node("Mul", ["hwf", "sc"], ["hwm"]),
                            helper.make_node("Floor", ["hwm"], ["hwo"])], [f32("lo", 24.0), f32("hi", 48.0)])
check("Resize by torchvision's min(24 / min(h, w), 48 / max(h, w)) scale, then a conv",
      save("rs_detector", nodes, inits))

# Pad over run-time dims: constant pads first (a polynomial dim), then
# the resize, then padding up to a multiple of 8 with pads the run
# computes from the resized size (ceil(s / 8) * 8 - s, as torchvision's
# detectors pad to 32): the padded dims are data symbols whose bounds
# walk the resized sizes one by one
nodes, inits = resize_conv([helper.make_node("Mul", ["hwf", "k"], ["hwm"]),
                            helper.make_node("Floor", ["hwm"], ["hwo"])], [f32("k", 1.3)])
nodes[0].input[0] = "xp"
nodes[-2].input[0] = "xp"
nodes[-1].input[0] = "rp"
nodes = [helper.make_node("Pad", ["x", "cp"], ["xp"], mode="constant")] + nodes[:-1] + [
    helper.make_node("Shape", ["r"], ["sr"]), helper.make_node("Slice", ["sr", "s2", "s4"], ["rs"]),
    helper.make_node("Cast", ["rs"], ["rsf"], to=TensorProto.FLOAT), helper.make_node("Div", ["rsf", "eight"], ["q"]),
    helper.make_node("Ceil", ["q"], ["qc"]), helper.make_node("Mul", ["qc", "eight"], ["upf"]),
    helper.make_node("Cast", ["upf"], ["up"], to=TensorProto.INT64), helper.make_node("Sub", ["up", "rs"], ["p2"]),
    helper.make_node("Concat", ["z6", "p2"], ["pads"], axis=0),
    helper.make_node("Pad", ["r", "pads", "pv"], ["rp"], mode="constant")] + nodes[-1:]
inits += [i64("cp", [0, 0, 1, 2, 0, 0, 3, 1]), f32("eight", 8.0), i64("z6", [0] * 6), f32("pv", 0.5)]
lib = check("Pad by constants, Resize to floor(1.3 * (h, w)), Pad up to a multiple of 8, then a conv",
            save("rs_pad", nodes, inits))
if lib:
    p = subprocess.run([t.hodu, "--build", t.path("rs_pad.onnx"), "-o", t.path("again.so"), "--dump-ir"] + DIMS,
                       capture_output=True, text=True, timeout=120)
    # x padded by 1+3 and 2+1 (height+4, width+3), resized by 1.3 (at
    # most floor(44 * 1.3) = 57 and floor(40 * 1.3) = 52), then padded to
    # 64 and 56 at most
    for want in ["height+4", "width+3", "<=57", "<=52", "rp.dim2<=64", "rp.dim3<=56"]:
        if p.returncode != 0 or want not in p.stdout:
            errors.append(f"--dump-ir lacks {want}: {(p.stdout + p.stderr)[-800:]}")

# a Slice between two run-time dims (a detector's split of its anchors
# per level): x flattened to [1, 3 * h * w], the second channel's block
# from h * w to 2 * h * w, then a conv over it reshaped back
nodes = [helper.make_node("Shape", ["x"], ["sx"]), helper.make_node("Gather", ["sx", "g2"], ["h"], axis=0),
         helper.make_node("Gather", ["sx", "g3"], ["w_"], axis=0), helper.make_node("Mul", ["h", "w_"], ["hw"]),
         helper.make_node("Mul", ["hw", "two"], ["hw2"]), helper.make_node("Unsqueeze", ["hw", "s0"], ["st"]),
         helper.make_node("Unsqueeze", ["hw2", "s0"], ["en"]), helper.make_node("Flatten", ["x"], ["f"], axis=1),
         helper.make_node("Slice", ["f", "st", "en", "s1"], ["y"])]
inits = [i64("s0", [0]), i64("s1", [1]), helper.make_tensor("g2", TensorProto.INT64, [], [2]),
         helper.make_tensor("g3", TensorProto.INT64, [], [3]), helper.make_tensor("two", TensorProto.INT64, [], [2])]
check("Slice of a flattened image from h * w to 2 * h * w", save("rs_dimslice", nodes, inits))

# a detector's objectness: per-position scores flattened to [anchors, 1]
# (anchors = 3 * h * w), then reshaped to (1, -1) -- the -1 takes every
# run-time dim, so the result is [1, anchors], not [anchors, 1] -- then
# split per level along axis 1 (from h * w to 2 * h * w)
nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 3, 1]),
         helper.make_node("Reshape", ["xt", "col"], ["obj"]), helper.make_node("Reshape", ["obj", "row"], ["o1"]),
         helper.make_node("Shape", ["x"], ["sx"]), helper.make_node("Gather", ["sx", "g2"], ["h"], axis=0),
         helper.make_node("Gather", ["sx", "g3"], ["w_"], axis=0), helper.make_node("Mul", ["h", "w_"], ["hw"]),
         helper.make_node("Mul", ["hw", "two"], ["hw2"]), helper.make_node("Unsqueeze", ["hw", "s0"], ["st"]),
         helper.make_node("Unsqueeze", ["hw2", "s0"], ["en"]),
         helper.make_node("Slice", ["o1", "st", "en", "s1"], ["y"])]
inits = [i64("col", [-1, 1]), i64("row", [1, -1]), i64("s0", [0]), i64("s1", [1]),
         helper.make_tensor("g2", TensorProto.INT64, [], [2]), helper.make_tensor("g3", TensorProto.INT64, [], [3]),
         helper.make_tensor("two", TensorProto.INT64, [], [2])]
check("[3 * h * w, 1] reshaped to (1, -1), then sliced along axis 1", save("rs_rowslice", nodes, inits))

# a detector's anchors of two levels: [1, h * w, 3] and, after a 2x2
# pool, [1, q * r, 3] concatenated to [1, h * w + q * r, 3], then
# Flatten from axis 2: its rows the sum of both levels (a polynomial of
# two terms dividing the whole size)
nodes = [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2])]
for src, dst in [("x", "l0"), ("p", "l1")]:
    nodes += [helper.make_node("Transpose", [src], [dst + "t"], perm=[0, 2, 3, 1]),
              helper.make_node("Reshape", [dst + "t", "lv"], [dst])]
nodes += [helper.make_node("Concat", ["l0", "l1"], ["lc"], axis=1), helper.make_node("Flatten", ["lc"], ["y"], axis=2)]
check("two levels' anchors concatenated, then Flatten from axis 2", save("rs_levels", nodes, [i64("lv", [1, -1, 3])]))

# Split of a fixed axis with run-time dims after it (x flattened to
# [3, h * w], split [1, 2] along axis 0: the detector's per-image Split)
# and on both sides of it (x moved to [1, h, 3, w], split [1, 2] along
# axis 2):
# both pieces of each meet in a broadcast Add
split = i64("sp", [1, 2])
nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=2), helper.make_node("Split", ["f", "sp"], ["a", "b"], axis=0),
         helper.make_node("Add", ["b", "a"], ["y"])]
check("Split of [3, h * w] along its fixed axis 0", save("rs_split0", nodes, [split]))
nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1, 3]),
         helper.make_node("Split", ["xt", "sp"], ["a", "b"], axis=2), helper.make_node("Add", ["b", "a"], ["y"])]
check("Split of [1, h, 3, w] along its fixed axis 2", save("rs_split2", nodes, [split]))

# RoiAlign from a map over run-time dims (a detector's box head on its
# FPN levels): a stride-2 conv's output, boxes partly outside the map at
# the smaller sizes, adaptive and fixed sampling, both coordinate modes
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
rois = np.array([[0, 0, 8, 8], [2, 3, 30, 20], [5, 1, 39, 36], [-3, -2, 12, 45], [10, 10, 11, 11]], np.float32)
nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
         helper.make_node("RoiAlign", ["c", "rois", "bidx"], ["r1"], output_height=3, output_width=2,
                          sampling_ratio=0, spatial_scale=0.5),
         helper.make_node("RoiAlign", ["c", "rois", "bidx"], ["r2"], output_height=3, output_width=2,
                          sampling_ratio=2, spatial_scale=0.5, coordinate_transformation_mode="output_half_pixel"),
         helper.make_node("Add", ["r1", "r2"], ["y"])]
inits = [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten()),
         helper.make_tensor("rois", TensorProto.FLOAT, rois.shape, rois.flatten()), i64("bidx", [0] * 5)]
check("RoiAlign from a stride-2 conv's output over run-time dims", save("rs_roialign", nodes, inits))

# refusals: sizes a graph input gives have no bound; a bound too large
m = save("rs_input", [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear")], [], sz_input="sz")
expect_fail("Resize over run-time dims to sizes that a graph input gives",
            [t.hodu, "--build", m, "-o", t.path("no.so")] + DIMS,
            ["Resize", "sizes ('sz')", "depends on the data without a bound"])
nodes, inits = resize_conv([helper.make_node("Mul", ["hwf", "k"], ["hwm"]),
                            helper.make_node("Floor", ["hwm"], ["hwo"])], [f32("k", 1e15)])
expect_fail("Resize to sizes whose bound is too large", [t.hodu, "--build", save("rs_huge", nodes, inits), "-o",
                                                         t.path("no.so")] + DIMS,
            ["Resize", "sizes ('sz')", "out of range"])

# a chain of 40 diamonds (a = a + a) whose walk would visit 2^40 nodes
# without a budget: refused at once, not a hang
chain = [helper.make_node("Add", ["hwf", "hwf"], ["a0"])]
chain += [helper.make_node("Add", [f"a{i}", f"a{i}"], [f"a{i + 1}"]) for i in range(39)]
chain += [helper.make_node("Mul", ["a39", "k"], ["hwm"]), helper.make_node("Floor", ["hwm"], ["hwo"])]
nodes, inits = resize_conv(chain, [f32("k", 2.0 ** -40)])
expect_fail("Resize to sizes behind a deep chain of shared producers",
            [t.hodu, "--build", save("rs_deep", nodes, inits), "-o", t.path("no.so")] + DIMS,
            ["Resize", "sizes ('sz')", "without a bound"])

sys.exit(t.finish(errors))
