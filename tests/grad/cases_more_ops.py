"""Gradient cases of MeanVarianceNormalization, CumProd (reduce_grad.c),
Det, LRN, TensorScatter (linalg_grad.c), GridSample, RoiAlign, AffineGrid,
Col2Im, CenterCropPad (nn_sample_grad.c), DFT (signal_grad.c) and
RotaryEmbedding (attention_grad.c).  The PyTorch side writes LRN, MVN,
CenterCropPad and RotaryEmbedding from their ONNX definitions; CumProd and
Det are torch.cumprod and torch.linalg.det (a polynomial for a singular
matrix)."""
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from check_grads import Case
from onnx import helper


def mvn(x, dims=(0, 2, 3)):
    xc = x - x.mean(dims, keepdim=True)
    return xc / ((xc * xc).mean(dims, keepdim=True).sqrt() + 1e-9)


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """Channel c sums x^2 over [c - (size-1)//2, c + size//2] inside [0, C)."""
    lo, hi, C = (size - 1) // 2, size // 2, x.shape[1]
    sq = x * x
    s = torch.stack([sq[:, max(0, c - lo):min(C, c + hi + 1)].sum(1) for c in range(C)], 1)
    return x / (bias + alpha / size * s) ** beta


def cumprod(x, axis, exclusive=False, reverse=False):
    if reverse:
        x = x.flip(axis)
    if exclusive:
        ones = torch.ones_like(x.narrow(axis, 0, 1))
        x = torch.cat([ones, x.narrow(axis, 0, x.shape[axis] - 1)], axis)
    y = torch.cumprod(x, axis)
    return y.flip(axis) if reverse else y


def center_crop_pad(x, shape, axes=None):
    axes = list(range(x.dim())) if axes is None else [a % x.dim() for a in axes]
    for a, want in zip(axes, shape):
        have = x.shape[a]
        if want < have:
            x = x.narrow(a, (have - want) // 2, want)
        elif want > have:
            before = (want - have) // 2
            pads = [0, 0] * x.dim()
            at = 2 * (x.dim() - 1 - a)
            pads[at], pads[at + 1] = before, want - have - before
            x = F.pad(x, pads)
    return x


def rotary(x, cos, sin, pos=None, interleaved=False, rdim=0, heads=0):
    """x [B, H, S, D] or [B, S, H*D] (heads given); caches [B, S, R/2], or
    [P, R/2] picked by pos [B, S]."""
    three = x.dim() == 3
    if three:
        B, S, _ = x.shape
        x = x.reshape(B, S, heads, -1).transpose(1, 2)
    R = rdim or x.shape[-1]
    if pos is not None:
        cos, sin = cos[pos], sin[pos]
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    rot, rest = x[..., :R], x[..., R:]
    if interleaved:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
    else:
        x1, x2 = rot[..., :R // 2], rot[..., R // 2:]
    o1, o2 = cos * x1 - sin * x2, sin * x1 + cos * x2
    out = torch.stack([o1, o2], -1).flatten(-2) if interleaved else torch.cat([o1, o2], -1)
    y = torch.cat([out, rest], -1)
    if three:
        y = y.transpose(1, 2).reshape(B, S, -1)
    return y


def det3(m):
    """The 3 x 3 determinant as a polynomial: its autograd is exact on a
    singular matrix, where torch.linalg.det's backward (through the
    inverse) is not."""
    return (m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
            + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]))


def roi_align(t, size, scale=1.0, sampling=0, aligned=True):
    boxes = torch.cat([t["bi"][:, None].to(t["rois"].dtype), t["rois"]], 1)
    return torchvision.ops.roi_align(t["x"], boxes, size, scale, sampling, aligned)


# boxes (x1, y1, x2, y2): inside, over the edge, tiny, one partly outside the map
ROIS = "float=0.5,0.7,3.2,4.1,1.1,0.2,6.9,5.8,2.3,2.6,2.9,3.0,-1.5,3.1,4.4,7.6"
ROI_BATCH = "int64=0,1,1,0"


def dft(x, axis, inverse=False, onesided=False):
    """x [..., 1] real or [..., 2] complex -> [..., 2]."""
    z = x[..., 0] if x.shape[-1] == 1 else torch.view_as_complex(x.contiguous())
    if onesided:
        return [torch.view_as_real(torch.fft.rfft(z, dim=axis))]
    return [torch.view_as_real((torch.fft.ifft if inverse else torch.fft.fft)(z, dim=axis))]


