#!/usr/bin/env python3
"""Ops whose output size depends on data, against onnxruntime, with every input given at run time.

NonZero, Unique (sorted or not, with and without axis, all four outputs),
Compress (with and without axis, conditions shorter than the axis) and
NonMaxSuppression (both box formats; counts and thresholds as run-time
inputs or constants) are each built once and run on random inputs at
several densities, all-zero and all-nonzero included: each output must have
onnxruntime's shape and values, so `hodu --run` writes the actual shape the
ABI reports.  A model mixing static and data-dependent outputs checks that
each output gets its own dims, and `hodu --inspect` must show the range of
a data-dependent dim; NonZero and Compress of constants fold, so other
nodes may read their results.  Results that other nodes read (the
masked select `x[x > 0]` as exporters write it, Unique's values with its
counts, what Compress kept, the boxes NonMaxSuppression selected, NonZero
of such a value and ScatterElements into a buffer of its size, RoiAlign over
the regions that passed, an If
over whether anything passed (NonMaxSuppression in one branch, an empty
constant in the other, then the first three kept: a slice the run clamps),
a detector's per-class top min(k, count) concatenated over 3 and 10 classes)
are run-time dims their node sets: each model is built once and checked at
several densities.  NonMaxSuppression also gets hostile boxes and counts
(NaN and infinite coordinates, inverted corners, huge and negative counts,
NaN score thresholds; an IoU threshold outside [0, 1] must stop the run): the result must match onnxruntime where it has one, and
must stay within the bound with indices in range where the scores hold NaN
(whose order no two implementations share).  Fails, never skips, without
onnxruntime (exit status 2).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from clitest import CliTest  # noqa: E402

try:
    import onnx
    from onnx import TensorProto, helper
    import onnxruntime as ort
except ImportError as e:  # the oracle is required
    print(f"dynamic_outputs: cannot start: {e}", file=sys.stderr)
    sys.exit(2)

T = CliTest("dynamic_outputs", __doc__)
RNG = np.random.default_rng(20261130)
NP2ONNX = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.int32: TensorProto.INT32,
           np.bool_: TensorProto.BOOL, np.float64: TensorProto.DOUBLE}


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, NP2ONNX[dtype], shape)


def model(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m) if all(o.type.tensor_type.HasField("shape") for o in m.graph.output) else None
    return m


class Built:
    """One model: saved, built by hodu once, and an onnxruntime session."""

    def __init__(self, m):
        self.m = m
        self.name = m.graph.name
        self.dir = T.path(self.name)
        os.makedirs(self.dir)
        self.onnx = os.path.join(self.dir, "m.onnx")
        onnx.save(m, self.onnx)
        self.so = os.path.join(self.dir, "m.so")
        T.run([T.hodu, "--build", self.onnx, "-o", self.so])
        self.sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        self.outs = [o.name for o in m.graph.output]
        self.runs = 0

    def hodu(self, feeds):
        self.runs += 1
        d = os.path.join(self.dir, f"run{self.runs}")
        os.makedirs(d)
        argv = [T.hodu, "--run", self.so, "--output-dir", os.path.join(d, "out")]
        for k, v in feeds.items():
            f = os.path.join(d, f"in_{k}.npy")
            np.save(f, v)
            argv += ["--input", f"{k}={f}"]
        T.run(argv)
        return {k: np.load(os.path.join(d, "out", f"{k}.npy")) for k in self.outs}

    def check(self, feeds, what, errors, rtol=0.0):
        """hodu against onnxruntime on `feeds`: shapes and dtypes equal, values equal (or, with rtol, close:
        sums may add in another order)."""
        want = dict(zip(self.outs, self.sess.run(self.outs, feeds)))
        got = self.hodu(feeds)
        for k in self.outs:
            g, w = got[k], want[k]
            if g.shape != w.shape or g.dtype != w.dtype:
                errors.append(f"{self.name} {what}: output {k}: {g.dtype}{list(g.shape)}, "
                              f"onnxruntime {w.dtype}{list(w.shape)}")
            elif not (np.array_equal(g, w, equal_nan=g.dtype.kind == "f") or
                      (rtol and np.allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True))):
                errors.append(f"{self.name} {what}: output {k}: values differ\n  hodu {g.tolist()}\n"
                              f"  onnxruntime {w.tolist()}")


def densities(shape, dtype, make):
    """Inputs at densities 0, 0.1, 0.5 and 1 of nonzero values."""
    for p in (0.0, 0.1, 0.5, 1.0):
        mask = RNG.random(shape) < p
        yield f"density {p}", np.where(mask, make(shape), 0).astype(dtype)


def nonzero_cases(errors):
    for dtype, shape in ((np.float32, [3, 4, 5]), (np.int32, [7]), (np.bool_, [2, 3])):
        b = Built(model(f"nonzero_{np.dtype(dtype).name}", [helper.make_node("NonZero", ["x"], ["y"])],
                        [vi("x", dtype, shape)], [vi("y", np.int64, None)]))
        for what, x in densities(shape, dtype, lambda s: RNG.integers(1, 9, s)):
            b.check({"x": x}, what, errors)
        if dtype == np.float32:  # -0 is zero, NaN is not
            x = np.zeros(shape, np.float32)
            x[0, 0, 0], x[1, 2, 3], x[2, 3, 4] = -0.0, np.nan, np.inf
            b.check({"x": x}, "signed zero and NaN", errors)


def unique_cases(errors):
    outs = ["y", "indices", "inverse", "counts"]
    for sorted_ in (1, 0):
        for axis, shape, dtype in ((None, [12], np.float32), (None, [3, 4], np.int64), (1, [3, 6], np.int64),
                                   (0, [5, 2], np.float32), (-1, [2, 2, 5], np.float32)):
            attrs = {"sorted": sorted_} if axis is None else {"sorted": sorted_, "axis": axis}
            name = f"unique_s{sorted_}_a{'none' if axis is None else axis}_{len(shape)}d_{np.dtype(dtype).name}"
            node = helper.make_node("Unique", ["x"], outs, **attrs)
            b = Built(model(name, [node], [vi("x", dtype, shape)],
                            [vi("y", dtype, None)] + [vi(o, np.int64, None) for o in outs[1:]], opset=11))
            for levels in (1, 2, 3, 50):  # all equal .. almost all distinct
                x = RNG.integers(-levels, levels + 1, shape).astype(dtype)
                b.check({"x": x}, f"{levels} levels", errors)
    # only some outputs wanted: the others are omitted
    node = helper.make_node("Unique", ["x"], ["y", "", "", "counts"])
    b = Built(model("unique_some_outputs", [node], [vi("x", np.float32, [9])],
                    [vi("y", np.float32, None), vi("counts", np.int64, None)], opset=11))
    b.check({"x": RNG.integers(0, 4, [9]).astype(np.float32)}, "y and counts", errors)


def compress_cases(errors):
    for axis, shape, clen in ((None, [4, 5], 20), (None, [4, 5], 7), (1, [4, 5], 5), (0, [4, 5], 3),
                              (-1, [2, 3, 4], 4)):
        attrs = {} if axis is None else {"axis": axis}
        name = f"compress_a{'none' if axis is None else axis}_c{clen}"
        b = Built(model(name, [helper.make_node("Compress", ["x", "cond"], ["y"], **attrs)],
                        [vi("x", np.float32, shape), vi("cond", np.bool_, [clen])], [vi("y", np.float32, None)],
                        opset=11))
        x = RNG.standard_normal(shape).astype(np.float32)
        for p in (0.0, 0.3, 0.7, 1.0):
            b.check({"x": x, "cond": RNG.random(clen) < p}, f"density {p}", errors)


def random_boxes(batches, n, center):
    if center:
        xy = RNG.random((batches, n, 2)) * 10
        wh = RNG.random((batches, n, 2)) * 4 + 0.5
        return np.concatenate([xy, wh], axis=2).astype(np.float32)
    a = RNG.random((batches, n, 2)) * 10
    return np.concatenate([a, a + RNG.random((batches, n, 2)) * 4 + 0.5], axis=2).astype(np.float32)


def nms_model(name, center, const_max=None):
    B, C, N = 2, 3, 10
    ins = [vi("boxes", np.float32, [B, N, 4]), vi("scores", np.float32, [B, C, N])]
    inits = []
    if const_max is None:
        ins.append(vi("max_out", np.int64, [1]))
    else:
        inits.append(helper.make_tensor("max_out", TensorProto.INT64, [1], [const_max]))
    ins += [vi("iou", np.float32, [1]), vi("score_thr", np.float32, [1])]
    node = helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_out", "iou", "score_thr"], ["sel"],
                            center_point_box=center)
    return Built(model(name, [node], ins, [vi("sel", np.int64, None)], inits, opset=11)), (B, C, N)


def nms_cases(errors):
    for center in (0, 1):
        b, (B, C, N) = nms_model(f"nms_c{center}", center)
        for max_out, iou, st in ((3, 0.5, 0.0), (10, 0.3, 0.4), (0, 0.5, 0.0), (1, 0.0, -1.0), (20, 1.0, 0.9)):
            feeds = {"boxes": random_boxes(B, N, center), "scores": RNG.random((B, C, N)).astype(np.float32),
                     "max_out": np.array([max_out], np.int64), "iou": np.array([iou], np.float32),
                     "score_thr": np.array([st], np.float32)}
            b.check(feeds, f"max {max_out} iou {iou} score {st}", errors)
        # hostile: boxes with NaN, infinities and inverted corners, counts far past the boxes or negative
        boxes = random_boxes(B, N, center)
        boxes[0, 1, :] = np.nan
        boxes[0, 2, 0] = np.inf
        boxes[1, 3, :] = boxes[1, 3, ::-1]
        boxes[1, 4, 2:] = -np.inf
        for max_out, iou in ((1 << 62, 0.2), (-5, 0.5), (7, 1.0)):
            feeds = {"boxes": boxes, "scores": RNG.random((B, C, N)).astype(np.float32),
                     "max_out": np.array([max_out], np.int64), "iou": np.array([iou], np.float32),
                     "score_thr": np.array([0.1], np.float32)}
            b.check(feeds, f"hostile boxes, max {max_out}, iou {iou}", errors)
        # an IoU threshold outside [0, 1] (the spec's range; onnxruntime refuses it too) stops the run
        for iou in (float("nan"), 1.5, -0.1):
            feeds = {"boxes": boxes, "scores": RNG.random((B, C, N)).astype(np.float32),
                     "max_out": np.array([3], np.int64), "iou": np.array([iou], np.float32),
                     "score_thr": np.array([0.1], np.float32)}
            try:
                b.hodu(feeds)
                errors.append(f"{b.name}: iou_threshold {iou} was accepted")
            except RuntimeError as e:
                if "ask for other shapes" not in str(e) and "values of an input" not in str(e):
                    errors.append(f"{b.name}: iou_threshold {iou}: unexpected error {e}")
        # NaN scores and threshold: no shared order to compare, only the bound and the indices
        scores = RNG.random((B, C, N)).astype(np.float32)
        scores[0, 0, ::2] = np.nan
        scores[1, 2, 3] = np.inf
        for st in (0.2, float("nan")):
            got = b.hodu({"boxes": boxes, "scores": scores, "max_out": np.array([1 << 40], np.int64),
                          "iou": np.array([0.5], np.float32), "score_thr": np.array([st], np.float32)})["sel"]
            ok = (got.ndim == 2 and got.shape[1] == 3 and got.shape[0] <= B * C * N and got.dtype == np.int64
                  and np.all((got >= 0) & (got < [B, C, N])))
            if not ok:
                errors.append(f"{b.name} NaN scores, score threshold {st}: selection {got.tolist()} out of range")
    # a build-time count bounds the output by batches * classes * count
    b, _ = nms_model("nms_const_max", 0, const_max=2)
    out = [o for o in T.run([T.hodu, "--inspect", b.so]).stdout.splitlines() if o.strip().startswith("sel")]
    if not out or "[0..12,3]" not in out[0]:
        errors.append(f"nms_const_max: --inspect shows {out}, expected sel int64[0..12,3]")
    for _ in range(3):
        feeds = {"boxes": random_boxes(2, 10, 0), "scores": RNG.random((2, 3, 10)).astype(np.float32),
                 "iou": np.array([0.4], np.float32), "score_thr": np.array([0.0], np.float32)}
        b.check(feeds, "constant count 2", errors)


def mixed_cases(errors):
    """Static and data-dependent outputs interleaved: each gets its own dims."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("NonZero", ["x"], ["nz"]),
             helper.make_node("Neg", ["x"], ["n"]), helper.make_node("Compress", ["x", "c"], ["cx"], axis=0)]
    b = Built(model("mixed", nodes, [vi("x", np.float32, [3, 4]), vi("c", np.bool_, [3])],
                    [vi("r", np.float32, [3, 4]), vi("nz", np.int64, None), vi("n", np.float32, [3, 4]),
                     vi("cx", np.float32, None)]))
    for what, x in densities([3, 4], np.float32, lambda s: RNG.standard_normal(s)):
        b.check({"x": x, "c": RNG.random(3) < 0.5}, what, errors)
    shown = T.run([T.hodu, "--inspect", b.so]).stdout
    if "int64[2,0..12]" not in shown or "float32[0..3,4]" not in shown:
        errors.append(f"mixed: --inspect does not show the ranges:\n{shown}")


