"""Gradient cases of the shape ops (src/ops/shape_grad.c).  Integer operands
(shapes, axes, indices) are initializers unless a case says otherwise;
cases at older opsets check the forms where an operand was an attribute."""
import numpy as np
import torch
import torch.nn.functional as F
from onnx import helper
from check_grads import Case

I64 = np.int64
BIG = np.iinfo(np.int64).max


def i64(*v):
    return np.array(v, I64)


def onnx_slice(x, starts, ends, axes=None, steps=None):
    """x sliced as ONNX does (Python's clamping), as gathers torch can
    differentiate (no negative steps in torch's slicing)."""
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a % x.dim()
        idx = np.arange(x.shape[a])[slice(int(s), int(e), int(st))]
        x = x.index_select(a, torch.tensor(idx.copy(), dtype=torch.int64))
    return x


def slice_case(name, shape, starts, ends, axes=None, steps=None, opset=17):
    consts = {"starts": i64(*starts), "ends": i64(*ends)}
    if axes is not None:
        consts["axes"] = i64(*axes)
    if steps is not None:
        consts["steps"] = i64(*steps)
    return Case(name, "Slice", [("x", shape)], lambda t: [onnx_slice(t["x"], starts, ends, axes, steps)],
                consts=consts, opset=opset)


def torch_gather(x, idx, axis):
    axis = axis % x.dim()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    return x[(slice(None),) * axis + (idx,)]


def d2s_dcr(x, b):
    n, c, h, w = x.shape
    y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


def s2d(x, b):
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def torch_pad(x, begin, end, value=0.0):
    pads = []
    for b, e in zip(reversed(begin), reversed(end)):
        pads += [b, e]
    return F.pad(x, pads, value=value)


