"""Gradient cases of LpPool and GlobalLpPool (src/ops/nn_pool_grad.c):
y = (sum over the window of |x|^p)^(1/p), the pads reading zeros.  Also
MaxPool over windows with tied maxima (one of them all -inf): the gradient goes
to the first maximum in scan order, as in PyTorch.  Ties are kinks, so
these are checked against PyTorch only (f32), on given values."""
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


def tied_max_pool(name, shape, k, s, pads, values):
    """x holds `values` (few distinct ones, so windows tie)."""
    attrs = {"kernel_shape": k, "strides": s, "pads": pads}
    x = ("x", shape, "f32=" + ",".join(values))
    nd = len(k)
    return Case(f"MaxPool ties {name}", "MaxPool", [x],
                lambda t: [F.max_pool2d(t["x"], k, s, pads[:nd])], attrs=attrs, f64=False, wrt=["x"])


TIES = [str(i % 3) for i in range(48)]
ALL_INF = ["-inf" if i in (0, 1, 6, 7) else v for i, v in enumerate(TIES)]  # the first 2x2 window

CASES = [
    tied_max_pool("2x2 disjoint", (1, 2, 4, 6), [2, 2], [2, 2], [0, 0, 0, 0], ALL_INF),
    tied_max_pool("3x3 overlapping pads", (1, 2, 4, 6), [3, 3], [1, 2], [1, 1, 1, 1], TIES),
    lp_case("p=2 overlapping", (2, 3, 5, 6), 2, [3, 2], [1, 2], [0, 0, 0, 0], [0, 0, 0, 0]),
    lp_case("p=3 padded", (1, 2, 5, 5), 3, [2, 3], [2, 1], [1, 0, 0, 1], [0, 1, 1, 0]),
    lp_case("p=1", (1, 2, 4, 6), 1, [2, 2], [2, 2], [0, 0, 0, 0], [0, 0, 0, 0]),
    global_lp(2, (2, 3, 4, 5)),
    global_lp(3, (2, 3, 7)),
    global_lp(1, (1, 2, 3, 4)),
]
