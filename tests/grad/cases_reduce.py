"""Gradient cases of the reductions, Softmax/LogSoftmax, CumSum, TopK, the
normalizations and the losses (src/ops/reduce_grad.c).  Random normal
inputs have no ties, so ReduceMax/ReduceMin/TopK have one winner."""
import numpy as np
import torch
import torch.nn.functional as F
from check_grads import Case
from onnx import helper

S = (2, 3, 4)


def axes_c(*axes):
    return {"axes": np.array(axes, np.int64)}


def red(op, fn, axes=None, keep=1, opset=18, kind=None, shape=S, noop=None):
    """A Reduce case: axes as the input (opset 18, 13 for ReduceSum) or as
    the attribute (earlier opsets); fn(x, dims, keep) in torch."""
    as_input = opset >= (13 if op == "ReduceSum" else 18)
    attrs = {"keepdims": keep}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    consts = {}
    if axes is not None:
        if as_input:
            consts = axes_c(*axes)
        else:
            attrs["axes"] = list(axes)
    dims = tuple(range(len(shape))) if not axes else tuple(axes)
    name = f"{op} axes={axes} keepdims={keep} opset={opset}" + (f" noop={noop}" if noop is not None else "")
    return Case(name, op, [("x", shape, kind)], lambda t: [fn(t["x"], dims, bool(keep))], attrs=attrs,
                consts=consts, opset=opset)


def prod(x, dims, keep):
    for d in sorted((d % x.dim() for d in dims), reverse=True):
        x = x.prod(dim=d, keepdim=keep)
    return x


def softmax12(fn, x, axis):  # the 2-D view of opset < 13
    return fn(x.reshape(int(np.prod(x.shape[:axis])), -1), dim=1).reshape(x.shape)


def cumsum(x, axis, exclusive, reverse):
    if reverse:
        x = x.flip(axis)
    y = x.cumsum(axis) - (x if exclusive else 0)
    return y.flip(axis) if reverse else y


def norm(x, dims, eps, centre=True):
    xc = x - x.mean(dim=dims, keepdim=True) if centre else x
    return xc / torch.sqrt((xc * xc).mean(dim=dims, keepdim=True) + eps)


def batchnorm(t, eps=1e-5):
    v = lambda p: t[p][None, :, None]  # noqa: E731
    return (t["x"] - v("mean")) * v("scale") / torch.sqrt(v("var") + eps) + v("b")


def groupnorm18(t, groups, eps=1e-5):  # scale and bias per group
    x = t["x"]
    xr = norm(x.reshape(x.shape[0], groups, -1), (2,), eps)
    return (xr * t["scale"][None, :, None] + t["b"][None, :, None]).reshape(x.shape)


def loss(op, shape, fn, attrs=None, weight=None, lo=0, opset=17, outputs=("y",)):
    n, c = shape[0], shape[1]
    labels = (n,) + tuple(shape[2:])
    consts = {"w": np.linspace(0.5, 2.0, c)} if weight else {}
    node_outs = list(outputs)
    return Case(f"{op} {shape} {attrs or {}} weights={bool(weight)} opset={opset} outputs={len(outputs)}",
                [helper.make_node(op, ["x", "t"] + list(consts), node_outs, **(attrs or {}))],
                [("x", shape), ("t", labels, f"int64:{lo}:{c}")], fn, consts=consts, opset=opset,
                outputs=list(outputs))


def ce(t, **kw):
    return F.cross_entropy(t["x"], t["t"], weight=t.get("w"), **kw)


def nll(t, **kw):
    return F.nll_loss(t["x"], t["t"], weight=t.get("w"), **kw)


LN = [helper.make_node("LayerNormalization", ["x", "scale", "b"], ["y", "mean", "istd"], axis=1, epsilon=1e-3)]
TOPK = [helper.make_node("TopK", ["x", "k"], ["y", "idx"], axis=1)]
TOPK_SMALL = [helper.make_node("TopK", ["x", "k"], ["y", "idx"], largest=0)]
PROD_ZERO = [helper.make_node("Mul", ["x", "m"], ["z"]), helper.make_node("ReduceProd", ["z", "axes"], ["y"], keepdims=0)]
ZERO_MASK = np.array([[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]], np.float64)

