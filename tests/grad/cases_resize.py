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


def crop_linear(n_in, n_out, lo, hi):
    """tf_crop_and_resize's linear mapping along one axis over roi [lo, hi],
    as a matrix, and a mask of the outputs that fall inside the input (the
    rest take extrapolation_value)."""
    a, inside = np.zeros((n_out, n_in)), np.zeros(n_out)
    for y in range(n_out):
        x = lo * (n_in - 1) + y * (hi - lo) * (n_in - 1) / (n_out - 1)
        if x < 0 or x > n_in - 1:
            continue
        x0 = int(np.floor(x))
        x1 = min(x0 + 1, n_in - 1)
        a[y, x0] += 1 - (x - x0)
        a[y, x1] += x - x0
        inside[y] = 1
    return a, inside


def crop_and_resize(x, out, roi, extrap):
    (a_h, in_h), (a_w, in_w) = (crop_linear(x.shape[2], out[0], roi[0], roi[2]),
                                crop_linear(x.shape[3], out[1], roi[1], roi[3]))
    t = lambda v: torch.tensor(v, dtype=x.dtype)  # noqa: E731
    return torch.einsum("yh,nchw,xw->ncyx", t(a_h), x, t(a_w)) + extrap * (1 - t(np.outer(in_h, in_w)))


def upsample_linear(x, scales):
    a_h = torch.tensor(asymmetric_linear(x.shape[2], scales[2]), dtype=x.dtype)
    a_w = torch.tensor(asymmetric_linear(x.shape[3], scales[3]), dtype=x.dtype)
    return torch.einsum("yh,nchw,xw->ncyx", a_h, x, a_w)


def run_time(name, shape, how, values, out, torch_fn, opset=13, **attrs):
    """Resize with its scales or sizes an input given when the model runs
    (these values), its output declared; the gradient is w.r.t. x."""
    ins = ["x", "", "scales"] if how == "scales" else ["x", "", "", "sizes"]
    kind = ("f32=" if how == "scales" else "int64=") + ",".join(str(v) for v in values)
    return Case(f"Resize {name}", [helper.make_node("Resize", ins, ["y"], **attrs)],
                [("x", shape), (how, (len(values),), kind)], lambda t: [torch_fn(t["x"])],
                opset=opset, wrt=["x"], out_shapes={"y": list(out)})


def interp(scales, mode, **kw):
    return lambda x: F.interpolate(x, scale_factor=scales, mode=mode, recompute_scale_factor=False, **kw)


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
    run_time("linear, run-time scales", (1, 2, 3, 4), "scales", [1, 1, 2, 1.7], (1, 2, 6, 6),
             interp((2, 1.7), "bilinear", align_corners=False), mode="linear"),
    run_time("nearest asymmetric floor, run-time scales", (1, 2, 4, 3), "scales", [1, 1, 1.5, 2.5], (1, 2, 6, 7),
             interp((1.5, 2.5), "nearest"), mode="nearest", coordinate_transformation_mode="asymmetric",
             nearest_mode="floor"),
    run_time("cubic, run-time scales", (1, 1, 4, 5), "scales", [1, 1, 1.5, 2.2], (1, 1, 6, 11),
             interp((1.5, 2.2), "bicubic", align_corners=False), mode="cubic"),
    run_time("linear, run-time sizes not_larger (opset 18)", (1, 2, 4, 8), "sizes", [7, 20], (1, 2, 7, 14),
             interp((1.75, 1.75), "bilinear", align_corners=False), opset=18, mode="linear", axes=[2, 3],
             keep_aspect_ratio_policy="not_larger"),
    Case("Resize tf_crop_and_resize, run-time roi (opset 18)",
         [helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], mode="linear", axes=[2, 3],
                           coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=0.5)],
         [("x", (1, 2, 4, 5)), ("roi", (4,), "f32=0.1,-0.2,0.8,1.3")],
         lambda t: [crop_and_resize(t["x"], (5, 7), [0.1, -0.2, 0.8, 1.3], 0.5)],
         consts={"sizes": np.array([5, 7], np.int64)}, opset=18, wrt=["x"], out_shapes={"y": [1, 2, 5, 7]}),
    Case("Upsample linear, run-time scales (opset 9)", [helper.make_node("Upsample", ["x", "s"], ["y"], mode="linear")],
         [("x", (1, 2, 3, 4)), ("s", (4,), "f32=1,1,2,1.5")], lambda t: [upsample_linear(t["x"], [1, 1, 2, 1.5])],
         opset=9, wrt=["x"], out_shapes={"y": [1, 2, 6, 6]}),
    Case("Upsample nearest", "Upsample", [("x", (1, 2, 3, 2))],
         lambda t: [F.interpolate(t["x"], scale_factor=(2, 3), mode="nearest")],
         attrs={"mode": "nearest", "scales": [1.0, 1.0, 2.0, 3.0]}, opset=7),
    Case("Upsample linear", "Upsample", [("x", (1, 2, 3, 4))],
         lambda t: [upsample_linear(t["x"], [1, 1, 2, 2])],
         attrs={"mode": "linear", "scales": [1.0, 1.0, 2.0, 2.0]}, opset=7),
]
