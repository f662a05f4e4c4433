"""Gradient cases of Conv, ConvTranspose and the pools (src/ops/nn_conv_grad.c,
src/ops/nn_pool_grad.c).  The PyTorch references apply ONNX's pads
themselves (F.pad, then an unpadded op), so asymmetric pads and auto_pad
are checked against PyTorch as well."""
import math

import torch
import torch.nn.functional as F
from check_grads import Case
from onnx import helper

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
MAXP = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def torch_pads(pb, pe):
    """ONNX's begin/end pads per spatial dim as F.pad's list (last dim first)."""
    out = []
    for b, e in zip(reversed(pb), reversed(pe)):
        out += [b, e]
    return out


def resolve(auto_pad, ins, k, s, d, pads):
    """ONNX's window padding: (begin, end) per spatial dim."""
    nd = len(ins)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pb, pe = [], []
        for i in range(nd):
            ek = (k[i] - 1) * d[i] + 1
            total = max(0, (math.ceil(ins[i] / s[i]) - 1) * s[i] + ek - ins[i])
            lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            pb.append(lo)
            pe.append(total - lo)
        return pb, pe
    if auto_pad == "VALID" or pads is None:
        return [0] * nd, [0] * nd
    return list(pads[:nd]), list(pads[nd:])


def conv(name, x, w, strides=None, pads=None, dilations=None, group=1, bias=False, auto_pad=None):
    nd = len(x) - 2
    s, d = strides or [1] * nd, dilations or [1] * nd
    pb, pe = resolve(auto_pad, x[2:], w[2:], s, d, pads)
    attrs = {"group": group}
    for key, v in (("strides", strides), ("pads", pads), ("dilations", dilations), ("auto_pad", auto_pad)):
        if v is not None:
            attrs[key] = v
    ins = [("x", x), ("w", w)] + ([("b", (w[0],))] if bias else [])

    def fn(t):
        xp = F.pad(t["x"], torch_pads(pb, pe))
        return [CONV[nd](xp, t["w"], t["b"] if bias else None, stride=s, dilation=d, groups=group)]

    return Case(f"Conv {name}", "Conv", ins, fn, attrs=attrs)


