#!/usr/bin/env python3
"""Writes the install test's model and its oracle (tests/install/check_install.sh).

    make_model.py DIR

DIR/mlp.onnx: x[2, 4] -> MatMul, Add, Relu, MatMul, Add, Softmax -> y[2, 3];
DIR/x.npy an input, DIR/expected.npy what onnxruntime makes of it.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def main() -> int:
    out = Path(sys.argv[1])
    rng = np.random.default_rng(12)
    w1 = rng.standard_normal((4, 8)).astype(np.float32)
    b1 = rng.standard_normal(8).astype(np.float32)
    w2 = rng.standard_normal((8, 3)).astype(np.float32)
    b2 = rng.standard_normal(3).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"]),
        helper.make_node("Add", ["h3", "b2"], ["h4"]),
        helper.make_node("Softmax", ["h4"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "install_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, out / "mlp.onnx")
    x = rng.standard_normal((2, 4)).astype(np.float32)
    np.save(out / "x.npy", x)
    sess = ort.InferenceSession(str(out / "mlp.onnx"), providers=["CPUExecutionProvider"])
    np.save(out / "expected.npy", sess.run(None, {"x": x})[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