def np_pad_gather(x, begin, end, mode):
    """x padded in reflect, edge or wrap mode as gathers torch can
    differentiate: numpy.pad of each axis's indices names the elements
    copied (negative pads crop first)."""
    np_mode = {"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode]
    for a, (b, e) in enumerate(zip(begin, end)):
        idx = np.arange(x.shape[a])[max(0, -b):x.shape[a] - max(0, -e)]
        idx = np.pad(idx, (max(0, b), max(0, e)), mode=np_mode)
        x = x.index_select(a, torch.tensor(idx, dtype=torch.int64))
    return x


def pad_mode_case(name, shape, begin, end, mode, opset=17, ort=False):
    if opset >= 11:
        kw = {"consts": {"pads": i64(*begin, *end)}, "attrs": {"mode": mode}}
    else:
        kw = {"attrs": {"mode": mode, "pads": list(begin) + list(end)}}
    return Case(f"Pad {name}", "Pad", [("x", shape)], lambda t: [np_pad_gather(t["x"], begin, end, mode)],
                opset=opset, ort=ort, **kw)


def pad_rt_case(name, shape, begin, end, mode="constant", opset=17, axes=None, value=None, axes_kind="int64",
                ort=True):
    """Pad whose pads are an input given at run time (the output's shape
    declared), over `axes` (a run-time input too) or every axis; the
    forward checked against onnxruntime too where it takes the pads."""
    full_b, full_e = list(begin), list(end)
    pads = list(begin) + list(end)
    if axes is not None:  # the pads name these axes only
        full_b, full_e = [0] * len(shape), [0] * len(shape)
        for k, a in enumerate(axes):
            full_b[a], full_e[a] = begin[k], end[k]
    out = [d + b + e for d, b, e in zip(shape, full_b, full_e)]
    ins = [("x", shape), ("pads", (len(pads),), "int64=" + ",".join(map(str, pads)))]
    names = ["x", "pads", ""]
    if value is not None:
        ins.append(("v", ()))
        names[2] = "v"
    if axes is not None:
        ins.append(("axes", (len(axes),), f"{axes_kind}=" + ",".join(map(str, axes))))
        names.append("axes")
    if mode == "constant":
        def fn(t):
            y = torch_pad(t["x"], full_b, full_e)
            if value is not None:  # where the value lands: the padding of zeros with ones
                y = y + t["v"] * torch_pad(torch.zeros(shape), full_b, full_e, 1.0)
            return [y]
    else:
        def fn(t):
            return [np_pad_gather(t["x"], full_b, full_e, mode)]
    node = helper.make_node("Pad", names, ["y"], mode=mode)
    return Case(f"Pad run-time pads {name}", [node], ins, fn, opset=opset, out_shapes={"y": out}, ort=ort)


def scatter(op, **attrs):
    return helper.make_node(op, ["x", "i", "u"], ["y"], **attrs)


def split3(t):
    return list(torch.split(t["x"], [1, 3, 2], dim=1))


CASES = [
    Case("Identity", "Identity", [("x", (3, 4))], lambda t: [t["x"]]),
    Case("Reshape -1 and 0", "Reshape", [("x", (2, 3, 4))], lambda t: [t["x"].reshape(2, 4, 3)],
         consts={"shape": i64(0, -1, 3)}),
    Case("Reshape chained", [helper.make_node("Reshape", ["x", "s1"], ["h"]),
                             helper.make_node("Reshape", ["h", "s2"], ["y"])],
         [("x", (2, 6))], lambda t: [t["x"].reshape(3, 4).reshape(12)],
         consts={"s1": i64(3, 4), "s2": i64(12)}),
    Case("Squeeze negative axis", "Squeeze", [("x", (2, 1, 3, 1))], lambda t: [t["x"].reshape(2, 1, 3)],
         consts={"axes": i64(-1)}),
    Case("Squeeze all (opset 11 attribute)", "Squeeze", [("x", (1, 3, 1, 2))], lambda t: [t["x"].reshape(3, 2)],
         opset=11),
    Case("Unsqueeze", "Unsqueeze", [("x", (3, 2))], lambda t: [t["x"].reshape(1, 3, 2, 1)],
         consts={"axes": i64(0, -1)}),
    Case("Unsqueeze (opset 11 attribute)", "Unsqueeze", [("x", (3, 2))], lambda t: [t["x"].reshape(3, 1, 2)],
         attrs={"axes": [1]}, opset=11),
    Case("Transpose perm", "Transpose", [("x", (2, 3, 4, 5))], lambda t: [t["x"].permute(2, 0, 3, 1)],
         attrs={"perm": [2, 0, 3, 1]}),
    Case("Transpose default (reversed)", "Transpose", [("x", (2, 3, 4))], lambda t: [t["x"].permute(2, 1, 0)]),
    slice_case("Slice basic", (5, 6), [1, 2], [4, 5]),
    slice_case("Slice negative axes and starts", (4, 5, 6), [-4, 1], [BIG, -1], axes=[-1, 0]),
    slice_case("Slice step 2", (7, 6), [1, 0], [7, 5], axes=[0, 1], steps=[2, 3]),
    slice_case("Slice negative step", (6, 5), [-1, 3], [-BIG, 0], axes=[0, 1], steps=[-1, -2]),
    slice_case("Slice step -3 partial", (2, 10), [8], [1], axes=[1], steps=[-3]),
    slice_case("Slice one element on a stepped axis", (4, 5), [2], [3], axes=[1], steps=[4]),
    Case("Slice (opset 9 attributes)", "Slice", [("x", (4, 6))], lambda t: [t["x"][1:3, -4:]],
         attrs={"starts": [1, -4], "ends": [3, 100], "axes": [0, 1]}, opset=9),
    Case("Expand", "Expand", [("x", (3, 1))], lambda t: [torch.broadcast_to(t["x"], (2, 3, 4))],
         consts={"shape": i64(2, 1, 4)}),
    Case("Expand (opset 11)", "Expand", [("x", (1, 4))], lambda t: [torch.broadcast_to(t["x"], (3, 4))],
         consts={"shape": i64(3, 1)}, opset=11),
    Case("Concat negative axis", "Concat", [("a", (2, 3)), ("b", (2, 1)), ("c", (2, 4))],
         lambda t: [torch.cat([t["a"], t["b"], t["c"]], dim=1)], attrs={"axis": -1}),
    Case("Concat same input twice", [helper.make_node("Concat", ["a", "a", "b"], ["y"], axis=0)],
         [("a", (2, 3)), ("b", (1, 3))], lambda t: [torch.cat([t["a"], t["a"], t["b"]], dim=0)]),
    Case("Concat (opset 9, Slice attributes)", "Concat", [("a", (2, 3)), ("b", (4, 3))],
         lambda t: [torch.cat([t["a"], t["b"]], dim=0)], attrs={"axis": 0}, opset=9),
    Case("Split sizes as input", [helper.make_node("Split", ["x", "s"], ["y0", "y1", "y2"], axis=1)],
         [("x", (2, 6))], split3, consts={"s": i64(1, 3, 2)}, outputs=["y0", "y1", "y2"]),
    Case("Split (opset 11 attribute), one output unused",
         [helper.make_node("Split", ["x"], ["y0", "unused", "y2"], axis=1, split=[1, 3, 2])],
         [("x", (2, 6))], lambda t: [split3(t)[0], split3(t)[2]], outputs=["y0", "y2"], opset=11),
    Case("Split num_outputs uneven (opset 18)",
         [helper.make_node("Split", ["x"], ["y0", "y1"], axis=-2, num_outputs=2)],
         [("x", (5, 2))], lambda t: list(torch.split(t["x"], [3, 2], dim=0)), outputs=["y0", "y1"], opset=18),
    Case("Gather axis 0 repeated and negative", "Gather", [("x", (5, 3))],
         lambda t: [torch_gather(t["x"], t["i"], 0)], consts={"i": i64(1, -1, 1, 4, 1)}),
    Case("Gather axis 1, 2-D indices", "Gather", [("x", (2, 4, 3))],
         lambda t: [torch_gather(t["x"], t["i"], 1)], consts={"i": np.array([[0, 3], [-1, 0], [2, 2]], I64)},
         attrs={"axis": 1}),
    Case("Gather last axis, scalar index", "Gather", [("x", (3, 4))],
         lambda t: [torch_gather(t["x"], t["i"], -1)], consts={"i": np.array(-2, I64)}, attrs={"axis": -1}),
    Case("Gather indices as an input", "Gather", [("x", (6, 2)), ("i", (7,), "int64:-6:6")],
         lambda t: [torch_gather(t["x"], t["i"], 0)]),
    Case("GatherElements repeated", "GatherElements", [("x", (3, 4)), ("i", (3, 5), "int64:-4:4")],
         lambda t: [torch.gather(t["x"], 1, torch.where(t["i"] < 0, t["i"] + 4, t["i"]))], attrs={"axis": 1}),
    Case("GatherElements axis 0", "GatherElements", [("x", (4, 3)), ("i", (2, 3), "int64:0:4")],
         lambda t: [torch.gather(t["x"], 0, t["i"])]),
    Case("GatherND", "GatherND", [("x", (3, 4, 2))], lambda t: [t["x"][t["i"][:, 0], t["i"][:, 1]]],
         consts={"i": np.array([[0, 1], [2, 3], [0, 1], [1, 0]], I64)}),
    Case("Tile", "Tile", [("x", (2, 1, 3))], lambda t: [t["x"].repeat(2, 4, 1)], consts={"r": i64(2, 4, 1)}),
    Case("Tile every dim", "Tile", [("x", (2, 3))], lambda t: [t["x"].repeat(3, 2)], consts={"r": i64(3, 2)}),
    Case("Tile (opset 11)", "Tile", [("x", (3,))], lambda t: [t["x"].repeat(2)], consts={"r": i64(2)}, opset=11),
    Case("Pad constant", "Pad", [("x", (2, 3, 4))], lambda t: [torch_pad(t["x"], [0, 1, 2], [1, 0, 3], 0.5)],
         consts={"pads": i64(0, 1, 2, 1, 0, 3), "v": np.array(0.5, np.float32)}),
    Case("Pad crops and pads", "Pad", [("x", (4, 5))], lambda t: [torch_pad(t["x"], [-1, 2], [1, -2])],
         consts={"pads": i64(-1, 2, 1, -2)}),
    Case("Pad value differentiated", [helper.make_node("Pad", ["x", "pads", "v"], ["y"])],
         [("x", (3, 2)), ("v", ())], lambda t: [torch_pad(t["x"], [1, 0], [2, 1], 0.0) +
                                                 t["v"] * torch_pad(torch.zeros(3, 2), [1, 0], [2, 1], 1.0)],
         consts={"pads": i64(1, 0, 2, 1)}),
    Case("Pad axes (opset 18)", "Pad", [("x", (2, 3, 4))], lambda t: [torch_pad(t["x"], [0, 0, 2], [0, 0, 1])],
         consts={"pads": i64(2, 1), "value": np.array(0.0, np.float32), "axes": i64(-1)}, opset=18),
    Case("Pad (opset 10 attribute)", "Pad", [("x", (3, 4))], lambda t: [torch_pad(t["x"], [1, 0], [0, 2])],
         attrs={"pads": [1, 0, 0, 2]}, opset=10),
    pad_mode_case("reflect", (2, 3, 4), [0, 1, 2], [1, 2, 3], "reflect", ort=True),
    pad_mode_case("edge", (2, 3, 4), [1, 0, 2], [0, 2, 3], "edge", ort=True),
    pad_mode_case("wrap (opset 19)", (3, 4), [1, 3], [2, 1], "wrap", opset=19, ort=True),
    pad_mode_case("wrap wider than the input", (2, 3), [0, 5], [3, 7], "wrap", opset=19),
    pad_mode_case("reflect wider than the input", (2, 3), [4, 5], [0, 4], "reflect"),
    pad_mode_case("reflect of one element", (1, 4), [2, 1], [3, 0], "reflect"),
    pad_mode_case("edge crops and pads", (4, 5), [-1, 2], [2, -2], "edge"),
    pad_mode_case("reflect (opset 10 attribute)", (3, 4), [1, 2], [2, 0], "reflect", opset=10),
    pad_rt_case("constant", (2, 3, 4), [0, 1, 2], [1, 0, 3]),
    pad_rt_case("crop and pad, value differentiated", (4, 5), [-1, 2], [1, -2], value=True),
    pad_rt_case("reflect", (2, 3, 4), [0, 1, 2], [1, 2, 3], "reflect"),
    pad_rt_case("edge crops and pads", (4, 5), [-1, 2], [2, -2], "edge"),
    pad_rt_case("wrap wider than the input (opset 19)", (2, 3), [0, 5], [3, 7], "wrap", opset=19, ort=False),
    pad_rt_case("reflect wider than the input", (2, 3), [4, 5], [0, 4], "reflect", ort=False),
    pad_rt_case("reflect of one element", (1, 4), [2, 1], [3, 0], "reflect", ort=False),
    pad_rt_case("and axes, reflect (opset 18)", (3, 3, 4), [1, 2], [1, 0], "reflect", opset=18, axes=[-1, 0]),
    pad_rt_case("and int32 axes, constant (opset 18)", (2, 3, 4), [2, -1], [1, 1], opset=18, axes=[1, -1],
                value=True, axes_kind="int32"),
    Case("DepthToSpace DCR", "DepthToSpace", [("x", (2, 8, 2, 3))], lambda t: [d2s_dcr(t["x"], 2)],
         attrs={"blocksize": 2}),
    Case("DepthToSpace CRD", "DepthToSpace", [("x", (1, 8, 3, 2))], lambda t: [F.pixel_shuffle(t["x"], 2)],
         attrs={"blocksize": 2, "mode": "CRD"}),
    Case("SpaceToDepth", "SpaceToDepth", [("x", (2, 2, 4, 6))], lambda t: [s2d(t["x"], 2)],
         attrs={"blocksize": 2}),
    Case("ScatterElements none, distinct constant indices", [scatter("ScatterElements", axis=1)],
         [("x", (3, 4)), ("u", (3, 2))],
         lambda t: [torch.scatter(t["x"], 1, t["i"], t["u"])], consts={"i": np.array([[0, 3], [2, 1], [1, 2]], I64)}),
    Case("ScatterElements none, negative index, axis 0", [scatter("ScatterElements")], [("x", (3, 4)), ("u", (1, 4))],
         lambda t: [torch.scatter(t["x"], 0, t["i"] % 3, t["u"])], consts={"i": np.array([[-1, 0, 2, -3]], I64)}),
    Case("ScatterElements add, repeated indices", "ScatterElements",
         [("x", (4, 3)), ("i", (5, 3), "int64:0:4"), ("u", (5, 3))],
         lambda t: [torch.scatter_add(t["x"], 0, t["i"], t["u"])], attrs={"reduction": "add"}, opset=18),
    Case("Scatter (opset 10), data only", [scatter("Scatter", axis=1)], [("x", (3, 4)), ("u", (3, 1))],
         lambda t: [torch.scatter(t["x"], 1, t["i"], t["u"])], consts={"i": np.array([[3], [0], [3]], I64)},
         opset=10, wrt=["x"]),
    Case("ScatterND none", [scatter("ScatterND")], [("x", (4, 3, 2)), ("u", (2, 2))],
         lambda t: [t["x"].index_put((t["i"][:, 0], t["i"][:, 1]), t["u"])],
         consts={"i": np.array([[1, 2], [3, 0]], I64)}),
    Case("ScatterND add, repeated", "ScatterND", [("x", (4, 3)), ("i", (5, 1), "int64:0:4"), ("u", (5, 3))],
         lambda t: [t["x"].index_put((t["i"][:, 0],), t["u"], accumulate=True)], attrs={"reduction": "add"},
         opset=16),
    Case("Trilu upper k", "Trilu", [("x", (2, 4, 5))], lambda t: [torch.triu(t["x"], 1)],
         consts={"k": i64(1).reshape(())}),
    Case("Trilu lower", "Trilu", [("x", (4, 3))], lambda t: [torch.tril(t["x"])], attrs={"upper": 0}),
    Case("EyeLike plus x", [helper.make_node("EyeLike", ["x"], ["e"]), helper.make_node("Add", ["e", "x"], ["y"])],
         [("x", (3, 4))], lambda t: [torch.eye(3, 4) + t["x"]]),
    Case("Shape ops chained", [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
                               helper.make_node("Slice", ["t", "s", "e", "a", "st"], ["u"]),
                               helper.make_node("Concat", ["u", "t"], ["y"], axis=0)],
         [("x", (3, 4))], lambda t: [torch.cat([onnx_slice(t["x"].T, [3], [-BIG], [0], [-2]), t["x"].T], 0)],
         consts={"s": i64(3), "e": i64(-BIG), "a": i64(0), "st": i64(-2)}),
]
