"""Writes the differential test's own model: elementwise work for fusion.

    make_models.py OUTDIR

eltwise  f32 and f64 elementwise graphs shaped for the fusion pass: operands
         that broadcast (per channel, per row, scalars), a tree of branches
         joining, Clip and PRelu, a value read twice (a group boundary), an
         intermediate that is also a graph output, a chain of 100 members
         (longer than one fused group may be), a vector-math op (Tanh) that
         splits a chain, and an f64 chain over an odd element count

The models of tests/threads/make_models.py (cnn, transformer, mlp) are the
test's other models.  Weights are seeded random numbers; the test feeds its
own inputs at run time.  Every operation stays in a range where it is smooth
(no log of negatives, no floor), so -O0 and optimized builds may differ only
by rounding.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
rng = np.random.default_rng(11)


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, value, dtype=np.float32):
        name = f"k{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name=name))
        return name

    def op(self, op_type, *inputs, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


def eltwise(outdir):
    g = Graph()
    x = "x"  # f32 [2,16,8,8]
    # Per-channel scale and bias, then a tree: two branches of x join.
    a = g.op("Mul", x, g.const(rng.uniform(0.5, 1.5, (16, 1, 1))))
    b = g.op("Add", a, g.const(rng.standard_normal((16, 1, 1)) * 0.1))
    c = g.op("Relu", b)
    v = g.op("Sqrt", g.op("Add", g.op("Abs", x), g.const(1.0)))
    w = g.op("Div", c, g.op("Add", g.op("Mul", x, x), g.const(1.0)))
    t = g.op("Sub", v, w)
    t = g.op("Clip", t, g.const(-1.0), g.const(2.0))
    t = g.op("PRelu", g.op("Sub", t, g.const(0.5)), g.const(rng.uniform(0.05, 0.3, (16, 1, 1))))
    # A row-broadcast operand and a leaky relu; `mid` is read twice and is
    # also a graph output.
    t = g.op("Mul", t, g.const(rng.uniform(0.5, 1.5, (1, 8))))
    mid = g.op("LeakyRelu", t, alpha=0.1)
    sq = g.op("Mul", mid, mid)
    h = g.op("Add", sq, mid)
    # A chain of 100 smooth members (a fused group holds at most 64).
    for i in range(100):
        k = i % 5
        if k == 0:
            h = g.op("Sin", h)
        elif k == 1:
            h = g.op("Mul", h, g.const(1.0 + 0.01 * (i % 7)))
        elif k == 2:
            h = g.op("Add", h, g.const(0.05 * ((i % 3) - 1)))
        elif k == 3:
            h = g.op("Reciprocal", g.op("Add", g.op("Abs", h), g.const(1.0)))
        else:
            h = g.op("Neg", h)
        if i == 50:
            h = g.op("Tanh", h)  # vector math: not fusable, splits the chain
    h = g.op("HardSigmoid", h, alpha=0.3, beta=0.4)
    h = g.op("Softsign", g.op("Pow", h, g.const(2.0)))
    y = g.op("Add", h, g.op("Mul", mid, g.const(0.25)))
    g.nodes.append(helper.make_node("Identity", [y], ["y"]))
    g.nodes.append(helper.make_node("Identity", [mid], ["mid"]))
    # f64 over 4x33 elements (not a multiple of any vector width or block).
    z = "z"
    f64 = np.float64
    p = g.op("Mul", z, g.const(rng.uniform(0.5, 1.5, (1, 33)), f64))
    p = g.op("Add", p, g.const(rng.standard_normal((4, 1)), f64))
    for i in range(12):
        p = g.op("Sin", p) if i % 2 else g.op("Add", g.op("Mul", p, g.const(0.9, f64)), z)
    p = g.op("Div", p, g.op("Add", g.op("Abs", z), g.const(2.0, f64)))
    g.nodes.append(helper.make_node("Identity", [p], ["yz"]))

    f32, d64 = TensorProto.FLOAT, TensorProto.DOUBLE
    graph = helper.make_graph(
        g.nodes, "eltwise",
        [helper.make_tensor_value_info("x", f32, [2, 16, 8, 8]), helper.make_tensor_value_info("z", d64, [4, 33])],
        [helper.make_tensor_value_info("y", f32, [2, 16, 8, 8]),
         helper.make_tensor_value_info("mid", f32, [2, 16, 8, 8]),
         helper.make_tensor_value_info("yz", d64, [4, 33])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hodu-differential")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(outdir, "eltwise.onnx"))


def gpt_mlp(outdir):
    """GPT-2's MLP as torch.onnx writes it: Reshape to rows, Gemm, Reshape
    back, the tanh GELU spelled out (Pow, Mul, Add, Tanh), a second Gemm
    (transB) and the residual Add; pass_unflatten_gemm makes the Gemms
    MatMuls whose epilogues take the GELU and the Add."""
    g = Graph()
    x = "x"  # f32 [2, 7, 32]
    flat = g.op("Reshape", x, g.const(np.array([14, 32]), np.int64))
    h = g.op("Gemm", flat, g.const(rng.standard_normal((32, 96)) * 0.2), g.const(rng.standard_normal(96) * 0.1))
    h = g.op("Reshape", h, g.const(np.array([2, 7, 96]), np.int64))
    inner = g.op("Mul", g.op("Add", h, g.op("Mul", g.op("Pow", h, g.const(3.0)), g.const(0.044715))),
                 g.const(0.7978845608))
    gelu = g.op("Mul", g.op("Mul", h, g.const(0.5)), g.op("Add", g.op("Tanh", inner), g.const(1.0)))
    flat = g.op("Reshape", gelu, g.const(np.array([14, 96]), np.int64))
    p = g.op("Gemm", flat, g.const(rng.standard_normal((32, 96)) * 0.1), g.const(rng.standard_normal((1, 32)) * 0.1),
             transB=1)
    p = g.op("Reshape", p, g.const(np.array([2, 7, 32]), np.int64))
    g.nodes.append(helper.make_node("Add", [p, x], ["y"]))
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(g.nodes, "gpt_mlp", [helper.make_tensor_value_info("x", f32, [2, 7, 32])],
                              [helper.make_tensor_value_info("y", f32, [2, 7, 32])], initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hodu-differential")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(outdir, "gpt_mlp.onnx"))


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    eltwise(outdir)
    gpt_mlp(outdir)


if __name__ == "__main__":
    main()