CASES = [
    # Reduce*: axes as input and as attribute, keepdims 0/1, negative axes
    red("ReduceSum", lambda x, d, k: x.sum(dim=d, keepdim=k), axes=(-1, 0), keep=0, opset=13),
    red("ReduceSum", lambda x, d, k: x.sum(dim=d, keepdim=k), axes=(1,), keep=1, opset=11),
    red("ReduceSum", lambda x, d, k: x.sum(dim=d, keepdim=k), keep=0, opset=13),
    red("ReduceSum", lambda x, d, k: x, axes=(), opset=13, noop=1),
    red("ReduceMean", lambda x, d, k: x.mean(dim=d, keepdim=k), axes=(0, 2), keep=1, opset=18),
    red("ReduceMean", lambda x, d, k: x.mean(dim=d, keepdim=k), axes=(-2,), keep=0, opset=13),
    red("ReduceMax", lambda x, d, k: x.amax(dim=d, keepdim=k), axes=(1,), keep=0),
    red("ReduceMax", lambda x, d, k: x.amax(dim=d, keepdim=k), keep=1, opset=17),
    red("ReduceMin", lambda x, d, k: x.amin(dim=d, keepdim=k), axes=(-1, 1), keep=1),
    red("ReduceProd", prod, axes=(1,), keep=0, kind="positive"),
    red("ReduceProd", prod, axes=(0, -1), keep=1, opset=17),
    Case("ReduceProd with zeros", PROD_ZERO, [("x", (3, 4))],
         lambda t: [(t["x"] * t["m"]).prod(dim=1)], consts={"m": ZERO_MASK, **axes_c(1)}, opset=18),
    red("ReduceL1", lambda x, d, k: x.abs().sum(dim=d, keepdim=k), axes=(2,), keep=0, kind="away"),
    red("ReduceL2", lambda x, d, k: torch.sqrt((x * x).sum(dim=d, keepdim=k)), axes=(0, 1), keep=1, opset=13),
    red("ReduceSumSquare", lambda x, d, k: (x * x).sum(dim=d, keepdim=k), axes=(-1,), keep=0),
    red("ReduceLogSumExp", lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k), axes=(1, 2), keep=0),
    red("ReduceLogSumExp", lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k), axes=(0,), keep=1, opset=13),
    red("ReduceLogSum", lambda x, d, k: torch.log(x.sum(dim=d, keepdim=k)), axes=(-1,), keep=1, kind="positive"),
    # Softmax, LogSoftmax: one axis from opset 13, the 2-D view before
    Case("Softmax axis=1 opset=13", "Softmax", [("x", S)], lambda t: [torch.softmax(t["x"], 1)],
         attrs={"axis": 1}, opset=13),
    Case("Softmax default axis opset=11", "Softmax", [("x", S)],
         lambda t: [softmax12(torch.softmax, t["x"], 1)], opset=11),
    Case("LogSoftmax axis=-1 opset=13", "LogSoftmax", [("x", S)], lambda t: [torch.log_softmax(t["x"], -1)],
         attrs={"axis": -1}, opset=13),
    Case("LogSoftmax axis=1 opset=12", "LogSoftmax", [("x", S)],
         lambda t: [softmax12(torch.log_softmax, t["x"], 1)], attrs={"axis": 1}, opset=12),
    # CumSum
    Case("CumSum axis=1", "CumSum", [("x", S)], lambda t: [cumsum(t["x"], 1, False, False)],
         consts={"axis": np.array(1, np.int64)}),
    Case("CumSum axis=-1 exclusive reverse", "CumSum", [("x", S)], lambda t: [cumsum(t["x"], 2, True, True)],
         consts={"axis": np.array(-1, np.int64)}, attrs={"exclusive": 1, "reverse": 1}),
    Case("CumSum axis=0 exclusive", "CumSum", [("x", S)], lambda t: [cumsum(t["x"], 0, True, False)],
         consts={"axis": np.array(0, np.int64)}, attrs={"exclusive": 1}),
    # TopK
    Case("TopK k=2 axis=1", TOPK, [("x", (3, 5, 2))], lambda t: [torch.topk(t["x"], 2, dim=1).values],
         consts={"k": np.array([2], np.int64)}),
    Case("TopK smallest k=3", TOPK_SMALL, [("x", (4, 6))],
         lambda t: [torch.topk(t["x"], 3, dim=-1, largest=False).values], consts={"k": np.array([3], np.int64)}),
    # normalizations
    Case("LayerNormalization axis=-1", "LayerNormalization", [("x", S), ("scale", (4,)), ("b", (4,))],
         lambda t: [F.layer_norm(t["x"], (4,), t["scale"], t["b"])]),
    Case("LayerNormalization axis=1 with Mean/InvStdDev", LN, [("x", S), ("scale", (1, 3, 4)), ("b", (3, 4))],
         lambda t: [F.layer_norm(t["x"], (3, 4), t["scale"][0], t["b"], eps=1e-3)]),
    Case("RMSNormalization axis=-1", "RMSNormalization", [("x", S), ("scale", (4,))],
         lambda t: [norm(t["x"], (2,), 1e-5, centre=False) * t["scale"]], opset=23),
    Case("RMSNormalization axis=-2", "RMSNormalization", [("x", S), ("scale", (3, 4))],
         lambda t: [norm(t["x"], (1, 2), 1e-2, centre=False) * t["scale"]], attrs={"axis": -2, "epsilon": 1e-2},
         opset=23),
    Case("BatchNormalization inference", "BatchNormalization",
         [("x", S), ("scale", (3,)), ("b", (3,)), ("mean", (3,)), ("var", (3,), "positive")],
         lambda t: [batchnorm(t)]),
    Case("BatchNormalization inference opset=9 (x only)", "BatchNormalization",
         [("x", (2, 3, 2, 2)), ("scale", (3,)), ("b", (3,)), ("mean", (3,)), ("var", (3,), "positive")],
         lambda t: [(t["x"] - t["mean"][:, None, None]) * t["scale"][:, None, None]
                    / torch.sqrt(t["var"][:, None, None] + 1e-3) + t["b"][:, None, None]],
         attrs={"epsilon": 1e-3}, opset=9, wrt=["x"]),
    # spatial=0 (opset 7; hodu reads BatchNormalization from 7): every
    # parameter per channel and position
    Case("BatchNormalization spatial=0 opset=7", "BatchNormalization",
         [("x", (2, 3, 2, 2)), ("scale", (3, 2, 2)), ("b", (3, 2, 2)), ("mean", (3, 2, 2)),
          ("var", (3, 2, 2), "positive")],
         lambda t: [(t["x"] - t["mean"]) * t["scale"] / torch.sqrt(t["var"] + 1e-3) + t["b"]],
         attrs={"epsilon": 1e-3, "spatial": 0}, opset=7),
    Case("BatchNormalization spatial=0 opset=7, 3-D", "BatchNormalization",
         [("x", (4, 2, 3)), ("scale", (2, 3)), ("b", (2, 3)), ("mean", (2, 3)), ("var", (2, 3), "positive")],
         lambda t: [(t["x"] - t["mean"]) * t["scale"] / torch.sqrt(t["var"] + 1e-5) + t["b"]],
         attrs={"spatial": 0}, opset=7),
    Case("BatchNormalization training", "BatchNormalization",
         [("x", S), ("scale", (3,)), ("b", (3,)), ("mean", (3,)), ("var", (3,), "positive")],
         lambda t: [F.batch_norm(t["x"], None, None, t["scale"], t["b"], training=True, eps=1e-5)],
         attrs={"training_mode": 1}, opset=15),
    Case("BatchNormalization training, running statistics unread",
         [helper.make_node("BatchNormalization", ["x", "scale", "b", "mean", "var"], ["y", "rm", "rv"],
                           training_mode=1, epsilon=1e-2, momentum=0.8)],
         [("x", (4, 2, 3, 2)), ("scale", (2,)), ("b", (2,)), ("mean", (2,)), ("var", (2,), "positive")],
         lambda t: [F.batch_norm(t["x"], None, None, t["scale"], t["b"], training=True, eps=1e-2)], opset=15),
    Case("InstanceNormalization", "InstanceNormalization", [("x", (2, 3, 5)), ("scale", (3,)), ("b", (3,))],
         lambda t: [F.instance_norm(t["x"], weight=t["scale"], bias=t["b"])]),
    Case("InstanceNormalization 2-D", "InstanceNormalization", [("x", (2, 3, 2, 3)), ("scale", (3,)), ("b", (3,))],
         lambda t: [F.instance_norm(t["x"], weight=t["scale"], bias=t["b"], eps=1e-2)], attrs={"epsilon": 1e-2}),
    Case("GroupNormalization per channel opset=21", "GroupNormalization",
         [("x", (2, 4, 3)), ("scale", (4,)), ("b", (4,))],
         lambda t: [F.group_norm(t["x"], 2, t["scale"], t["b"])], attrs={"num_groups": 2}, opset=21),
    Case("GroupNormalization per group opset=18", "GroupNormalization",
         [("x", (2, 6, 2)), ("scale", (3,)), ("b", (3,))],
         lambda t: [groupnorm18(t, 3)], attrs={"num_groups": 3}, opset=18),
    Case("LpNormalization p=2", "LpNormalization", [("x", S)], lambda t: [F.normalize(t["x"], p=2.0, dim=-1)]),
    Case("LpNormalization p=1 axis=0", "LpNormalization", [("x", S, "away")],
         lambda t: [F.normalize(t["x"], p=1.0, dim=0)], attrs={"p": 1, "axis": 0}),
    # losses (labels are int64 inputs, not differentiated; weights are constants).  The draws of
    # the ignore_index cases hold the ignored class (the seed is the case name: renaming one redraws)
    loss("SoftmaxCrossEntropyLoss", (4, 5), lambda t: [ce(t)]),
    loss("SoftmaxCrossEntropyLoss", (6, 4), lambda t: [ce(t, ignore_index=2)], {"ignore_index": 2}, weight=True),
    loss("SoftmaxCrossEntropyLoss", (6, 4), lambda t: [ce(t, reduction="sum", ignore_index=-1)],
         {"reduction": "sum", "ignore_index": -1}, lo=-1),
    loss("SoftmaxCrossEntropyLoss", (2, 4, 3), lambda t: [ce(t, reduction="none")], {"reduction": "none"},
         weight=True, opset=12),
    loss("SoftmaxCrossEntropyLoss", (2, 4, 3), lambda t: [ce(t, ignore_index=0)], {"ignore_index": 0}, opset=13),
    loss("SoftmaxCrossEntropyLoss", (3, 5), lambda t: [ce(t), torch.log_softmax(t["x"], 1)],
         outputs=("y", "log_prob")),
    loss("NegativeLogLikelihoodLoss", (4, 5), lambda t: [nll(t)]),
    loss("NegativeLogLikelihoodLoss", (8, 4), lambda t: [nll(t, ignore_index=3)], {"ignore_index": 3},
         weight=True),
    loss("NegativeLogLikelihoodLoss", (2, 3, 4), lambda t: [nll(t, reduction="none", ignore_index=2)],
         {"reduction": "none", "ignore_index": 2}, weight=True),
    loss("NegativeLogLikelihoodLoss", (5, 3), lambda t: [nll(t, reduction="sum")], {"reduction": "sum"},
         weight=True, opset=12),
]
