"""Writes the small ONNX models of the golden --dump-ir tests.

    make_models.py OUTDIR

Each model exercises one pass (the mix, all of them).  OUTDIR/cases.txt
lists one case a line: the model's base name, then the arguments
dump_passes gets after the model path (--input-shape bindings).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
F32 = TensorProto.FLOAT


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name=name)


def save(outdir, name, nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="hodu-golden")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(outdir, name + ".onnx"))


def bind_symbolic(outdir):
    # Two inputs share the symbol 'batch'; binding x binds b too.
    x = helper.make_tensor_value_info("x", F32, ["batch", "seq", 4])
    b = helper.make_tensor_value_info("b", F32, ["batch", 1, 4])
    y = helper.make_tensor_value_info("y", F32, ["batch", "seq", 4])
    nodes = [
        helper.make_node("Add", ["x", "b"], ["s"], name="add"),
        helper.make_node("Softmax", ["s"], ["y"], name="softmax", axis=-1),
    ]
    save(outdir, "bind_symbolic", nodes, [x, b], [y])
    return "--input-shape x=2x3x4"


def fold_shape_chain(outdir):
    # Shape -> Gather -> Concat -> Reshape: all of it folds at build time,
    # leaving Reshape with a constant shape.
    x = helper.make_tensor_value_info("x", F32, [2, 3, 4])
    y = helper.make_tensor_value_info("y", F32, [2, 12])
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"], name="shape"),
        helper.make_node("Gather", ["shp", "idx0"], ["n"], name="gather", axis=0),
        helper.make_node("Concat", ["n", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"], name="reshape"),
        helper.make_node("Relu", ["r"], ["y"], name="relu"),
    ]
    inits = [const("idx0", np.array([0], np.int64)), const("minus1", np.array([-1], np.int64))]
    save(outdir, "fold_shape_chain", nodes, [x], [y], inits)
    return ""


def dce_branch(outdir):
    # 'exp' and 'mul' feed nothing that reaches an output; neither does 'unused_w'.
    x = helper.make_tensor_value_info("x", F32, [4])
    y = helper.make_tensor_value_info("y", F32, [4])
    nodes = [
        helper.make_node("Exp", ["x"], ["e"], name="exp"),
        helper.make_node("Mul", ["e", "unused_w"], ["dead"], name="mul"),
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
    ]
    inits = [const("unused_w", np.arange(4, dtype=np.float32))]
    save(outdir, "dce_branch", nodes, [x], [y], inits)
    return ""


def fuse_chain(outdir):
    # Add -> Relu -> Mul, single-use edges, one shape: one fused node.  Sigmoid
    # has a vector-math fast path, so it is left out of the group.
    x = helper.make_tensor_value_info("x", F32, [2, 8])
    z = helper.make_tensor_value_info("z", F32, [2, 8])
    y = helper.make_tensor_value_info("y", F32, [2, 8])
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["r"], name="relu"),
        helper.make_node("Mul", ["r", "z"], ["m"], name="mul"),
        helper.make_node("Sigmoid", ["m"], ["y"], name="sigmoid"),
    ]
    inits = [const("bias", np.linspace(-1, 1, 8, dtype=np.float32))]
    save(outdir, "fuse_chain", nodes, [x, z], [y], inits)
    return ""


def mix(outdir):
    # Symbolic batch, MatMul + bias + Relu + scale (fused after the MatMul),
    # a shape chain feeding Reshape, and a dead branch.
    x = helper.make_tensor_value_info("x", F32, ["N", 16])
    y = helper.make_tensor_value_info("y", F32, ["N", 2, 4])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "B"], ["hb"], name="bias"),
        helper.make_node("Relu", ["hb"], ["hr"], name="relu"),
        helper.make_node("Mul", ["hr", "half"], ["hs"], name="scale"),
        helper.make_node("Shape", ["x"], ["xs"], name="shape"),
        helper.make_node("Gather", ["xs", "idx0"], ["n"], name="gather", axis=0),
        helper.make_node("Concat", ["n", "tail"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["hs", "target"], ["y"], name="reshape"),
        helper.make_node("Exp", ["hr"], ["side"], name="dead_exp"),
        helper.make_node("ReduceSum", ["side"], ["side_sum"], name="dead_sum", keepdims=0),
    ]
    rng = np.random.default_rng(7)
    inits = [
        const("W", rng.standard_normal((16, 8)).astype(np.float32)),
        const("B", np.zeros(8, np.float32)),
        const("half", np.array(0.5, np.float32)),
        const("idx0", np.array([0], np.int64)),
        const("tail", np.array([2, 4], np.int64)),
    ]
    save(outdir, "mix", nodes, [x], [y], inits)
    return "--input-shape x=3x16"


def conv_epilogue(outdir):
    # Conv -> Add(residual) -> Relu becomes one hodu.FusedEpilogue whose
    # body starts with the Conv (x, its input, is read again as the
    # residual); the second Conv's Mul by a [1,1,4,4] map (neither the whole
    # shape, one value per channel, nor one value) cannot be an epilogue, so
    # that Conv stays apart.  The third Conv's SiLU, c3 * Sigmoid(c3), is a
    # diamond, and Sigmoid an epilogue member: all three fuse.  The fourth
    # Conv's result is also a graph output, so nothing fuses after it.
    x = helper.make_tensor_value_info("x", F32, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", F32, [1, 3, 4, 4])
    z = helper.make_tensor_value_info("z", F32, [1, 3, 4, 4])
    s = helper.make_tensor_value_info("s", F32, [1, 3, 4, 4])
    c4 = helper.make_tensor_value_info("c4", F32, [1, 3, 4, 4])
    r4 = helper.make_tensor_value_info("r4", F32, [1, 3, 4, 4])
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "x"], ["a"], name="residual"),
        helper.make_node("Relu", ["a"], ["y"], name="relu"),
        helper.make_node("Conv", ["x", "W"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c2", "map"], ["m"], name="by_map"),
        helper.make_node("Sigmoid", ["m"], ["z"], name="gate"),
        helper.make_node("Conv", ["x", "W", "B"], ["c3"], name="conv3", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c3"], ["g3"], name="sigmoid3"),
        helper.make_node("Mul", ["c3", "g3"], ["s"], name="silu"),
        helper.make_node("Conv", ["x", "W"], ["c4"], name="conv4", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c4"], ["r4"], name="relu4"),
    ]
    rng = np.random.default_rng(3)
    inits = [
        const("W", rng.standard_normal((3, 3, 3, 3)).astype(np.float32)),
        const("B", rng.standard_normal(3).astype(np.float32)),
        const("map", rng.standard_normal((1, 1, 4, 4)).astype(np.float32)),
    ]
    save(outdir, "conv_epilogue", nodes, [x], [y, z, s, c4, r4], inits)
    return ""


def data_dependent(outdir):
    # NonZero of an input: its count dim is a data symbol (nz.dim1<=12) that
    # the Transpose and the Cast read as a run-time dim; NonZero of a
    # constant folds to its exact shape.  Then an If over the count (is it
    # empty?) whose branches give different sizes: both are inlined, each
    # node guarded by the condition, and a hodu.Phi picks the result, its
    # size a data symbol of its own.
    i64, b = TensorProto.INT64, TensorProto.BOOL
    vi = helper.make_tensor_value_info
    x = vi("x", F32, [3, 4])
    nz = vi("nz", i64, [2, "n"])
    t = vi("t", i64, [2, 2])
    then_g = helper.make_graph([helper.make_node("Constant", [], ["none"], name="empty",
                                                 value=numpy_helper.from_array(np.zeros([0, 2], np.int64)))],
                               "then", [], [vi("none", i64, [0, 2])])
    else_g = helper.make_graph([helper.make_node("Transpose", ["nz"], ["at"], name="flip_nz")], "else", [],
                               [vi("at", i64, ["n", 2])])
    nodes = [
        helper.make_node("NonZero", ["x"], ["nz"], name="find"),
        helper.make_node("Cast", ["nz"], ["nzf"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("NonZero", ["mask"], ["m"], name="find_const"),
        helper.make_node("Transpose", ["m"], ["t"], name="flip"),
        helper.make_node("Size", ["nz"], ["count"], name="count"),
        helper.make_node("Equal", ["count", "zero"], ["none_found"], name="is_empty"),
        helper.make_node("If", ["none_found"], ["pairs"], name="pick", then_branch=then_g, else_branch=else_g),
    ]
    inits = [const("mask", np.array([[0, 1], [2, 0]], np.float32)), const("zero", np.array(0, np.int64))]
    save(outdir, "data_dependent", nodes, [x],
         [nz, t, vi("nzf", F32, [2, "n"]), vi("pairs", i64, ["p", 2])], inits)
    return ""


def control_flow(outdir):
    """A Loop whose body holds an If reading x from the main graph (captured
    twice) and k from the body (captured once), and an If whose condition
    folds (it becomes its then branch's nodes)."""
    f, i64, b = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    vi = helper.make_tensor_value_info
    x = vi("x", f, [2])
    then_g = helper.make_graph([helper.make_node("Add", ["s", "x"], ["ta"], name="add_x")], "then", [],
                               [vi("ta", f, [2])])
    else_g = helper.make_graph([helper.make_node("Mul", ["s", "k"], ["ea"], name="mul_k")], "else", [],
                               [vi("ea", f, [2])])
    body = helper.make_graph(
        [helper.make_node("Neg", ["s"], ["k"], name="neg"),
         helper.make_node("Cast", ["i"], ["odd"], to=b, name="odd"),
         helper.make_node("If", ["odd"], ["s2"], then_branch=then_g, else_branch=else_g, name="pick"),
         helper.make_node("Identity", ["c"], ["c2"], name="keep")],
        "body", [vi("i", i64, []), vi("c", b, []), vi("s", f, [2])], [vi("c2", b, []), vi("s2", f, [2])])
    one = helper.make_graph([helper.make_node("Relu", ["sf"], ["r"], name="relu")], "one", [], [vi("r", f, [2])])
    two = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["g"], name="sig")], "two", [], [vi("g", f, [2])])
    nodes = [
        helper.make_node("Loop", ["trip", "", "x"], ["sf"], body=body, name="loop"),
        helper.make_node("If", ["yes"], ["y"], then_branch=one, else_branch=two, name="fixed"),
    ]
    save(outdir, "control_flow", nodes, [x], [vi("y", f, [2])],
         [const("trip", np.array(3, np.int64)), const("yes", np.array(True))])
    return ""


