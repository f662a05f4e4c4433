"""Gradient cases of the elementwise ops (src/ops/elementwise_grad.c)."""
import numpy as np
import torch
import torch.nn.functional as F
from onnx import helper
from check_grads import Case

S = (3, 4)


def unary(op, fn, kind=None, attrs=None, f64=True):
    return Case(op if not attrs else f"{op} {attrs}", op, [("x", S, kind)], lambda t: [fn(t["x"])],
                attrs=attrs or {}, f64=f64)


CASES = [
    # binary, with broadcasting both ways
    Case("Add broadcast", "Add", [("a", (2, 3, 4)), ("b", (3, 1))], lambda t: [t["a"] + t["b"]]),
    Case("Sub broadcast", "Sub", [("a", (4,)), ("b", (2, 3, 4))], lambda t: [t["a"] - t["b"]]),
    Case("Mul broadcast", "Mul", [("a", (2, 1, 4)), ("b", (3, 1))], lambda t: [t["a"] * t["b"]]),
    Case("Div broadcast", "Div", [("a", (2, 3)), ("b", (3,), "positive")], lambda t: [t["a"] / t["b"]]),
    Case("Pow", "Pow", [("a", S, "positive"), ("b", S)], lambda t: [torch.pow(t["a"], t["b"])]),
    Case("Mul same input", [helper.make_node("Mul", ["x", "x"], ["y"])], [("x", S)],
         lambda t: [t["x"] * t["x"]]),
    Case("Max", "Max", [("a", S), ("b", S)], lambda t: [torch.maximum(t["a"], t["b"])]),
    Case("Min", "Min", [("a", S), ("b", (4,))], lambda t: [torch.minimum(t["a"], t["b"])]),
    Case("Sum variadic", "Sum", [("a", S), ("b", (4,)), ("c", S)], lambda t: [t["a"] + t["b"] + t["c"]]),
    Case("Mean variadic", "Mean", [("a", S), ("b", S)], lambda t: [(t["a"] + t["b"]) / 2]),
    Case("Where", "Where", [("c", S, "bool"), ("a", S), ("b", (4,))],
         lambda t: [torch.where(t["c"], t["a"], t["b"])]),
    # unary math
    unary("Neg", torch.neg),
    unary("Abs", torch.abs, "away"),
    unary("Sqrt", torch.sqrt, "positive"),
    unary("Exp", torch.exp),
    unary("Log", torch.log, "positive"),
    unary("Reciprocal", torch.reciprocal, "positive"),
    unary("Sin", torch.sin),
    unary("Cos", torch.cos),
    unary("Tan", torch.tan, "unit"),
    unary("Sinh", torch.sinh),
    unary("Cosh", torch.cosh),
    unary("Atan", torch.atan),
    unary("Erf", torch.erf),
    unary("Floor", torch.floor, "away"),
    # activations
    unary("Relu", torch.relu, "away"),
    unary("Sigmoid", torch.sigmoid),
    unary("Tanh", torch.tanh),
    unary("LeakyRelu", lambda x: F.leaky_relu(x, 0.1), "away", {"alpha": 0.1}),
    unary("Elu", lambda x: F.elu(x, 0.7), "away", {"alpha": 0.7}),
    unary("Selu", F.selu, "away"),
    unary("Softplus", F.softplus),
    unary("Softsign", F.softsign, "away"),
    unary("HardSigmoid", lambda x: torch.clamp(0.2 * x + 0.5, 0, 1), "unit"),
    Case("Gelu", "Gelu", [("x", S)], lambda t: [F.gelu(t["x"])], opset=20),
    Case("Gelu tanh", "Gelu", [("x", S)], lambda t: [F.gelu(t["x"], approximate="tanh")],
         attrs={"approximate": "tanh"}, opset=20),
    Case("Clip", "Clip", [("x", S)], lambda t: [torch.clamp(t["x"], -0.5, 0.7)],
         consts={"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)}),
    Case("PRelu broadcast slope", "PRelu", [("x", (2, 3, 4), "away"), ("s", (3, 1))],
         lambda t: [torch.where(t["x"] > 0, t["x"], t["s"] * t["x"])]),
    Case("PRelu scalar slope", "PRelu", [("x", S, "away"), ("s", (1,))], lambda t: [F.prelu(t["x"], t["s"])]),
    unary("Celu", lambda x: F.celu(x, 0.7), "away", {"alpha": 0.7}),
    # scaled so that all three pieces of HardSwish are met
    Case("HardSwish", [helper.make_node("Mul", ["x", "k"], ["t"]), helper.make_node("HardSwish", ["t"], ["y"])],
         [("x", S, "away")], lambda t: [F.hardswish(t["x"] * t["k"])], consts={"k": np.array(4.0, np.float32)},
         opset=14),
    Case("Mish", "Mish", [("x", S)], lambda t: [F.mish(t["x"])], opset=18),
    unary("ThresholdedRelu", lambda x: torch.where(x > 0.3, x, torch.zeros_like(x)), "away", {"alpha": 0.3}),
    unary("Shrink", lambda x: F.softshrink(x, 0.6), "away", {"lambd": 0.6, "bias": 0.6}),
    Case("Shrink with bias", "Shrink", [("x", S, "away")],
         lambda t: [torch.where(t["x"] < -0.4, t["x"] + 0.1, torch.where(t["x"] > 0.4, t["x"] - 0.1, 0 * t["x"]))],
         attrs={"lambd": 0.4, "bias": 0.1}),
    unary("Asin", torch.asin, "unit"),
    unary("Acos", torch.acos, "unit"),
    unary("Asinh", torch.asinh),
    Case("Acosh", [helper.make_node("Add", ["x", "one"], ["t"]), helper.make_node("Acosh", ["t"], ["y"])],
         [("x", S, "positive")], lambda t: [torch.acosh(t["x"] + t["one"])], consts={"one": np.array(1.0, np.float32)}),
    unary("Atanh", torch.atanh, "unit"),
    Case("Dropout at inference", "Dropout", [("x", S)], lambda t: [t["x"]]),
]
