"""Convolutions and pools over a run-time height and width: models built
once with `--dim height=LO..HI --dim width=LO..HI` (quotient symbols for
the output sizes, the general path's Conv, MaxPool, AveragePool, global
pools and BatchNormalization (torch folds the network's into its
convolutions, so one on its own)), run at several sizes (odd and even, the
smallest and the largest of the range) against onnxruntime.

Models: strided, dilated (with asymmetric pads), grouped, depthwise and
pointwise convolutions, and ones with enough output channels for the
transposed form that small grids take; MaxPool and AveragePool with and without padding
and ceil_mode, count_include_pad both ways; GlobalAveragePool and
GlobalMaxPool; a small residual network (torch.onnx) whose stride-2 block
adds a 3x3 stride-2 pad-1 convolution to a 1x1 stride-2 shortcut, so both
sizes must be the one symbol (floor((H-1)/2)+1 == floor((H+1)/2)), then
batch norm, ReLU, a max pool, a global pool, Flatten and a linear layer.
The --emit-header and --inspect of a build show the quotient symbols.
Resize over run-time dims (the general path, taps mapped in the run):
a stride-2 conv's output (quotient-symbol H/W) resized back to x's size,
the sizes Concat(Slice(Shape(conv)), Slice(Shape(x))), in every mode
DeepLabV3 and its kin use (linear half_pixel, pytorch_half_pixel,
align_corners; cubic; nearest), and torchvision's F.interpolate(size=...)
form (Gather, Unsqueeze, Concat, Cast of Shape), side by side in one
model; a pooled 1x1 map resized to the conv's quotient sizes (DeepLabV3's
ASPP pooling branch), then by whole constant scales.
Fused epilogues over run-time sizes: convolutions (16 and 32 channels,
stride 1 and 2, 3x3, pointwise, depthwise) with bias, ReLU/Clip/Sigmoid and
a residual Add (the input, or a stride-2 1x1 shortcut conv) fused into one
node, checked at the smallest and largest sizes of the range; a network
run channel-blocked end to end over run-time sizes (blocked convolutions
with fused residual epilogues, a blocked max pool and global pool).
Refusals checked with their messages: auto_pad SAME_UPPER whose leading
pad depends on the size (3x3 stride 2; more.py runs the forms it takes),
a ceil_mode pool whose last window may be dropped at some sizes, a
window that does not fit the smallest size of the range, a Resize by a
fractional scale over a run-time dim, and one whose sizes come from data
(a graph input).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DIMS, SIZES, check, conv, expect_fail, pool, save, start, weight  # noqa: E402

t, rng, errors = start("runtime_conv", __doc__)
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

torch.manual_seed(0)


# --- convolutions -----------------------------------------------------------
check("3x3 stride 2 pad 1", *conv("c_s2", 3, 8, 3, 2, [1, 1, 1, 1]))
check("5x5 stride 3 pad 2, no bias", *conv("c_s3", 4, 5, 5, 3, [2, 2, 2, 2], bias=False))
check("grouped, dilated, asymmetric pads", *conv("c_grp", 4, 6, 3, 1, [0, 2, 1, 0], d=2, g=2))
check("depthwise stride 2", *conv("c_dw", 8, 8, 3, 2, [1, 1, 1, 1], g=8))
check("depthwise dilated", *conv("c_dwd", 6, 6, 3, 1, [2, 2, 2, 2], d=2, g=6))
check("pointwise", *conv("c_pw", 8, 16, 1, 1, [0, 0, 0, 0]))
check("1x1 stride 2", *conv("c_pw2", 8, 4, 1, 2, [0, 0, 0, 0]))
# enough output channels for the transposed form on small grids (the run
# picks it below 256 positions), the normal one on large grids
check("3x3, 32 channels", *conv("c_t", 16, 32, 3, 1, [1, 1, 1, 1]))
check("3x3 stride 2, 32 channels", *conv("c_ts2", 16, 32, 3, 2, [1, 1, 1, 1], bias=False))
check("pointwise, 32 channels", *conv("c_tpw", 32, 32, 1, 1, [0, 0, 0, 0]))

# --- pools -------------------------------------------------------------------
check("MaxPool 3x3 stride 2 pad 1", *pool("mp", "MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
check("MaxPool ceil_mode", *pool("mp_ceil", "MaxPool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1))
check("MaxPool dilated", *pool("mp_dil", "MaxPool", kernel_shape=[2, 2], dilations=[2, 2], pads=[0, 1, 1, 0]))
check("AveragePool 2x2 stride 2 ceil_mode", *pool("ap_ceil", "AveragePool", kernel_shape=[2, 2], strides=[2, 2],
                                                  ceil_mode=1))
for inc in (0, 1):
    check(f"AveragePool pad 1 count_include_pad={inc}",
          *pool(f"ap_pad{inc}", "AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                count_include_pad=inc))
check("GlobalAveragePool", *pool("gap", "GlobalAveragePool"))
bn_params = [helper.make_tensor(n, TensorProto.FLOAT, [3], v) for n, v in
             (("scale", rng.uniform(0.5, 2, 3)), ("bias", rng.standard_normal(3)),
              ("mean", rng.standard_normal(3)), ("var", rng.uniform(0.5, 2, 3)))]
check("BatchNormalization", save("bn", [helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"],
                                                         ["y"], epsilon=1e-3)], 3, bn_params), 3)
check("GlobalMaxPool", *pool("gmp", "GlobalMaxPool"))


# --- a small residual network -------------------------------------------------
class Block(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = torch.nn.BatchNorm2d(cout)
        self.c2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = torch.nn.BatchNorm2d(cout)
        self.short = torch.nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return torch.relu(y + (self.short(x) if self.short is not None else x))


class ResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, 1, 1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.MaxPool2d(3, 2, 1)
        self.l1 = Block(8, 8, 1)
        self.l2 = Block(8, 16, 2)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.stem(x))))
        x = self.l2(self.l1(x))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


net = ResNet().eval()
for mod in net.modules():  # batch norms with statistics of their own
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.5, 0.5)
        mod.running_var.uniform_(0.5, 2.0)
res = t.path("resnet.onnx")
torch.onnx.export(net, (torch.randn(1, 3, 16, 16),), res, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}}, opset_version=17, dynamo=False)
res_lib = check("residual network", res, 3)
if res_lib:
    p = subprocess.run([t.hodu, "--inspect", res_lib], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or "height" not in p.stdout:
        errors.append(f"--inspect of the residual network: {p.returncode}: {p.stdout[-400:]} {p.stderr[-400:]}")
    hdr = t.path("resnet.h")
    p = subprocess.run([t.hodu, "--build", res, "--emit-header", hdr, "-o", t.path("resnet2.so")] + DIMS,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        errors.append(f"--emit-header: {p.stderr.strip()}")
    p = subprocess.run([t.hodu, "--build", res, "--dump-ir", "-o", t.path("resnet3.so")] + DIMS, capture_output=True,
                       text=True, timeout=300)
    # the stride-2 block's two paths meet in one quotient symbol
    if p.returncode != 0 or "(height+1)/2" not in p.stdout + p.stderr:
        errors.append(f"--dump-ir lacks the quotient symbol (height+1)/2: {(p.stdout + p.stderr)[-600:]}")

# --- Resize to sizes computed from run-time dims ---------------------------------
# Two models (builds are what costs), three sizes each: the smallest, the
# largest, one between.
RS_SIZES = [SIZES[0], SIZES[2], SIZES[3]]


def i64(name, vals):
    return helper.make_tensor(name, TensorProto.INT64, [len(vals)] if isinstance(vals, list) else [],
                              vals if isinstance(vals, list) else [vals])


def conv_c(C):
    """x -> 3x3 stride-2 conv "c", whose H/W are the quotient (height+1)/2."""
    w = rng.standard_normal((C, C, 3, 3)).astype(np.float32)
    return ([helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Shape", ["x"], ["sx"]), helper.make_node("Shape", ["c"], ["sc"])],
            [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten())])


# c resized back to x's size in each mode DeepLabV3 and its kin use, the
# sizes Concat(Slice(Shape(c), 0:2), Slice(Shape(x), 2:4)), and once in
# torchvision's F.interpolate(size=x.shape[-2:]) form (Gather, Unsqueeze,
# Concat, Cast); the results side by side along the channels
nodes, inits = conv_c(3)
nodes += [helper.make_node("Slice", ["sc", "s0", "s2"], ["nc"]), helper.make_node("Slice", ["sx", "s2", "s4"], ["hw"]),
          helper.make_node("Concat", ["nc", "hw"], ["sz"], axis=0),
          helper.make_node("Gather", ["sx", "g2"], ["h"], axis=0), helper.make_node("Gather", ["sx", "g3"], ["w_"]),
          helper.make_node("Unsqueeze", ["h", "s0"], ["hu"]), helper.make_node("Unsqueeze", ["w_", "s0"], ["wu"]),
          helper.make_node("Concat", ["hu", "wu"], ["hw2"], axis=0),
          helper.make_node("Cast", ["hw2"], ["hwc"], to=TensorProto.INT64),
          helper.make_node("Concat", ["nc", "hwc"], ["sz2"], axis=0)]
inits += [i64("s0", [0]), i64("s2", [2]), i64("s4", [4]), i64("g2", 2), i64("g3", 3)]
RS_MODES = [("linear", "half_pixel", "sz"), ("linear", "pytorch_half_pixel", "sz"), ("linear", "align_corners", "sz"),
            ("cubic", "half_pixel", "sz"), ("nearest", "asymmetric", "sz"), ("linear", "half_pixel", "sz2")]
for i, (mode, ct, sz) in enumerate(RS_MODES):
    nodes.append(helper.make_node("Resize", ["c", "", "", sz], [f"r{i}"], mode=mode,
                                  coordinate_transformation_mode=ct, nearest_mode="floor"))
nodes.append(helper.make_node("Concat", [f"r{i}" for i in range(len(RS_MODES))], ["y"], axis=1))
check("Resize of a stride-2 conv back to x's size (linear half_pixel, pytorch_half_pixel, align_corners; cubic; "
      "nearest; torchvision's Gather/Unsqueeze/Concat/Cast sizes)", save("rs_modes", nodes, 3, inits), 3,
      sizes=RS_SIZES)
# DeepLabV3's pooling branch: a pooled 1x1 map resized to the conv's
# quotient sizes, added to it, then x2 by whole constant scales
nodes, inits = conv_c(4)
nodes += [helper.make_node("GlobalAveragePool", ["c"], ["p"]),
          helper.make_node("Resize", ["p", "", "", "sc"], ["r"], mode="linear"), helper.make_node("Add", ["r", "c"], ["a"]),
          helper.make_node("Resize", ["a", "", "k"], ["y"], mode="nearest")]
inits.append(helper.make_tensor("k", TensorProto.FLOAT, [4], [1, 1, 2, 2]))
check("a pooled 1x1 map resized to a stride-2 conv's quotient sizes, then scales 2", save("rs_pool", nodes, 4, inits), 4,
      sizes=RS_SIZES)

# --- fused epilogues -------------------------------------------------------------
# A general-path Conv takes its bias, unary ops and a residual Add into one
# hodu.FusedEpilogue, applied as each chunk of output rows or each plane is
# finished.  One chain (one build) runs every form of the run-time
# lowering: im2col chunks (3x3, stride 1 and 2), pointwise, 1x1 stride 2,
# the transposed form of small grids (32 channels), depthwise; with
# Sigmoid, ReLU, Clip and residuals (a conv's own input, a 1x1 stride-2
# shortcut conv, an earlier result).
def fconv(nodes, inits, name, x, C, M, k, s, g=1, bias=True):
    inits.append(weight(name + "_w", [M, C // g, k, k]))
    ins = [x, name + "_w"]
    if bias:
        inits.append(weight(name + "_b", [M], 1.0))
        ins.append(name + "_b")
    nodes.append(helper.make_node("Conv", ins, [name], kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4,
                                  group=g))
    return name


nodes, inits = [], [helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]),
                    helper.make_tensor("hi", TensorProto.FLOAT, [], [6.0])]
nodes.append(helper.make_node("Sigmoid", [fconv(nodes, inits, "c1", "x", 3, 16, 3, 1)], ["s1"]))
nodes.append(helper.make_node("Add", [fconv(nodes, inits, "c2", "s1", 16, 16, 3, 1), "s1"], ["a2"]))
nodes.append(helper.make_node("Relu", ["a2"], ["r2"]))
nodes.append(helper.make_node("Add", [fconv(nodes, inits, "c3", "r2", 16, 32, 3, 2),
                                      fconv(nodes, inits, "c3s", "r2", 16, 32, 1, 2, bias=False)], ["a3"]))
nodes.append(helper.make_node("Relu", ["a3"], ["r3"]))
nodes.append(helper.make_node("Add", [fconv(nodes, inits, "c4", "r3", 32, 32, 1, 1), "r3"], ["a4"]))
nodes.append(helper.make_node("Relu", ["a4"], ["r4"]))
nodes.append(helper.make_node("Clip", [fconv(nodes, inits, "c5", "r4", 32, 32, 3, 1, g=32), "lo", "hi"], ["r5"]))
nodes.append(helper.make_node("Relu", [fconv(nodes, inits, "c6", "r5", 32, 32, 1, 2)], ["y"]))
chain = save("fused_chain", nodes, 3, inits)
chain_src = t.path("fused_c")
if check("fused epilogues", chain, 3, sizes=[(1, 7, 6), (1, 33, 29), (2, 8, 9), (3, 33, 29), (1, 16, 16)],
         extra=["--emit-c", chain_src]):
    with open(os.path.join(chain_src, "model.c")) as f:
        code = f.read()
    # every convolution carries its epilogue (the shortcut's is the Add's
    # other side), nothing runs on its own
    if code.count("_FusedEpilogue(const") != 6 or any(f"_{op}(" in code for op in ("Relu", "Add", "Clip",
                                                                                     "Sigmoid")):
        errors.append("fused epilogues: the generated C does not run each epilogue fused into its convolution")

# --- the blocked layout ------------------------------------------------------------
# A 3-channel image's convolution reads it as it is and a global pool ends
# the network, so the whole network runs channel-blocked over run-time
# sizes ([N, C/16, H, W, 16], hodu.ConvBlocked reading them at run time)
# with no layout conversion over them: the residual Add + ReLU fused into
# the blocked convolutions (16 and 32 channels, a stride-2 block with a
# 1x1 stride-2 shortcut), a blocked max pool, the global pool a ReduceMean.
class BlockedNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, 1, 1)
        self.pool = torch.nn.MaxPool2d(3, 2, 1)
        self.a = torch.nn.Conv2d(16, 16, 3, 1, 1)
        self.b = torch.nn.Conv2d(16, 32, 3, 2, 1)
        self.short = torch.nn.Conv2d(16, 32, 1, 2)
        self.dw = torch.nn.Conv2d(32, 32, 3, 1, 1, groups=32)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(self.a(x) + x)
        x = self.pool(x)
        x = torch.relu(self.b(x) + self.short(x))
        x = torch.clamp(self.dw(x), 0, 6)
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


blk = t.path("blocked.onnx")
torch.onnx.export(BlockedNet().eval(), (torch.randn(1, 3, 32, 32),), blk, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}}, opset_version=17, dynamo=False)
BLOCKED_DIMS = ["--dim", "batch=1..2", "--dim", "height=20..40", "--dim", "width=18..37"]
BLOCKED_SIZES = [(1, 20, 18), (2, 40, 37), (1, 33, 21), (2, 20, 37), (1, 40, 18)]
blk_src = t.path("blocked_c")
if check("blocked residual network", blk, 3, dims=BLOCKED_DIMS, sizes=BLOCKED_SIZES,
         extra=["--emit-c", blk_src, "--conv-layout", "blocked"]):
    with open(os.path.join(blk_src, "model.c")) as f:
        code = f.read()
    # (the Transpose back to NCHW comes after the global pool, over fixed sizes)
    if code.count("hd_conv_blocked_par(") != 5 or any(f"_{op}(" in code for op in ("Conv", "Relu", "Add", "Clip")):
        errors.append("blocked residual network: not every convolution runs blocked with its epilogue fused "
                      "and no layout conversion")

# --- refusals ------------------------------------------------------------------
same = save("same", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                      auto_pad="SAME_UPPER")], 3, [])
expect_fail("auto_pad SAME_UPPER whose leading pad depends on the size", [t.hodu, "--build", same, "-o",
                                                                         t.path("no.so")] + DIMS,
            ["MaxPool", "SAME_UPPER", "leading pad depends on the size", "--dim height=N"])
drop = save("drop", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                      pads=[0, 0, 1, 1], ceil_mode=1)], 3, [])
expect_fail("ceil_mode that may drop the last window", [t.hodu, "--build", drop, "-o", t.path("no.so")] + DIMS,
            ["ceil_mode", "'height'", "--dim height=N"])
big, _ = conv("big", 3, 4, 9, 1, [0, 0, 0, 0])
expect_fail("a window larger than the smallest height", [t.hodu, "--build", big, "-o", t.path("no.so")] + DIMS,
            ["does not fit", "'height'", "smallest (7)"])

frac = save("rs_frac", [helper.make_node("Resize", ["x", "", "k"], ["y"], mode="linear")], 3,
            [helper.make_tensor("k", TensorProto.FLOAT, [4], [1, 1, 1.5, 1.5])])
expect_fail("Resize by scale 1.5 over a run-time height", [t.hodu, "--build", frac, "-o", t.path("no.so")] + DIMS,
            ["Resize", "scale 1.5", "'height'", "--dim height=N"])
m = helper.make_model(helper.make_graph(
    [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear")], "rs_data",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"]),
     helper.make_tensor_value_info("sz", TensorProto.INT64, [4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]), opset_imports=[helper.make_opsetid("", 17)])
onnx.save(m, t.path("rs_data.onnx"))
expect_fail("Resize over run-time dims to sizes that a graph input gives",
            [t.hodu, "--build", t.path("rs_data.onnx"), "-o", t.path("no.so")] + DIMS,
            ["Resize", "sizes ('sz')", "depends on the data"])

sys.exit(t.finish(errors))
