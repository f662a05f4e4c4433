"""Gradient cases of MatMul, Gemm and Flatten (src/ops/nn_grad.c), and a
small MLP whose weights are inputs (fan-out and chains through rules)."""
import torch
import torch.nn.functional as F
from check_grads import Case
from onnx import helper


def matmul(a, b):
    return Case(f"MatMul {a} x {b}", "MatMul", [("a", a), ("b", b)], lambda t: [t["a"] @ t["b"]])


def gemm(ta, tb, alpha=1.0, beta=1.0, c=(5,)):
    a = (4, 3) if ta else (3, 4)
    b = (5, 4) if tb else (4, 5)
    ins = [("a", a), ("b", b)] + ([("c", c)] if c else [])

    def fn(t):
        y = alpha * ((t["a"].T if ta else t["a"]) @ (t["b"].T if tb else t["b"]))
        return [y + beta * t["c"] if c else y]

    return Case(f"Gemm transA={ta} transB={tb} alpha={alpha} beta={beta} C={c}", "Gemm", ins, fn,
                attrs={"transA": ta, "transB": tb, "alpha": alpha, "beta": beta})


MLP = [
    helper.make_node("MatMul", ["x", "w1"], ["h0"]),
    helper.make_node("Add", ["h0", "b1"], ["h1"]),
    helper.make_node("Relu", ["h1"], ["h2"]),
    helper.make_node("MatMul", ["h2", "w2"], ["h3"]),
    helper.make_node("Add", ["h3", "h0"], ["y"]),  # h0 read twice: gradients add up
]

CASES = [
    matmul((3, 4), (4, 5)),
    matmul((2, 3, 4), (4, 5)),
    matmul((3, 4), (2, 4, 5)),
    matmul((2, 1, 3, 4), (3, 4, 2)),
    matmul((4,), (4, 5)),
    matmul((2, 3, 4), (4,)),
    matmul((4,), (4,)),
    gemm(0, 0),
    gemm(1, 0, alpha=0.5),
    gemm(0, 1, beta=2.0, c=(3, 1)),
    gemm(1, 1, c=None),
    Case("Flatten axis=2", "Flatten", [("x", (2, 3, 4, 5))], lambda t: [t["x"].reshape(6, 20)], attrs={"axis": 2}),
    Case("MLP (weights as inputs)", MLP, [("x", (6, 8)), ("w1", (8, 5)), ("b1", (5,), "away"), ("w2", (5, 5))],
         lambda t: [F.relu(t["x"] @ t["w1"] + t["b1"]) @ t["w2"] + t["x"] @ t["w1"]]),
]
