"""Small onnx.helper shorthands the model-building tests share.

    from onnxcase import vi, const, model, output_file

Importing it imports numpy and onnx; a test catches the ImportError and
fails (never skips) when they are missing.
"""
import re

import numpy as np
import onnx
from onnx import helper as h, numpy_helper


def vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


def const(name, value, dtype=np.float32):
    return h.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(value, dtype=dtype), name))


def model(name, nodes, inputs, outputs, inits=(), opset=17, check=True):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    if check:
        onnx.checker.check_model(m)
    return m


def output_file(name):
    """The file `hodu --run --output-dir` writes output `name` to."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200] + ".npy"