def folded_cases(errors):
    """NonZero and Compress of constants fold to exact shapes, so other nodes may read them."""
    from onnx import numpy_helper
    mask = numpy_helper.from_array(np.array([[0, 1.5, 0], [-0.0, np.nan, 2]], np.float32), "mask")
    data = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4), "data")
    cond = numpy_helper.from_array(np.array([True, False, True]), "cond")
    nodes = [helper.make_node("NonZero", ["mask"], ["nz"]), helper.make_node("Transpose", ["nz"], ["nzt"]),
             helper.make_node("Compress", ["data", "cond"], ["sel"], axis=0),
             helper.make_node("Add", ["sel", "x"], ["y"])]
    b = Built(model("folded", nodes, [vi("x", np.float32, [1, 4])],
                    [vi("nzt", np.int64, None), vi("y", np.float32, None)], [mask, data, cond]))
    b.check({"x": RNG.standard_normal([1, 4]).astype(np.float32)}, "constants", errors)


def ints(name, values):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.array(values, np.int64), name)


def class_topk_nodes(c, k):
    """One class of a detector's post-processing: the boxes whose score passes, the best min(k, count)."""
    return [helper.make_node("Gather", ["scores", f"c{c}"], [f"s{c}"], axis=1),
            helper.make_node("Greater", [f"s{c}", "thr"], [f"m{c}"]), helper.make_node("NonZero", [f"m{c}"], [f"nz{c}"]),
            helper.make_node("Reshape", [f"nz{c}", "flat"], [f"idx{c}"]),
            helper.make_node("Gather", [f"s{c}", f"idx{c}"], [f"ks{c}"], axis=0),
            helper.make_node("Gather", ["boxes", f"idx{c}"], [f"kb{c}"], axis=0),
            helper.make_node("Shape", [f"ks{c}"], [f"n{c}"]), helper.make_node("Concat", ["k", f"n{c}"], [f"kn{c}"], axis=0),
            helper.make_node("ReduceMin", [f"kn{c}"], [f"kmin{c}"], keepdims=1),
            helper.make_node("TopK", [f"ks{c}", f"kmin{c}"], [f"v{c}", f"i{c}"], axis=0),
            helper.make_node("Gather", [f"kb{c}", f"i{c}"], [f"b{c}"], axis=0),
            helper.make_node("Shape", [f"v{c}"], [f"vs{c}"]),
            helper.make_node("ConstantOfShape", [f"vs{c}"], [f"l{c}"],
                             value=helper.make_tensor("v", TensorProto.INT64, [1], [c]))], \
        [ints(f"c{c}", c)]