def gemm_unflatten(outdir):
    # GPT-2's linear layers: Reshape [2,3,4] -> [6,4], Gemm, Reshape back.
    # The first (bias [5]) becomes MatMul + Add and takes the Tanh and the
    # Mul after it as its epilogue; the second (transB, bias [1,4]) reads a
    # transposed copy of its weights and takes the residual Add; the third
    # (beta 0.5) stays a Gemm between its Reshapes.
    x = helper.make_tensor_value_info("x", F32, [2, 3, 4])
    y = helper.make_tensor_value_info("y", F32, [2, 3, 4])
    z = helper.make_tensor_value_info("z", F32, [2, 3, 5])
    nodes = [
        helper.make_node("Reshape", ["x", "flat4"], ["xf"], name="flatten"),
        helper.make_node("Gemm", ["xf", "W1", "B1"], ["h"], name="fc"),
        helper.make_node("Reshape", ["h", "shape5"], ["h3"], name="restore"),
        helper.make_node("Tanh", ["h3"], ["t"], name="tanh"),
        helper.make_node("Mul", ["t", "h3"], ["m"], name="gate"),
        helper.make_node("Reshape", ["m", "flat5"], ["mf"], name="flatten2"),
        helper.make_node("Gemm", ["mf", "W2", "B2"], ["p"], name="proj", transB=1),
        helper.make_node("Reshape", ["p", "shape4"], ["p3"], name="restore2"),
        helper.make_node("Add", ["p3", "x"], ["y"], name="residual"),
        helper.make_node("Gemm", ["xf", "W1", "B1"], ["q"], name="scaled", beta=0.5),
        helper.make_node("Reshape", ["q", "shape5"], ["z"], name="restore3"),
    ]
    rng = np.random.default_rng(5)
    inits = [
        const("flat4", np.array([6, 4], np.int64)), const("flat5", np.array([6, 5], np.int64)),
        const("shape4", np.array([2, 3, 4], np.int64)), const("shape5", np.array([2, 3, 5], np.int64)),
        const("W1", rng.standard_normal((4, 5)).astype(np.float32)),
        const("B1", rng.standard_normal(5).astype(np.float32)),
        const("W2", rng.standard_normal((4, 5)).astype(np.float32)),
        const("B2", rng.standard_normal((1, 4)).astype(np.float32)),
    ]
    save(outdir, "gemm_unflatten", nodes, [x], [y, z], inits)
    return ""


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    cases = [(f.__name__, f(outdir)) for f in (bind_symbolic, fold_shape_chain, dce_branch, fuse_chain, mix,
                                                conv_epilogue, data_dependent, control_flow, gemm_unflatten)]
    with open(os.path.join(outdir, "cases.txt"), "w") as fh:
        for name, args in cases:
            fh.write(f"{name} {args}".rstrip() + "\n")


if __name__ == "__main__":
    main()