def tensor_scatter(t, axis, circular=False):
    """Written from the definition: row s of update b lands at
    write_indices[b] + s (wrapped when circular, dropped outside else)."""
    past, upd = t["past"], t["upd"]
    out = past.clone()
    T, S = past.shape[axis], upd.shape[axis]
    for b in range(past.shape[0]):
        start = int(t["wi"][b]) if "wi" in t else 0
        for s in range(S):
            p = (start + s) % T if circular else start + s
            if 0 <= p < T:
                out[b].select(axis - 1, p).copy_(upd[b].select(axis - 1, s))
    return out


def axis_c(a):
    return {"axis": np.array(a, np.int64)}


# Rows with zeros: one, two, one at the start and at the end (the
# float= values are exact in both float types)
ZEROS = "float=1.3,0,-0.7,0,2.1,0.5,-1.2,0.9,0,1.1,0,1.4,-0.8,1.2,0.6"
# A singular 3 x 3 matrix (row 2 = row 0 + row 1), of rank 2
SINGULAR = "float=1.0,2.0,-1.0,0.5,-1.5,2.0,1.5,0.5,1.0"

CASES = [
    # MeanVarianceNormalization
    Case("MeanVarianceNormalization default axes", "MeanVarianceNormalization", [("x", (2, 3, 2, 3))],
         lambda t: [mvn(t["x"])], opset=13),
    Case("MeanVarianceNormalization axes=[1,-1]", "MeanVarianceNormalization", [("x", (2, 3, 4))],
         lambda t: [mvn(t["x"], (1, 2))], attrs={"axes": [1, -1]}, opset=13),
    # LRN
    Case("LRN size=3", "LRN", [("x", (2, 5, 3, 2))], lambda t: [lrn(t["x"], 3, 0.3, 0.75, 1.0)],
         attrs={"size": 3, "alpha": 0.3}, opset=13),
    Case("LRN size=4 beta bias", "LRN", [("x", (2, 6, 4))], lambda t: [lrn(t["x"], 4, 0.5, 0.6, 2.0)],
         attrs={"size": 4, "alpha": 0.5, "beta": 0.6, "bias": 2.0}, opset=13),
    Case("LRN size=2 rank 2", "LRN", [("x", (3, 4))], lambda t: [lrn(t["x"], 2, 0.8)],
         attrs={"size": 2, "alpha": 0.8}, opset=13),
    # CumProd
    Case("CumProd axis=1", "CumProd", [("x", (2, 4, 3))], lambda t: [cumprod(t["x"], 1)], consts=axis_c(1),
         opset=26),
    Case("CumProd zeros axis=-1", "CumProd", [("x", (3, 5), ZEROS)], lambda t: [cumprod(t["x"], 1)],
         consts=axis_c(-1), opset=26),
    Case("CumProd zeros axis=0", "CumProd", [("x", (5, 3), ZEROS)], lambda t: [cumprod(t["x"], 0)],
         consts=axis_c(0), opset=26),
    Case("CumProd zeros exclusive", "CumProd", [("x", (3, 5), ZEROS)],
         lambda t: [cumprod(t["x"], 1, exclusive=True)], consts=axis_c(1), attrs={"exclusive": 1}, opset=26),
    Case("CumProd zeros reverse", "CumProd", [("x", (3, 5), ZEROS)],
         lambda t: [cumprod(t["x"], 1, reverse=True)], consts=axis_c(1), attrs={"reverse": 1}, opset=26),
    Case("CumProd zeros exclusive reverse", "CumProd", [("x", (3, 5), ZEROS)],
         lambda t: [cumprod(t["x"], 1, True, True)], consts=axis_c(1), attrs={"exclusive": 1, "reverse": 1},
         opset=26),
    # Det
    Case("Det 3x3", "Det", [("x", (3, 3))], lambda t: [torch.linalg.det(t["x"])]),
    Case("Det batch 2x4x4", "Det", [("x", (2, 4, 4))], lambda t: [torch.linalg.det(t["x"])]),
    Case("Det 1x1 batch", "Det", [("x", (2, 3, 1, 1))], lambda t: [torch.linalg.det(t["x"])]),
    Case("Det singular", "Det", [("x", (3, 3), SINGULAR)], lambda t: [det3(t["x"])]),
    # CenterCropPad
    Case("CenterCropPad crop and pad", "CenterCropPad", [("x", (5, 4, 3))],
         lambda t: [center_crop_pad(t["x"], [2, 7, 3])], consts={"shape": np.array([2, 7, 3], np.int64)},
         opset=18),
    Case("CenterCropPad axes=[-1,0]", "CenterCropPad", [("x", (4, 3, 6))],
         lambda t: [center_crop_pad(t["x"], [3, 7], [-1, 0])], consts={"shape": np.array([3, 7], np.int64)},
         attrs={"axes": [-1, 0]}, opset=18),
    # GridSample, linear mode (normal grids: about a third of the taps fall outside X)
    Case("GridSample bilinear zeros opset=16", "GridSample", [("x", (2, 3, 4, 5)), ("grid", (2, 3, 2, 2))],
         lambda t: [F.grid_sample(t["x"], t["grid"], "bilinear", "zeros", align_corners=False)], opset=16),
    Case("GridSample bilinear border align_corners opset=16", "GridSample",
         [("x", (1, 2, 3, 4)), ("grid", (1, 4, 3, 2))],
         lambda t: [F.grid_sample(t["x"], t["grid"], "bilinear", "border", align_corners=True)],
         attrs={"padding_mode": "border", "align_corners": 1}, opset=16),
    Case("GridSample linear 3-D opset=20", "GridSample", [("x", (1, 2, 3, 4, 3)), ("grid", (1, 2, 3, 2, 3))],
         lambda t: [F.grid_sample(t["x"], t["grid"], "bilinear", "zeros", align_corners=False)], opset=20),
    Case("GridSample linear border 3-D align_corners opset=20", "GridSample",
         [("x", (2, 1, 2, 3, 4)), ("grid", (2, 2, 2, 2, 3))],
         lambda t: [F.grid_sample(t["x"], t["grid"], "bilinear", "border", align_corners=True)],
         attrs={"padding_mode": "border", "align_corners": 1}, opset=20),
    # RoiAlign, avg mode, with respect to X (torchvision's has no gradient for the boxes either)
    Case("RoiAlign adaptive half_pixel opset=16", "RoiAlign",
         [("x", (2, 3, 6, 7)), ("rois", (4, 4), ROIS), ("bi", (4,), ROI_BATCH)],
         lambda t: [roi_align(t, (2, 3))], attrs={"output_height": 2, "output_width": 3}, opset=16, wrt=["x"]),
    Case("RoiAlign sampling=2 scale output_half_pixel opset=16", "RoiAlign",
         [("x", (2, 2, 5, 6)), ("rois", (4, 4), ROIS), ("bi", (4,), ROI_BATCH)],
         lambda t: [roi_align(t, (3, 2), 0.75, 2, aligned=False)],
         attrs={"output_height": 3, "output_width": 2, "sampling_ratio": 2, "spatial_scale": 0.75,
                "coordinate_transformation_mode": "output_half_pixel"}, opset=16, wrt=["x"]),
    Case("RoiAlign adaptive opset=13", "RoiAlign",
         [("x", (2, 2, 6, 5)), ("rois", (4, 4), ROIS), ("bi", (4,), ROI_BATCH)],
         lambda t: [roi_align(t, (2, 2), 0.5, aligned=False)],
         attrs={"output_height": 2, "output_width": 2, "spatial_scale": 0.5}, opset=13, wrt=["x"]),
    # DFT (torch.fft)
    Case("DFT real axis=1 opset=17", "DFT", [("x", (2, 8, 1))], lambda t: dft(t["x"], 1), opset=17),
    Case("DFT complex inverse axis=0 opset=17", "DFT", [("x", (5, 3, 2))], lambda t: dft(t["x"], 0, inverse=True),
         attrs={"axis": 0, "inverse": 1}, opset=17),
    Case("DFT real onesided odd opset=17", "DFT", [("x", (3, 7, 1))], lambda t: dft(t["x"], 1, onesided=True),
         attrs={"onesided": 1}, opset=17),
    Case("DFT real onesided even opset=17", "DFT", [("x", (6, 2, 1))], lambda t: dft(t["x"], 0, onesided=True),
         attrs={"onesided": 1, "axis": 0}, opset=17),
    Case("DFT complex axis input opset=20", [helper.make_node("DFT", ["x", "", "axis"], ["y"])], [("x", (2, 4, 3, 2))],
         lambda t: dft(t["x"], 1), consts={"axis": np.array(1, np.int64)}, opset=20),
    # TensorScatter: the KV-cache write (both inputs differentiated)
    Case("TensorScatter linear axis=-2", "TensorScatter",
         [("past", (3, 2, 6, 4)), ("upd", (3, 2, 2, 4)), ("wi", (3,), "int64=0,3,5")],
         lambda t: [tensor_scatter(t, 2)], opset=24),
    Case("TensorScatter circular axis=1", "TensorScatter",
         [("past", (2, 5, 3)), ("upd", (2, 3, 3)), ("wi", (2,), "int64=4,-1")],
         lambda t: [tensor_scatter(t, 1, circular=True)], attrs={"axis": 1, "mode": "circular"}, opset=24),
    Case("TensorScatter no indices", "TensorScatter", [("past", (2, 4, 3)), ("upd", (2, 2, 3))],
         lambda t: [tensor_scatter(t, 1)], attrs={"axis": 1}, opset=24),
    # AffineGrid (size a constant)
    Case("AffineGrid 2-D", "AffineGrid", [("theta", (2, 2, 3))],
         lambda t: [F.affine_grid(t["theta"], [2, 3, 4, 5], align_corners=False)],
         consts={"size": np.array([2, 3, 4, 5], np.int64)}, opset=20),
    Case("AffineGrid 3-D align_corners", "AffineGrid", [("theta", (2, 3, 4))],
         lambda t: [F.affine_grid(t["theta"], [2, 1, 3, 2, 4], align_corners=True)],
         consts={"size": np.array([2, 1, 3, 2, 4], np.int64)}, attrs={"align_corners": 1}, opset=20),
    # Col2Im: torch's fold; no f64 lowering (float32 only)
    Case("Col2Im 3x2 blocks", "Col2Im", [("x", (2, 3 * 6, 12))],
         lambda t: [F.fold(t["x"], (5, 5), (3, 2))],
         consts={"image_shape": np.array([5, 5], np.int64), "block_shape": np.array([3, 2], np.int64)},
         opset=18, f64=False),
    Case("Col2Im strides dilations pads", "Col2Im", [("x", (1, 2 * 4, 9))],
         lambda t: [F.fold(t["x"], (6, 5), (2, 2), dilation=(2, 1), padding=(1, 1), stride=(2, 2))],
         consts={"image_shape": np.array([6, 5], np.int64), "block_shape": np.array([2, 2], np.int64)},
         attrs={"dilations": [2, 1], "pads": [1, 1, 1, 1], "strides": [2, 2]}, opset=18, f64=False),
    # RotaryEmbedding: no f64 lowering (float, float16, bfloat16 only); the caches are tables
    Case("RotaryEmbedding 4-D", "RotaryEmbedding", [("x", (2, 2, 3, 4)), ("cos", (2, 3, 2)), ("sin", (2, 3, 2))],
         lambda t: [rotary(t["x"], t["cos"], t["sin"])], opset=23, f64=False, wrt=["x"]),
    Case("RotaryEmbedding interleaved rotary_dim", "RotaryEmbedding",
         [("x", (1, 2, 3, 6)), ("cos", (1, 3, 2)), ("sin", (1, 3, 2))],
         lambda t: [rotary(t["x"], t["cos"], t["sin"], interleaved=True, rdim=4)],
         attrs={"interleaved": 1, "rotary_embedding_dim": 4}, opset=23, f64=False, wrt=["x"]),
    Case("RotaryEmbedding 3-D position_ids", "RotaryEmbedding",
         [("x", (2, 3, 8)), ("cos", (5, 2)), ("sin", (5, 2)), ("pos", (2, 3), "int64:0:5")],
         lambda t: [rotary(t["x"], t["cos"], t["sin"], pos=t["pos"], heads=2)], attrs={"num_heads": 2},
         opset=23, f64=False, wrt=["x"]),
]
