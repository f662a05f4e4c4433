#!/usr/bin/env python3
"""Channel-blocked convolutions (pass_block_convs) against onnxruntime.

    run.py [--hodu PATH] [--work DIR]

Builds one model of small convolution networks whose convolutions the pass
rewrites into hodu.ConvBlocked (blocks of 16 channels): strides, dilations,
asymmetric pads, kernels wider than the image, an odd number of output
blocks, no bias, batch 2, depthwise convolutions (a MobileNetV2 block),
channel counts that are not whole blocks (8, 24, 40), images of 3 and 5
channels (read in NCHW as they are), and the values around
them: MaxPool and AveragePool, an elementwise chain between two convolutions, a residual Add whose
other operand is a graph input, a per-channel constant Add, a
squeeze-and-excite block (GlobalAveragePool, convolutions on [N, C, 1, 1],
a broadcasting Mul), a value that is both a graph output and read outside
the blocked form; a batch chosen at run time, still blocked, one build for
two sizes; and small NCHW
convolutions, the flat direct form's shapes (flat_convs).
It builds with --conv-layout blocked (every convolution
that can, whatever the cost model says of ones this small), checks with
--dump-ir that all of them (and the pools) ran blocked, and compares every output with
onnxruntime's on seeded random inputs given at run time (float32, 1e-4
relative), the run profiled (--profile) to check its table names the
blocked convolutions.

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
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"layout: cannot start: {e} (run tools/setup.sh)", file=sys.stderr)
    sys.exit(2)


def main():
    t = CliTest("layout", __doc__)
    rng = np.random.default_rng(0)
    nodes, inits, inputs, outputs, feeds = [], [], [], [], {}
    count = [0]

    def fresh(p):
        count[0] += 1
        return f"{p}{count[0]}"

    def graph_input(shape):
        name = fresh("x")
        feeds[name] = rng.standard_normal(shape).astype(np.float32)
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        return name

    def const(arr):
        name = fresh("c")
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    def node(op, ins, **attrs):
        out = fresh("v")
        nodes.append(helper.make_node(op, ins, [out], name=fresh(op.lower()), **attrs))
        return out

    def conv(x, c, m, k, bias=True, **attrs):
        kh, kw = (k, k) if isinstance(k, int) else k
        w = const(rng.standard_normal((m, c, kh, kw)) / np.sqrt(c * kh * kw))
        ins = [x, w] + ([const(rng.standard_normal(m))] if bias else [])
        return node("Conv", ins, **attrs)

    def output(v):
        outputs.append(helper.make_tensor_value_info(v, TensorProto.FLOAT, None))

    # a chain: conv -> Relu -> conv, batch 2, odd sizes
    x = graph_input((2, 16, 9, 11))
    output(conv(node("Relu", [conv(x, 16, 32, 3, pads=[1, 1, 1, 1])]), 32, 16, 3, pads=[1, 1, 1, 1]))
    # stride 2, dilation 2, asymmetric pads, three output blocks, no bias
    x = graph_input((1, 32, 13, 10))
    output(conv(x, 32, 48, 3, bias=False, strides=[2, 2], dilations=[2, 2], pads=[0, 1, 2, 1]))
    # 1x1: a graph output that is also read outside the blocked form
    x = graph_input((1, 16, 6, 7))
    y = conv(x, 16, 32, 1)
    output(y)
    output(node("ReduceSum", [y], keepdims=1))
    # residual Add with a graph input, Clip, then a conv again
    x = graph_input((1, 32, 8, 8))
    r = node("Relu", [node("Add", [conv(x, 32, 32, 3, pads=[1, 1, 1, 1]), x])])
    r = node("Clip", [r, const(0.0), const(6.0)])
    output(conv(r, 32, 16, 3, strides=[2, 2], pads=[1, 1, 1, 1]))
    # SiLU and a scalar Mul, then a per-channel constant Add
    x = graph_input((1, 16, 10, 10))
    y = conv(x, 16, 16, 5, pads=[2, 2, 2, 2])
    y = node("Mul", [node("Mul", [y, node("Sigmoid", [y])]), const(0.5)])
    output(node("Add", [y, const(rng.standard_normal((16, 1, 1)))]))
    # a kernel wider than the image, and a stem-like 7x7 stride-2 conv
    x = graph_input((1, 16, 3, 2))
    output(conv(x, 16, 16, 5, pads=[2, 2, 2, 2]))
    x = graph_input((1, 16, 20, 18))
    output(conv(x, 16, 64, 7, strides=[2, 2], pads=[3, 3, 3, 3]))

    # depthwise: a MobileNetV2 block (expand, depthwise, project, residual)
    # and a 5x5 stride-2 depthwise convolution on three blocks
    x = graph_input((1, 16, 12, 9))
    h = node("Clip", [conv(x, 16, 64, 1), const(0.0), const(6.0)])
    h = node("Clip", [conv(h, 1, 64, 3, group=64, pads=[1, 1, 1, 1]), const(0.0), const(6.0)])
    output(node("Add", [conv(h, 64, 16, 1), x]))
    x = graph_input((2, 48, 11, 13))
    output(conv(x, 1, 48, 5, group=48, strides=[2, 2], pads=[2, 1, 2, 2]))
    # channel counts that are not whole blocks (padded with zero lanes):
    # 24 -> 40 dense, a 24-channel depthwise with HardSwish, a residual Add
    x = graph_input((1, 24, 9, 10))
    h = node("HardSwish", [conv(x, 1, 24, 3, group=24, pads=[1, 1, 1, 1])])
    h = node("Add", [conv(h, 24, 24, 1), x])
    output(conv(node("Sigmoid", [h]), 24, 40, 3, strides=[2, 2], pads=[1, 1, 1, 1]))
    # squeeze-and-excite: GlobalAveragePool of a blocked value, 1x1
    # convolutions on [N, C, 1, 1] (8 channels: half a block), a
    # broadcasting Mul, batch 2
    x = graph_input((2, 32, 7, 6))
    h = conv(x, 32, 32, 3, pads=[1, 1, 1, 1])
    h = node("Mul", [h, node("Sigmoid", [h])])
    e = node("Relu", [conv(node("GlobalAveragePool", [h]), 32, 8, 1)])
    e = node("HardSigmoid", [conv(e, 8, 32, 1)])
    output(conv(node("Mul", [h, e]), 32, 16, 1))

    # 3-channel images (a stem: the kernel reads NCHW as it is), then a
    # MaxPool (ResNet's: 3x3 stride 2, padded) and AveragePools (ceil_mode,
    # with and without the padding counted) on the blocked result; a
    # 5-channel one with batch 2 (rows of 17 and 20: at least one whole span)
    x = graph_input((1, 3, 23, 34))
    h = node("Relu", [conv(x, 3, 32, 7, strides=[2, 2], pads=[3, 3, 3, 3])])
    h = node("MaxPool", [h], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    output(conv(h, 32, 16, 3, pads=[1, 1, 1, 1]))
    x = graph_input((2, 5, 9, 20))
    h = conv(x, 5, 16, 3, strides=[2, 1], pads=[1, 0, 1, 2])
    output(conv(node("AveragePool", [h], kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1), 16, 16, 1))
    output(conv(node("AveragePool", [h], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1), 16, 16, 1))

    graph = helper.make_graph(nodes, "blocked_convs", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path = t.path("blocked.onnx")
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    so = t.path("blocked.so")
    p = t.run([t.hodu, "--build", path, "-o", so, "--dump-ir", "--conv-layout", "blocked",
               "--cflags", "-O1 -Wall -Wextra -Werror"])
    errors = []
    blocked = (p.stdout + p.stderr).count("ConvBlocked(")
    convs = sum(1 for n in nodes if n.op_type == "Conv")
    if blocked != convs:
        errors.append(f"{blocked} of {convs} convolutions run blocked")
    pools = sum(1 for n in nodes if n.op_type in ("MaxPool", "AveragePool"))
    blocked_pools = len(re.findall(r"f32\[\d+,\d+,\d+,\d+,16\] = (?:MaxPool|AveragePool)\(", p.stdout + p.stderr))
    if blocked_pools != pools:
        errors.append(f"{blocked_pools} of {pools} pools run blocked")
    args = [t.hodu, "--run", so, "--output-dir", t.path("out")]
    for name, v in feeds.items():
        np.save(t.path(name + ".npy"), v)
        args += ["--input", f"{name}={t.path(name + '.npy')}"]
    # --profile names every step; the blocked convolutions are there by op
    p = t.run(args + ["--profile"])
    steps = re.search(r"profile: [\d.]+ ms per run in (\d+) steps, over 1 run", p.stdout)
    if not steps or "by op:" not in p.stdout or not re.search(r"hodu\.ConvBlocked\S*\s+\d+ steps?", p.stdout):
        errors.append("hodu --run --profile printed no per-step and per-op table of the blocked model")
    for o in outputs:
        r = ref[o.name]
        got = np.load(t.path("out", f"{o.name}.npy"))
        if got.shape != r.shape:
            errors.append(f"{o.name}: shape {got.shape}, onnxruntime {r.shape}")
            continue
        rel = float(np.max(np.abs(got.astype(np.float64) - r))) / max(float(np.max(np.abs(r))), 1e-30)
        print(f"{'ok  ' if rel <= 1e-4 else 'FAIL'} {o.name:6} {str(r.shape):18} rel {rel:.3g}")
        if rel > 1e-4:
            errors.append(f"{o.name}: max relative error {rel:.3g} (bar 1e-4)")
    errors += run_time_batch(t)
    errors += flat_convs(t)
    return t.finish(errors, f": {convs} blocked convolutions, {len(outputs)} outputs")


def flat_convs(t):
    """Small NCHW convolutions (--conv-layout nchw), the shapes the flat
    direct form takes (stride 1, few input channels, rows under 32 wide):
    LeNet's two (1 -> 6 and 6 -> 16, 5x5, Relu), batch 2 with 10 output
    channels (register blocks of 6 and 4), 5 channels with dilation 2 and
    asymmetric pads and no bias, one large enough to split into row chunks
    on the pool (--threads 2) with a residual Add of a graph input, and a
    2-wide image.  Every output against onnxruntime."""
    rng = np.random.default_rng(2)
    nodes, inits, inputs, outputs, feeds = [], [], [], [], {}

    def conv(x, c, m, k, bias=True, **attrs):
        n = len(nodes)
        w = numpy_helper.from_array((rng.standard_normal((m, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32),
                                    f"w{n}")
        inits.append(w)
        ins = [x, w.name]
        if bias:
            inits.append(numpy_helper.from_array(rng.standard_normal(m).astype(np.float32), f"b{n}"))
            ins.append(f"b{n}")
        nodes.append(helper.make_node("Conv", ins, [f"c{n}"], **attrs))
        return f"c{n}"

    def op(kind, ins, **attrs):
        out = f"o{len(nodes)}"
        nodes.append(helper.make_node(kind, ins, [out], **attrs))
        return out

    def graph_input(name, shape):
        feeds[name] = rng.standard_normal(shape).astype(np.float32)
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        return name

    h = op("Relu", [conv(graph_input("a", (1, 1, 32, 32)), 1, 6, 5)])
    h = op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    outputs.append(op("Relu", [conv(h, 6, 16, 5)]))
    outputs.append(conv(graph_input("b", (2, 3, 12, 17)), 3, 10, 3, pads=[1, 1, 1, 1]))
    outputs.append(conv(graph_input("c", (1, 5, 11, 14)), 5, 5, 3, bias=False, dilations=[2, 2], pads=[2, 1, 0, 3]))
    r = graph_input("r", (1, 32, 24, 24))
    outputs.append(op("Add", [conv(graph_input("d", (1, 8, 24, 24)), 8, 32, 3, pads=[1, 1, 1, 1]), r]))
    outputs.append(conv(graph_input("e", (1, 4, 13, 2)), 4, 7, 3, pads=[1, 1, 1, 1]))
    graph = helper.make_graph(nodes, "flat_convs", inputs,
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path, so = t.path("flat.onnx"), t.path("flat.so")
    onnx.save(model, path)
    t.run([t.hodu, "--build", path, "-o", so, "--conv-layout", "nchw", "--cflags", "-O1 -Wall -Wextra -Werror"])
    ref = dict(zip(outputs, ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(outputs, feeds)))
    args = [t.hodu, "--run", so, "--threads", "2", "--output-dir", t.path("flat_out")]
    for name, v in feeds.items():
        np.save(t.path(f"flat_{name}.npy"), v)
        args += ["--input", f"{name}={t.path(f'flat_{name}.npy')}"]
    t.run(args)
    errors = []
    for o in outputs:
        got = np.load(t.path("flat_out", f"{o}.npy"))
        rel = (float(np.max(np.abs(got.astype(np.float64) - ref[o]))) / max(float(np.max(np.abs(ref[o]))), 1e-30)
               if got.shape == ref[o].shape else 1.0)
        print(f"{'ok  ' if rel <= 1e-4 else 'FAIL'} flat {o:4} {str(ref[o].shape):18} rel {rel:.3g}")
        if rel > 1e-4:
            errors.append(f"flat convolution {o}: max relative error {rel:.3g} (bar 1e-4), shape {got.shape}")
    return errors


def run_time_batch(t):
    """A batch chosen at run time (--dim N=1..4): the convolutions run
    blocked all the same (checked with --dump-ir), planned for one image
    and run once per image; one build runs batch 1 and 3 and matches
    onnxruntime on both.  The model has a 3-channel image (read in NCHW),
    24 channels (not whole blocks), a MaxPool, a residual Add of a second
    graph input with the batch, a per-channel constant Mul, and a
    squeeze-and-excite block ([N, C, 1, 1] broadcast along the batch)."""
    rng = np.random.default_rng(1)
    inits = []

    def weight(name, shape):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name))
        return name

    nodes = [helper.make_node("Conv", ["x", weight("w0", (24, 3, 3, 3))], ["c0"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c0"], ["r0"]),
             helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p0", weight("w1", (32, 24, 3, 3))], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c1", "skip"], ["a1"]),
             helper.make_node("Mul", ["a1", weight("scale", (32, 1, 1))], ["m1"]),
             helper.make_node("GlobalAveragePool", ["m1"], ["g1"]),
             helper.make_node("Conv", ["g1", weight("w2", (32, 32, 1, 1))], ["e1"]),
             helper.make_node("Sigmoid", ["e1"], ["s1"]),
             helper.make_node("Mul", ["m1", "s1"], ["se"]),
             helper.make_node("Conv", ["se", weight("w3", (16, 32, 1, 1))], ["y"])]
    graph = helper.make_graph(
        nodes, "rt_batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 20, 20]),
         helper.make_tensor_value_info("skip", TensorProto.FLOAT, ["N", 32, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    path, so = t.path("rt_batch.onnx"), t.path("rt_batch.so")
    onnx.save(model, path)
    p = t.run([t.hodu, "--build", path, "-o", so, "--dim", "N=1..4", "--conv-layout", "blocked", "--dump-ir",
               "--cflags", "-O1 -Wall -Wextra -Werror"])
    errors = []
    convs = sum(1 for n in nodes if n.op_type == "Conv")
    blocked = len(re.findall(r"^\s*%\S+ : f32\[N<=4,\d+,\d+,\d+,16\] = .*ConvBlocked\(", p.stdout + p.stderr,
                             re.MULTILINE))
    if blocked != convs:
        errors.append(f"run-time batch: {blocked} of {convs} convolutions run blocked over the batch N")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in (1, 3):
        feeds = {"x": rng.standard_normal((n, 3, 20, 20)).astype(np.float32),
                 "skip": rng.standard_normal((n, 32, 10, 10)).astype(np.float32)}
        args = [t.hodu, "--run", so, "--threads", "2", "--output-dir", t.path(f"rt_out{n}")]
        for name, v in feeds.items():
            np.save(t.path(f"rt_{name}{n}.npy"), v)
            args += ["--input", f"{name}={t.path(f'rt_{name}{n}.npy')}"]
        t.run(args)
        got, ref = np.load(t.path(f"rt_out{n}", "y.npy")), sess.run(None, feeds)[0]
        rel = float(np.max(np.abs(got - ref))) / float(np.max(np.abs(ref))) if got.shape == ref.shape else 1.0
        print(f"{'ok  ' if rel <= 1e-4 else 'FAIL'} run-time batch {n}: rel {rel:.3g}")
        if rel > 1e-4:
            errors.append(f"run-time batch {n}: max relative error {rel:.3g} (bar 1e-4), shape {got.shape}")
    return errors


if __name__ == "__main__":
    sys.exit(main())
