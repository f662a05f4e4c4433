"""Writes the models of the threads test: one per kind of parallel kernel.

    make_models.py OUTDIR

cnn          convolutions (3x3, strided, depthwise, 1x1), pooling, Gemm,
             Softmax: the vision kernels
transformer  LayerNorm, MatMul, attention (Softmax over heads), Erf GELU,
             residual adds: the transformer kernels
mlp          Gemm + Relu at batch 64

Weights are seeded random numbers; the test feeds its own inputs at run time.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
F32 = TensorProto.FLOAT
rng = np.random.default_rng(7)


def weight(name, *shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name=name)


def save(outdir, name, nodes, x_shape, y_name, y_shape, inits):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", F32, x_shape)],
                              [helper.make_tensor_value_info(y_name, F32, y_shape)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hodu-threads")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(outdir, name + ".onnx"))


def cnn(outdir):
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        n("Relu", ["c1"], ["r1"]),
        n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        n("Relu", ["c2"], ["r2"]),
        n("Conv", ["r2", "w3"], ["c3"], pads=[1, 1, 1, 1], group=32),
        n("Conv", ["c3", "w4", "b4"], ["c4"]),
        n("Add", ["c4", "r2"], ["s4"]),
        n("GlobalAveragePool", ["s4"], ["g"]),
        n("Flatten", ["g"], ["f"]),
        n("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
        n("Softmax", ["logits"], ["y"], axis=-1),
    ]
    inits = [weight("w1", 16, 3, 3, 3), weight("b1", 16, scale=0.1),
             weight("w2", 32, 16, 3, 3), weight("b2", 32, scale=0.1),
             weight("w3", 32, 1, 3, 3),
             weight("w4", 32, 32, 1, 1), weight("b4", 32, scale=0.1),
             weight("wf", 10, 32), weight("bf", 10, scale=0.1)]
    save(outdir, "cnn", nodes, [2, 3, 32, 32], "y", [2, 10], inits)


def transformer(outdir):
    seq, d, heads, ff = 64, 128, 4, 512
    hd = d // heads
    n = helper.make_node
    c = numpy_helper.from_array
    nodes = [
        n("LayerNormalization", ["x", "g1", "be1"], ["ln1"], axis=-1, epsilon=1e-5),
        n("MatMul", ["ln1", "wqkv"], ["qkv"]),
        n("Split", ["qkv", "split3"], ["q", "k", "v"], axis=-1),
        n("Reshape", ["q", "heads_shape"], ["q4"]),
        n("Reshape", ["k", "heads_shape"], ["k4"]),
        n("Reshape", ["v", "heads_shape"], ["v4"]),
        n("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
        n("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
        n("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3]),
        n("MatMul", ["qh", "kt"], ["scores"]),
        n("Mul", ["scores", "scale"], ["scaled"]),
        n("Softmax", ["scaled"], ["attn"], axis=-1),
        n("MatMul", ["attn", "vh"], ["ctx"]),
        n("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        n("Reshape", ["ctx_t", "model_shape"], ["ctx2"]),
        n("MatMul", ["ctx2", "wo"], ["proj"]),
        n("Add", ["x", "proj"], ["h1"]),
        n("LayerNormalization", ["h1", "g2", "be2"], ["ln2"], axis=-1, epsilon=1e-5),
        n("MatMul", ["ln2", "w_up"], ["up"]),
        n("Add", ["up", "b_up"], ["upb"]),
        # GELU as x * 0.5 * (1 + erf(x / sqrt(2)))
        n("Div", ["upb", "sqrt2"], ["gd"]),
        n("Erf", ["gd"], ["ge"]),
        n("Add", ["ge", "one"], ["g1p"]),
        n("Mul", ["upb", "g1p"], ["gm"]),
        n("Mul", ["gm", "half"], ["gelu"]),
        n("MatMul", ["gelu", "w_down"], ["down"]),
        n("Add", ["h1", "down"], ["y"]),
    ]
    inits = [
        c(np.ones(d, np.float32), "g1"), c(np.zeros(d, np.float32), "be1"),
        c(np.ones(d, np.float32), "g2"), c(np.zeros(d, np.float32), "be2"),
        weight("wqkv", d, 3 * d), weight("wo", d, d), weight("w_up", d, ff), weight("b_up", ff, scale=0.1),
        weight("w_down", ff, d),
        c(np.array([d, d, d], np.int64), "split3"),
        c(np.array([1, seq, heads, hd], np.int64), "heads_shape"),
        c(np.array([1, seq, d], np.int64), "model_shape"),
        c(np.array(1.0 / np.sqrt(hd), np.float32), "scale"),
        c(np.array(np.sqrt(2.0), np.float32), "sqrt2"),
        c(np.array(1.0, np.float32), "one"), c(np.array(0.5, np.float32), "half"),
    ]
    save(outdir, "transformer", nodes, [1, seq, d], "y", [1, seq, d], inits)


def mlp(outdir):
    n = helper.make_node
    nodes = [
        n("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        n("Relu", ["h"], ["r"]),
        n("Gemm", ["r", "w2", "b2"], ["y"], transB=1),
    ]
    inits = [weight("w1", 512, 784), weight("b1", 512, scale=0.1), weight("w2", 10, 512), weight("b2", 10, scale=0.1)]
    save(outdir, "mlp", nodes, [64, 784], "y", [64, 10], inits)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    cnn(outdir)
    transformer(outdir)
    mlp(outdir)


if __name__ == "__main__":
    main()