def feeding_cases(errors):
    """Data-dependent results read by other nodes: their sizes are run-time dims the producing node sets."""
    from onnx import numpy_helper
    zero = numpy_helper.from_array(np.array(0, np.float32), "zero")
    # x[x > 0] as exporters write it, then a sum, a softmax and the indices as floats
    nodes = [helper.make_node("Greater", ["x", "zero"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Transpose", ["nz"], ["t"], perm=[1, 0]), helper.make_node("GatherND", ["x", "t"], ["sel"]),
             helper.make_node("ReduceSum", ["sel"], ["total"], keepdims=0), helper.make_node("Softmax", ["sel"], ["p"]),
             helper.make_node("Cast", ["t"], ["tf"], to=TensorProto.FLOAT), helper.make_node("Mul", ["tf", "tf"], ["sq"])]
    b = Built(model("masked_select", nodes, [vi("x", np.float32, [4, 6])],
                    [vi("sel", np.float32, None), vi("total", np.float32, None), vi("p", np.float32, None),
                     vi("sq", np.float32, None)], [zero]))
    for what, x in densities([4, 6], np.float32, lambda s: RNG.standard_normal(s) + 2.0):
        b.check({"x": x}, what, errors, rtol=1e-5)
    # Unique's outputs share one count: values and counts combine
    nodes = [helper.make_node("Unique", ["x"], ["y", "", "inv", "counts"], sorted=1),
             helper.make_node("Cast", ["counts"], ["cf"], to=TensorProto.FLOAT), helper.make_node("Mul", ["y", "cf"], ["w"]),
             helper.make_node("ReduceMax", ["w"], ["wmax"], keepdims=1), helper.make_node("Gather", ["y", "inv"], ["back"])]
    b = Built(model("unique_counts", nodes, [vi("x", np.float32, [10])],
                    [vi("w", np.float32, None), vi("wmax", np.float32, None), vi("back", np.float32, [10])], opset=13))
    for levels in (1, 3, 50):
        b.check({"x": RNG.integers(-levels, levels + 1, [10]).astype(np.float32)}, f"{levels} levels", errors)
    # Compress, then ops over what it kept
    nodes = [helper.make_node("Compress", ["x", "c"], ["kept"], axis=0), helper.make_node("Relu", ["kept"], ["r"]),
             helper.make_node("Softmax", ["r"], ["y"], axis=1), helper.make_node("ReduceMean", ["kept"], ["mean"], axes=[0])]
    b = Built(model("compress_then", nodes, [vi("x", np.float32, [6, 5]), vi("c", np.bool_, [6])],
                    [vi("y", np.float32, None), vi("mean", np.float32, None)]))
    for p in (0.3, 0.7, 1.0):
        c = RNG.random(6) < p
        c[RNG.integers(6)] = True
        b.check({"x": RNG.standard_normal([6, 5]).astype(np.float32), "c": c}, f"density {p}", errors, rtol=1e-5)
    # Nothing kept: onnxruntime says 0 for the empty mean, the onnx reference (numpy) and PyTorch NaN, as hodu
    got = b.hodu({"x": RNG.standard_normal([6, 5]).astype(np.float32), "c": np.zeros(6, np.bool_)})
    if got["y"].shape != (0, 5) or got["mean"].shape != (1, 5) or not np.isnan(got["mean"]).all():
        errors.append(f"compress_then nothing kept: y {got['y'].shape}, mean {got['mean'].tolist()}")
    # NonMaxSuppression's selection picks the boxes
    nodes = [helper.make_node("NonMaxSuppression", ["boxes3", "scores3", "maxk", "iou"], ["sel"]),
             helper.make_node("Gather", ["sel", "two"], ["bi"], axis=1), helper.make_node("Gather", ["boxes", "bi"], ["picked"], axis=0)]
    b = Built(model("nms_picks", nodes, [vi("boxes3", np.float32, [1, 12, 4]), vi("scores3", np.float32, [1, 1, 12]),
                                         vi("boxes", np.float32, [12, 4])],
                    [vi("picked", np.float32, None)],
                    [ints("maxk", [5]), numpy_helper.from_array(np.array([0.4], np.float32), "iou"), ints("two", 2)]))
    for i in range(3):
        bx = random_boxes(1, 12, False)
        b.check({"boxes3": bx, "scores3": RNG.random([1, 1, 12]).astype(np.float32), "boxes": bx[0]}, f"boxes {i}", errors)
    # NonZero of a value whose size the data decided, and ScatterElements
    # into a buffer of that size (a detector's per-level RoI pooling
    # scatters back this way)
    nodes = [helper.make_node("Greater", ["x", "zero"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Reshape", ["nz", "flat"], ["idx"]), helper.make_node("Gather", ["x", "idx"], ["sel"]),
             helper.make_node("Greater", ["sel", "one_f"], ["m2"]), helper.make_node("NonZero", ["m2"], ["nz2"]),
             helper.make_node("Reshape", ["nz2", "flat"], ["idx2"]), helper.make_node("Gather", ["sel", "idx2"], ["big"]),
             helper.make_node("Shape", ["sel"], ["n"]),
             helper.make_node("ConstantOfShape", ["n"], ["blank"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [-1.0])),
             helper.make_node("ScatterElements", ["blank", "idx2", "big"], ["back"], axis=0)]
    b = Built(model("nonzero_twice_scatter", nodes, [vi("x", np.float32, [12])],
                    [vi("nz2", np.int64, None), vi("back", np.float32, None)],
                    [zero, ints("flat", [-1]), numpy_helper.from_array(np.array(1.0, np.float32), "one_f")]))
    for what, x in densities([12], np.float32, lambda s: RNG.standard_normal(s) * 2):
        b.check({"x": x}, what, errors)
    # RoiAlign over the regions whose score passed: one region at a time
    nodes = [helper.make_node("Greater", ["score", "half"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Reshape", ["nz", "flat"], ["idx"]), helper.make_node("Gather", ["rois", "idx"], ["keep"]),
             helper.make_node("Shape", ["idx"], ["n"]),
             helper.make_node("ConstantOfShape", ["n"], ["bi"], value=helper.make_tensor("v", TensorProto.INT64, [1], [0])),
             helper.make_node("RoiAlign", ["feat", "keep", "bi"], ["pooled"], output_height=3, output_width=3,
                              sampling_ratio=2, spatial_scale=0.5)]
    b = Built(model("roialign_kept", nodes, [vi("feat", np.float32, [1, 2, 8, 8]), vi("rois", np.float32, [6, 4]),
                                             vi("score", np.float32, [6])],
                    [vi("pooled", np.float32, None)],
                    [ints("flat", [-1]), numpy_helper.from_array(np.array(0.5, np.float32), "half")], opset=16))
    for p in (0.0, 0.5, 1.0):
        xy = RNG.random((6, 2)) * 8
        rois = np.concatenate([xy, xy + 2 + RNG.random((6, 2)) * 6], axis=1).astype(np.float32)
        score = np.where(RNG.random(6) < p, 0.9, 0.1).astype(np.float32)
        b.check({"feat": RNG.standard_normal([1, 2, 8, 8]).astype(np.float32), "rois": rois, "score": score},
                f"density {p}", errors, rtol=1e-5)
    # An If over a size the data decides (is anything left?), as exporters
    # write a detector's batched NMS: empty then, else NonMaxSuppression of
    # what passed; both branches inlined under the condition
    then_g = helper.make_graph([helper.make_node("Constant", [], ["empty"],
                                                 value=numpy_helper.from_array(np.zeros([0], np.int64)))],
                               "then", [], [vi("empty", np.int64, [0])])
    else_g = helper.make_graph([
        helper.make_node("Unsqueeze", ["kb", "ax0"], ["b3"]), helper.make_node("Unsqueeze", ["ks", "ax0"], ["s2"]),
        helper.make_node("Unsqueeze", ["s2", "ax0"], ["s3"]),
        helper.make_node("NonMaxSuppression", ["b3", "s3", "maxk", "iou"], ["sel"]),
        helper.make_node("Gather", ["sel", "two"], ["g"], axis=1), helper.make_node("Squeeze", ["g", "ax1"], ["keep"])],
        "else", [], [vi("keep", np.int64, ["k"])])
    nodes = [helper.make_node("Greater", ["scores", "thr"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Reshape", ["nz", "flat"], ["idx"]),
             helper.make_node("Gather", ["scores", "idx"], ["ks"], axis=0),
             helper.make_node("Gather", ["boxes", "idx"], ["kb"], axis=0),
             helper.make_node("Shape", ["kb"], ["sh"]), helper.make_node("ReduceProd", ["sh"], ["numel"], keepdims=0),
             helper.make_node("Equal", ["numel", "zero_i"], ["none_left"]),
             helper.make_node("If", ["none_left"], ["picked"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Slice", ["picked", "zero1", "three", "zero1"], ["best3"]),
             helper.make_node("Gather", ["kb", "best3"], ["out_boxes"], axis=0),
             helper.make_node("Gather", ["ks", "best3"], ["out_scores"], axis=0)]
    inits = [numpy_helper.from_array(np.array(0.3, np.float32), "thr"), ints("flat", [-1]), ints("zero_i", 0),
             ints("ax0", [0]), ints("ax1", [1]), ints("maxk", [100]), ints("two", [2]), ints("zero1", [0]),
             ints("three", [3]), numpy_helper.from_array(np.array([0.5], np.float32), "iou")]
    b = Built(model("if_then_nms", nodes, [vi("scores", np.float32, [20]), vi("boxes", np.float32, [20, 4])],
                    [vi("out_boxes", np.float32, None), vi("out_scores", np.float32, None)], inits, opset=17))
    for p in (0.0, 0.1, 0.5, 1.0):
        scores = np.where(RNG.random(20) < p, 0.4 + RNG.random(20) / 2, 0.1).astype(np.float32)
        b.check({"scores": scores, "boxes": random_boxes(1, 20, False)[0]}, f"density {p}", errors)
    # The same If giving one number either way: the Phi of two static results
    then_g = helper.make_graph([helper.make_node("Constant", [], ["c"],
                                                 value=numpy_helper.from_array(np.array([-1.0], np.float32)))],
                               "then", [], [vi("c", np.float32, [1])])
    else_g = helper.make_graph([helper.make_node("ReduceSum", ["sel"], ["s"], keepdims=1)], "else", [],
                               [vi("s", np.float32, [1])])
    nodes = [helper.make_node("Greater", ["x", "zero"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Reshape", ["nz", "flat"], ["idx"]), helper.make_node("Gather", ["x", "idx"], ["sel"]),
             helper.make_node("Size", ["sel"], ["n"]), helper.make_node("Equal", ["n", "zero_i"], ["none"]),
             helper.make_node("If", ["none"], ["y"], then_branch=then_g, else_branch=else_g)]
    b = Built(model("if_static_result", nodes, [vi("x", np.float32, [8])], [vi("y", np.float32, [1])],
                    [zero, ints("flat", [-1]), ints("zero_i", 0)], opset=17))
    for what, x in densities([8], np.float32, lambda s: RNG.standard_normal(s) + 1.0):
        b.check({"x": x}, what, errors, rtol=1e-5)
    # A detector's per-class top-k, concatenated over classes: 3 classes
    # (the sum of three counts) and 10 (more counts than one size holds as
    # a sum: the Concat reports its total)
    for classes in (3, 10):
        nodes, inits = [], [numpy_helper.from_array(np.array(0.5, np.float32), "thr"), ints("flat", [-1]), ints("k", [4])]
        for c in range(classes):
            cn, ci = class_topk_nodes(c, 4)
            nodes += cn
            inits += ci
        nodes += [helper.make_node("Concat", [f"b{c}" for c in range(classes)], ["all_boxes"], axis=0),
                  helper.make_node("Concat", [f"v{c}" for c in range(classes)], ["all_scores"], axis=0),
                  helper.make_node("Concat", [f"l{c}" for c in range(classes)], ["all_labels"], axis=0),
                  helper.make_node("ReduceSum", ["all_boxes", "one"], ["area"], keepdims=0)]
        inits.append(ints("one", [1]))
        b = Built(model(f"class_topk_{classes}", nodes, [vi("scores", np.float32, [16, classes]), vi("boxes", np.float32, [16, 4])],
                        [vi(o, np.float32 if o != "all_labels" else np.int64, None)
                         for o in ("all_boxes", "all_scores", "all_labels", "area")], inits))
        for p in (0.0, 0.2, 0.6, 1.0):
            scores = np.where(RNG.random([16, classes]) < p, 0.5 + RNG.random([16, classes]) / 2, 0.1).astype(np.float32)
            b.check({"scores": scores, "boxes": RNG.standard_normal([16, 4]).astype(np.float32)}, f"density {p}", errors,
                    rtol=1e-5)
    shown = T.run([T.hodu, "--inspect", b.so]).stdout
    if "float32[0..160,4]" not in shown:
        errors.append(f"class_topk_10: --inspect does not show the concatenated boxes' range:\n{shown}")


def main():
    errors = []
    np.seterr(all="ignore")
    for cases in (nonzero_cases, unique_cases, compress_cases, nms_cases, mixed_cases, folded_cases, feeding_cases):
        try:
            cases(errors)
        except RuntimeError as e:
            errors.append(str(e))
    return T.finish(errors)


if __name__ == "__main__":
    sys.exit(main())