def conv_transpose(name, x, w, strides=None, pads=None, dilations=None, group=1, bias=False, output_padding=None,
                   output_shape=None):
    nd = len(x) - 2
    s, d = strides or [1] * nd, dilations or [1] * nd
    op = output_padding or [0] * nd
    full = [s[i] * (x[2 + i] - 1) + op[i] + (w[2 + i] - 1) * d[i] + 1 for i in range(nd)]
    if output_shape is not None:  # NOTSET puts the larger half of the cut first
        tot = [max(0, full[i] - output_shape[i]) for i in range(nd)]
        pb = [t - t // 2 for t in tot]
        pe = [t // 2 for t in tot]
    else:
        pb, pe = resolve(None, x[2:], w[2:], s, d, pads)
    attrs = {"group": group}
    for key, v in (("strides", strides), ("pads", pads), ("dilations", dilations),
                   ("output_padding", output_padding), ("output_shape", output_shape)):
        if v is not None:
            attrs[key] = v
    ins = [("x", x), ("w", w)] + ([("b", (w[1] * group,))] if bias else [])

    def fn(t):
        y = CONVT[nd](t["x"], t["w"], t["b"] if bias else None, stride=s, dilation=d, groups=group,
                      output_padding=op)
        sl = [slice(None), slice(None)] + [slice(pb[i], full[i] - pe[i]) for i in range(nd)]
        return [y[tuple(sl)]]

    return Case(f"ConvTranspose {name}", "ConvTranspose", ins, fn, attrs=attrs)


def max_pool(name, x, k, strides=None, pads=None, dilations=None, ceil_mode=0, indices=False):
    nd = len(x) - 2
    s, d = strides or [1] * nd, dilations or [1] * nd
    p = pads[:nd] if pads else [0] * nd
    assert not pads or pads[:nd] == pads[nd:], "torch pads symmetrically"
    attrs = {"kernel_shape": k, "ceil_mode": ceil_mode}
    for key, v in (("strides", strides), ("pads", pads), ("dilations", dilations)):
        if v is not None:
            attrs[key] = v

    def fn(t):
        return [MAXP[nd](t["x"], k, s, p, d, ceil_mode=bool(ceil_mode))]

    return Case(f"MaxPool {name}", "MaxPool", [("x", x)], fn, attrs=attrs)


def avg_pool(name, x, k, strides=None, pads=None, dilations=None, ceil_mode=0, count_include_pad=0, opset=19):
    """The reference: window sums (a depthwise conv of ones) over the
    padded input, divided by the counted taps (the same conv over a mask:
    ones in the input, and in the pads with count_include_pad; never in
    the ceil_mode overhang)."""
    nd = len(x) - 2
    s, d = strides or [1] * nd, dilations or [1] * nd
    pb, pe = resolve(None, x[2:], k, s, d, pads)
    over = []
    for i in range(nd):
        ek = (k[i] - 1) * d[i] + 1
        span = x[2 + i] + pb[i] + pe[i] - ek
        out = (-(-span // s[i]) if ceil_mode else span // s[i]) + 1
        if ceil_mode and (out - 1) * s[i] >= x[2 + i] + pb[i]:
            out -= 1
        over.append(max(0, (out - 1) * s[i] + ek - (x[2 + i] + pb[i] + pe[i])))
    attrs = {"kernel_shape": k, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    for key, v in (("strides", strides), ("pads", pads), ("dilations", dilations)):
        if v is not None:
            attrs[key] = v

    def fn(t):
        xx = t["x"]
        c = xx.shape[1]
        ones = torch.ones((c, 1) + tuple(k), dtype=xx.dtype)
        full = torch_pads(pb, [pe[i] + over[i] for i in range(nd)])
        sums = CONV[nd](F.pad(xx, full), ones, stride=s, dilation=d, groups=c)
        m = torch.ones_like(xx)
        if count_include_pad:
            m = F.pad(F.pad(m, torch_pads(pb, pe), value=1.0), torch_pads([0] * nd, over))
        else:
            m = F.pad(m, full)
        return [sums / CONV[nd](m, ones, stride=s, dilation=d, groups=c)]

    return Case(f"AveragePool {name}", "AveragePool", [("x", x)], fn, attrs=attrs, opset=opset)


def cnn(t):
    h = F.max_pool2d(F.relu(F.conv2d(t["x"], t["w1"], t["b1"], padding=1)), 2)
    h = F.avg_pool2d(F.conv2d(h, t["w2"], padding=1, groups=2), 2)
    return [h.mean(dim=(2, 3), keepdim=True)]


CASES = [
    # Conv
    conv("2d plain", (2, 3, 5, 6), (4, 3, 3, 3)),
    conv("2d bias", (2, 3, 5, 5), (4, 3, 3, 2), bias=True),
    conv("2d strides 2 (not dividing)", (1, 2, 7, 8), (3, 2, 3, 3), strides=[2, 3]),
    conv("2d pads asymmetric", (2, 2, 5, 6), (3, 2, 3, 3), pads=[1, 0, 2, 1]),
    conv("2d dilations", (1, 2, 8, 7), (2, 2, 3, 2), dilations=[2, 3], pads=[1, 1, 1, 1]),
    conv("2d strides pads dilations bias", (2, 3, 9, 8), (4, 3, 3, 3), strides=[2, 2], pads=[2, 1, 0, 2],
         dilations=[2, 1], bias=True),
    conv("2d group 2", (2, 4, 6, 6), (6, 2, 3, 3), group=2, pads=[1, 1, 1, 1], bias=True),
    conv("2d group 3 strides", (2, 6, 7, 7), (3, 2, 2, 3), group=3, strides=[2, 2]),
    conv("2d depthwise", (2, 4, 6, 5), (4, 1, 3, 3), group=4, pads=[1, 1, 1, 1]),
    conv("2d depthwise multiplier 2", (1, 3, 6, 6), (6, 1, 3, 3), group=3, strides=[2, 1], bias=True),
    conv("2d SAME_UPPER strides", (1, 2, 7, 6), (3, 2, 3, 4), strides=[2, 2], auto_pad="SAME_UPPER"),
    conv("2d SAME_LOWER", (2, 2, 5, 6), (2, 2, 4, 3), auto_pad="SAME_LOWER"),
    conv("2d VALID", (1, 3, 6, 6), (2, 3, 3, 3), strides=[2, 2], auto_pad="VALID"),
    conv("2d 1x1", (2, 5, 4, 4), (3, 5, 1, 1)),
    conv("1d", (2, 3, 11), (4, 3, 3), strides=[2], pads=[1, 2], bias=True),
    conv("1d dilations group", (2, 4, 12), (4, 2, 3), dilations=[3], group=2),
    conv("3d", (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), strides=[1, 2, 1], pads=[1, 0, 0, 0, 1, 1], bias=True),
    conv("3d depthwise dilations", (1, 3, 5, 5, 6), (3, 1, 2, 2, 3), group=3, dilations=[2, 1, 2]),
    # ConvTranspose
    conv_transpose("2d plain", (2, 3, 4, 5), (3, 2, 3, 3)),
    conv_transpose("2d strides pads bias", (1, 2, 4, 4), (2, 3, 3, 3), strides=[2, 2], pads=[1, 0, 1, 1], bias=True),
    conv_transpose("2d output_padding dilations", (2, 2, 3, 4), (2, 2, 2, 3), strides=[2, 3], dilations=[2, 1],
                   output_padding=[1, 2]),
    conv_transpose("2d group 2", (1, 4, 4, 3), (4, 3, 3, 2), group=2, strides=[2, 1]),
    conv_transpose("2d output_shape bias", (1, 2, 3, 4), (2, 2, 3, 3), strides=[2, 2], output_shape=[6, 8], bias=True),
    conv_transpose("1d", (2, 3, 6), (3, 2, 4), strides=[3], pads=[1, 2]),
    conv_transpose("3d", (1, 2, 3, 2, 3), (2, 2, 2, 2, 2), strides=[2, 1, 2]),
    # MaxPool
    max_pool("2d 2x2", (2, 3, 6, 6), [2, 2], strides=[2, 2]),
    max_pool("2d overlapping", (1, 2, 7, 6), [3, 3], strides=[1, 2]),
    max_pool("2d pads", (2, 2, 6, 5), [3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    max_pool("2d dilations", (1, 2, 8, 8), [2, 2], dilations=[2, 3]),
    max_pool("2d ceil_mode", (1, 2, 7, 6), [3, 2], strides=[2, 2], ceil_mode=1),
    max_pool("2d ceil_mode pads", (1, 2, 6, 7), [3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    max_pool("1d", (2, 3, 9), [3], strides=[2], pads=[1, 1]),
    max_pool("3d", (1, 2, 4, 5, 4), [2, 2, 2], strides=[2, 1, 2]),
    Case("MaxPool with Indices", [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 3], strides=[2, 2],
                                                  pads=[1, 1, 1, 1])],
         [("x", (2, 2, 6, 5))], lambda t: [F.max_pool2d(t["x"], 3, 2, 1)]),
    Case("MaxPool with column-major Indices",
         [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 3], strides=[1, 2], storage_order=1)],
         [("x", (1, 3, 5, 7))], lambda t: [F.max_pool2d(t["x"], (2, 3), (1, 2))]),
    # AveragePool
    avg_pool("2d 2x2", (2, 3, 6, 6), [2, 2], strides=[2, 2]),
    avg_pool("2d overlapping", (1, 2, 7, 6), [3, 2], strides=[1, 2]),
    avg_pool("2d pads exclude", (2, 2, 5, 6), [3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    avg_pool("2d pads include", (2, 2, 5, 6), [3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
    avg_pool("2d asymmetric pads exclude", (1, 2, 6, 5), [3, 2], pads=[2, 0, 0, 1]),
    avg_pool("2d asymmetric pads include", (1, 2, 6, 5), [3, 2], pads=[2, 0, 0, 1], count_include_pad=1),
    avg_pool("2d ceil_mode", (1, 2, 7, 6), [3, 2], strides=[2, 2], ceil_mode=1),
    avg_pool("2d ceil_mode pads include", (1, 2, 6, 7), [3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
             count_include_pad=1),
    avg_pool("2d dilations pads", (1, 2, 8, 7), [2, 2], dilations=[2, 2], pads=[1, 1, 0, 1]),
    avg_pool("1d pads", (2, 3, 9), [4], strides=[2], pads=[1, 2]),
    avg_pool("3d", (1, 2, 4, 4, 5), [2, 2, 3], strides=[2, 2, 1], pads=[0, 1, 1, 0, 0, 1]),
    # global pools
    Case("GlobalAveragePool 2d", "GlobalAveragePool", [("x", (2, 3, 4, 5))],
         lambda t: [t["x"].mean(dim=(2, 3), keepdim=True)]),
    Case("GlobalAveragePool 1d", "GlobalAveragePool", [("x", (2, 3, 7))],
         lambda t: [t["x"].mean(dim=2, keepdim=True)]),
    Case("GlobalMaxPool 2d", "GlobalMaxPool", [("x", (2, 3, 4, 5))],
         lambda t: [t["x"].amax(dim=(2, 3), keepdim=True)]),
    Case("GlobalMaxPool 3d", "GlobalMaxPool", [("x", (1, 2, 3, 2, 4))],
         lambda t: [t["x"].amax(dim=(2, 3, 4), keepdim=True)]),
    # a small CNN whose weights are inputs: gradients through a chain of rules
    Case("CNN Conv-Relu-MaxPool-Conv-AveragePool-GlobalAveragePool", [
        helper.make_node("Conv", ["x", "w1", "b1"], ["h1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MaxPool", ["h2"], ["h3"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["h3", "w2"], ["h4"], group=2, pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["h4"], ["h5"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["h5"], ["y"]),
    ], [("x", (2, 3, 8, 8)), ("w1", (4, 3, 3, 3)), ("b1", (4,), "away"), ("w2", (4, 2, 3, 3))], cnn),
]
