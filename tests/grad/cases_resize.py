"""Gradient cases of Resize and Upsample (src/ops/nn_resize_grad.c),
against torch.nn.functional.interpolate where its mapping is ONNX's."""
import numpy as np
import torch
import torch.nn.functional as F
from onnx import helper
from check_grads import Case


def resize(name, shape, sizes, torch_fn, opset=13, **attrs):
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], **attrs)
    return Case(f"Resize {name}", [node], [("x", shape)], lambda t: [torch_fn(t["x"])],
                consts={"sizes": np.array(sizes, np.int64)}, opset=opset)


def asymmetric_linear(n_in, scale):
    """Upsample's linear mapping along one axis (x = y / scale), as a matrix."""
    n_out = int(n_in * scale)
    a = np.zeros((n_out, n_in))
    for y in range(n_out):
        x = y / scale
        x0 = min(int(np.floor(x)), n_in - 1)
        x1 = min(x0 + 1, n_in - 1)
        a[y, x0] += 1 - (x - x0)
        a[y, x1] += x - x0
    return a


def upsample_linear(x, scales):
    a_h = torch.tensor(asymmetric_linear(x.shape[2], scales[2]), dtype=x.dtype)
    a_w = torch.tensor(asymmetric_linear(x.shape[3], scales[3]), dtype=x.dtype)
    return torch.einsum("yh,nchw,xw->ncyx", a_h, x, a_w)


CASES = [
    resize("linear half_pixel up", (1, 2, 3, 4), [1, 2, 6, 7],
           lambda x: F.interpolate(x, size=(6, 7), mode="bilinear", align_corners=False), mode="linear"),
    resize("linear half_pixel down", (2, 1, 6, 5), [2, 1, 4, 3],
           lambda x: F.interpolate(x, size=(4, 3), mode="bilinear", align_corners=False), mode="linear"),
    resize("linear align_corners", (1, 2, 3, 4), [1, 2, 5, 7],
           lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True), mode="linear",
           coordinate_transformation_mode="align_corners"),
    resize("linear 1d", (2, 3, 5), [2, 3, 8],
           lambda x: F.interpolate(x, size=(8,), mode="linear", align_corners=False), mode="linear"),
    resize("linear 3d", (1, 2, 3, 2, 4), [1, 2, 5, 3, 6],  # the depth axis: neither of the last two
           lambda x: F.interpolate(x, size=(5, 3, 6), mode="trilinear", align_corners=False), mode="linear"),
    resize("nearest asymmetric floor", (1, 2, 3, 4), [1, 2, 7, 6],
           lambda x: F.interpolate(x, size=(7, 6), mode="nearest"), mode="nearest",
           coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    resize("nearest half_pixel down", (1, 2, 7, 6), [1, 2, 3, 4],  # several outputs miss inputs
           lambda x: F.interpolate(x, size=(3, 4), mode="nearest-exact"), mode="nearest",
           nearest_mode="round_prefer_ceil"),
    resize("cubic half_pixel", (1, 2, 4, 5), [1, 2, 7, 8],
           lambda x: F.interpolate(x, size=(7, 8), mode="bicubic", align_corners=False), mode="cubic"),
    Case("Upsample nearest", "Upsample", [("x", (1, 2, 3, 2))],
         lambda t: [F.interpolate(t["x"], scale_factor=(2, 3), mode="nearest")],
         attrs={"mode": "nearest", "scales": [1.0, 1.0, 2.0, 3.0]}, opset=7),
    Case("Upsample linear", "Upsample", [("x", (1, 2, 3, 4))],
         lambda t: [upsample_linear(t["x"], [1, 1, 2, 2])],
         attrs={"mode": "linear", "scales": [1.0, 1.0, 2.0, 2.0]}, opset=7),
]
