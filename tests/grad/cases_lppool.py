"""Gradient cases of LpPool and GlobalLpPool (src/ops/nn_pool_grad.c):
y = (sum over the window of |x|^p)^(1/p), the pads reading zeros."""
import math

import torch
import torch.nn.functional as F
from check_grads import Case


def lp_pool(x, p, k, s, pads):
    t = F.pad(x.abs() ** p, pads)  # pads: F.pad's order, last dim first
    return (F.avg_pool2d(t, k, s) * math.prod(k)) ** (1 / p)


def lp_case(name, shape, p, k, s, onnx_pads, torch_pads):
    attrs = {"p": p, "kernel_shape": k, "strides": s, "pads": onnx_pads}
    return Case(f"LpPool {name}", "LpPool", [("x", shape, "away")],
                lambda t: [lp_pool(t["x"], p, k, s, torch_pads)], attrs=attrs, opset=18)


def global_lp(p, shape):
    dims = tuple(range(2, len(shape)))
    return Case(f"GlobalLpPool p={p} rank {len(shape)}", "GlobalLpPool", [("x", shape, "away")],
                lambda t: [(t["x"].abs() ** p).sum(dim=dims, keepdim=True) ** (1 / p)], attrs={"p": p})


CASES = [
    lp_case("p=2 overlapping", (2, 3, 5, 6), 2, [3, 2], [1, 2], [0, 0, 0, 0], [0, 0, 0, 0]),
    lp_case("p=3 padded", (1, 2, 5, 5), 3, [2, 3], [2, 1], [1, 0, 0, 1], [0, 1, 1, 0]),
    lp_case("p=1", (1, 2, 4, 6), 1, [2, 2], [2, 2], [0, 0, 0, 0], [0, 0, 0, 0]),
    global_lp(2, (2, 3, 4, 5)),
    global_lp(3, (2, 3, 7)),
    global_lp(1, (1, 2, 3, 4)),
]
