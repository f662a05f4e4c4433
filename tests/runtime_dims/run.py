"""Run-time dims: models exported with a dynamic batch, built once with
`--dim batch=LO..HI`, run at several batch sizes against onnxruntime; and
every way of getting a run-time dim wrong is an error with a message.

Models (torch.onnx, random weights): an MLP whose batch reaches its Reshape
through Shape/Gather/Concat (x.view(x.size(0), -1)), a small CNN (conv,
batch norm, residual add, pooling, flatten, Gemm), linear layers on 3-D
inputs (MatMul whose batch and rows become one GEMM's run-time rows), a
class token expanded to the batch (its shape through Equal and Where), the
batch used as a number (x / x.size(0), x.numel(), Size, Range up to it), a
two-input model whose inputs share the batch, the Attention op (opset 23)
with a per-batch mask, and a self-attention block whose sequence length is
a run-time dim too (the general path: Transpose, the attention MatMuls,
Softmax over keys), also with the batch bound to 1, and attention over a
KV cache (Concat along run-time dims: past+seq; the mask's length given as
--dim total=past+seq), with an empty cache too.  Errors checked: a batch
outside the range (libhodu_rt and, bypassing it, the generated code's own
check through the raw ABI), inputs that disagree on the batch (both levels
again), a mask whose length is not past+seq, a --dim for a name no input has, a definition
naming no run-time dim, and a malformed --dim.  What used to be refused
and now runs is checked against onnxruntime instead: windows the shortest
sequence does not hold (clamped when the model runs), a reduction over the
batch, a slice from 3 of a sequence that may be shorter, a convolution over a
run-time height (tests/runtime_conv has the rest of those).  An If over the run-time batch
(its branches inlined under the condition) and one whose condition folds
run against onnxruntime too.
"""
import ctypes
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from clitest import CliTest  # noqa: E402

t = CliTest("runtime_dims", __doc__)
try:
    import numpy as np
    import onnxruntime as ort
    import torch
except ImportError as exc:
    print(f"runtime_dims: cannot start: {exc}", file=sys.stderr)
    sys.exit(2)

torch.manual_seed(0)
rng = np.random.default_rng(0)
errors = []


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(784, 64)
        self.l2 = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return torch.softmax(self.l2(torch.relu(self.l1(x))), -1)


class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.relu(self.c2(y) + y)
        y = torch.nn.functional.max_pool2d(y, 2)
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1))


class Proj(torch.nn.Module):
    """Linear layers on [batch, 5, 16]: MatMul with one weight, whose batch
    and rows fold into one GEMM's run-time rows."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(16, 24)
        self.b = torch.nn.Linear(24, 8)

    def forward(self, x):
        return self.b(torch.nn.functional.gelu(self.a(x))) + x[:, :, :8]


class Token(torch.nn.Module):
    """A class token expanded to the batch (ViT's cls.expand(B, -1, -1): the
    shape passes through Equal and Where) and put before the rows."""

    def __init__(self):
        super().__init__()
        self.cls = torch.nn.Parameter(torch.randn(1, 1, 8))

    def forward(self, x):
        return torch.cat([self.cls.expand(x.size(0), -1, -1), x], dim=1) * 2.0


class BatchValue(torch.nn.Module):
    """The batch as a number in arithmetic: Shape's and Size's results
    computed when the model runs."""

    def forward(self, x):
        return x / x.size(0) + x.size(1) + x.numel()


class Pair(torch.nn.Module):
    def forward(self, x, m):
        return torch.tanh(x) * m + x.mean(dim=1, keepdim=True)


class Arange(torch.nn.Module):
    def forward(self, x):
        return x + torch.arange(x.size(0), dtype=torch.float32).unsqueeze(1)


class BatchSum(torch.nn.Module):
    def forward(self, x):
        return x.sum(dim=0) * 2.0


def export(module, args, names, path):
    axes = {n: {0: "batch"} for n in names + ["y"]}
    if isinstance(module, BatchSum):
        axes = {names[0]: {0: "batch"}}
    torch.onnx.export(module.eval(), args, path, input_names=names, output_names=["y"], dynamic_axes=axes,
                      opset_version=17, dynamo=False)


def run_hodu(lib, feeds):
    for k, v in feeds.items():
        np.save(t.path(f"{k}.npy"), v)
    out = t.path("out")
    os.makedirs(out, exist_ok=True)
    cmd = [t.hodu, "--run", lib, "--output-dir", out]
    for k in feeds:
        cmd += ["--input", f"{k}={t.path(k + '.npy')}"]
    return t.run(cmd), os.path.join(out, "y.npy")


def expect_fail(what, cmd, needles):
    CliTest.expect_fail(errors, what, cmd, needles)


# --- models compared with onnxruntime at several sizes, one build each ------
cases = [
    ("mlp", MLP(), [(1, 1, 28, 28)], ["x"]),
    ("cnn", CNN(), [(1, 3, 16, 16)], ["x"]),
    ("proj", Proj(), [(1, 5, 16)], ["x"]),
    ("token", Token(), [(1, 4, 8)], ["x"]),
    ("batch_value", BatchValue(), [(1, 6)], ["x"]),
    ("pair", Pair(), [(1, 6), (1, 6)], ["x", "m"]),
    ("arange", Arange(), [(1, 4)], ["x"]),  # the batch as Range's limit
]
for name, module, shapes, names in cases:
    path = t.path(f"{name}.onnx")
    export(module, tuple(torch.randn(*s) for s in shapes), names, path)
    lib = t.path(f"{name}.so")
    t.run([t.hodu, "--build", path, "--dim", "batch=1..16", "-o", lib])
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for b in (1, 3, 16):
        feeds = {n: rng.standard_normal((b,) + s[1:]).astype(np.float32) for n, s in zip(names, shapes)}
        _, out = run_hodu(lib, feeds)
        got, want = np.load(out), sess.run(None, feeds)[0]
        if got.shape != want.shape:
            errors.append(f"{name} batch {b}: shape {got.shape}, onnxruntime {want.shape}")
            continue
        err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
        if not err <= 1e-5:
            errors.append(f"{name} batch {b}: max error {err:.3g} relative to the output's max")

# --- a sequence length inside attention: the general path ------------------
class Encoder(torch.nn.Module):
    """Self-attention with a padding mask: the sequence moves through
    Transpose, both attention MatMuls (rows, columns and the inner dim),
    the mask's broadcast Add and Softmax over keys."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.o = torch.nn.Linear(d, d)
        self.ln = torch.nn.LayerNorm(d)

    def forward(self, x, mask):
        b, s, d = x.shape
        q, k, v = (z.view(b, s, self.h, self.dh).transpose(1, 2) for z in self.qkv(x).split(d, dim=-1))
        att = q @ k.transpose(-2, -1) / self.dh ** 0.5 + (1.0 - mask)[:, None, None, :] * -1e4
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, s, d)
        return self.ln(x + self.o(y))


enc = t.path("enc.onnx")
torch.onnx.export(Encoder().eval(), (torch.randn(2, 5, 32), torch.ones(2, 5)), enc, input_names=["x", "mask"],
                  output_names=["y"], dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("x", "mask", "y")},
                  opset_version=17, dynamo=False)
sess = ort.InferenceSession(enc, providers=["CPUExecutionProvider"])
for dims, sizes in ((["batch=1..4", "seq=1..40"], [(1, 1), (2, 17), (4, 40)]), (["batch=1", "seq=1..40"], [(1, 9)])):
    lib = t.path("enc.so")
    t.run([t.hodu, "--build", enc, "-o", lib] + [a for d in dims for a in ("--dim", d)])
    for b, sq in sizes:
        feeds = {"x": rng.standard_normal((b, sq, 32)).astype(np.float32), "mask": np.ones((b, sq), np.float32)}
        feeds["mask"][0, (sq + 1) // 2:] = 0.0
        _, out = run_hodu(lib, feeds)
        got, want = np.load(out), sess.run(None, feeds)[0]
        err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)) if got.shape == want.shape else None
        if err is None or not err <= 1e-5:
            errors.append(f"encoder {dims} at batch {b}, seq {sq}: shape {got.shape} vs {want.shape}, error {err}")

# --- a KV cache: dims that are sums (past+seq) and a dim defined by others ----
class Cached(torch.nn.Module):
    """Attention over the past keys and the new ones: Concat along a
    run-time dim gives past+seq, and the mask's `total` is declared as
    past+seq with --dim total=past+seq."""

    def __init__(self, d=16):
        super().__init__()
        self.k = torch.nn.Linear(d, d)

    def forward(self, x, past, mask):
        k = torch.cat([past, self.k(x)], dim=1)
        att = x @ k.transpose(1, 2) + (1.0 - mask)[:, None, :] * -1e4
        return att.softmax(-1) @ k


cached = t.path("cached.onnx")
torch.onnx.export(Cached().eval(), (torch.randn(1, 2, 16), torch.randn(1, 3, 16), torch.ones(1, 5)), cached,
                  input_names=["x", "past", "mask"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch", 1: "seq"}, "past": {0: "batch", 1: "past"},
                                "mask": {0: "batch", 1: "total"}, "y": {0: "batch", 1: "seq"}},
                  opset_version=17, dynamo=False)
cached_lib = t.path("cached.so")
cached_dims = ["--dim", "batch=1..2", "--dim", "seq=1..4", "--dim", "past=0..6"]
t.run([t.hodu, "--build", cached, "-o", cached_lib] + cached_dims + ["--dim", "total=past+seq"])
sess = ort.InferenceSession(cached, providers=["CPUExecutionProvider"])
for b, sq, past in ((1, 4, 0), (2, 1, 5), (1, 3, 6)):
    feeds = {"x": rng.standard_normal((b, sq, 16)).astype(np.float32),
             "past": rng.standard_normal((b, past, 16)).astype(np.float32),
             "mask": np.ones((b, past + sq), np.float32)}
    feeds["mask"][0, 0] = 0.0
    _, out = run_hodu(cached_lib, feeds)
    got, want = np.load(out), sess.run(None, feeds)[0]
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)) if got.shape == want.shape else None
    if err is None or not err <= 1e-5:
        errors.append(f"KV cache at batch {b}, seq {sq}, past {past}: shape {got.shape} vs {want.shape}, error {err}")

# --- the Attention op (opset 23) over a run-time batch, with a batch mask ----
import onnx  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

att_in = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 2, s, 8])
          for n, s in (("q", 4), ("k", 6), ("v", 6))]
att_in.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 1, 4, 6]))
att = helper.make_model(
    helper.make_graph([helper.make_node("Attention", ["q", "k", "v", "mask"], ["y"])], "att", att_in,
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2, 4, 8])]),
    opset_imports=[helper.make_opsetid("", 23)])
att_path, att_lib = t.path("att.onnx"), t.path("att.so")
onnx.save(att, att_path)
t.run([t.hodu, "--build", att_path, "--dim", "batch=1..4", "-o", att_lib])
sess = ort.InferenceSession(att_path, providers=["CPUExecutionProvider"])
for b in (1, 3):
    feeds = {n: rng.standard_normal((b, 2, s, 8)).astype(np.float32) for n, s in (("q", 4), ("k", 6), ("v", 6))}
    feeds["mask"] = np.where(rng.random((b, 1, 4, 6)) < 0.3, -1e4, 0.0).astype(np.float32)
    _, out = run_hodu(att_lib, feeds)
    got, want = np.load(out), sess.run(None, feeds)[0]
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)) if got.shape == want.shape else None
    if err is None or not err <= 1e-5:
        errors.append(f"attention batch {b}: shape {got.shape} vs {want.shape}, error {err}")

# --- Size of a value with a run-time batch: computed when the model runs ----
size_model = helper.make_model(
    helper.make_graph([helper.make_node("Size", ["x"], ["n"]), helper.make_node("Cast", ["n"], ["nf"], to=1),
                       helper.make_node("Mul", ["x", "nf"], ["y"])], "size",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])]),
    opset_imports=[helper.make_opsetid("", 17)])
size_path, size_lib = t.path("size.onnx"), t.path("size.so")
onnx.save(size_model, size_path)
t.run([t.hodu, "--build", size_path, "--dim", "batch=1..8", "-o", size_lib])
for b in (1, 5):
    x = rng.standard_normal((b, 3)).astype(np.float32)
    _, out = run_hodu(size_lib, {"x": x})
    if not np.array_equal(np.load(out), x * np.float32(x.size)):
        errors.append(f"Size at batch {b}: not x * {x.size}")

# --- wrong run-time dims: libhodu_rt ----------------------------------------
mlp, pair = t.path("mlp.so"), t.path("pair.so")
np.save(t.path("big.npy"), np.zeros((17, 1, 28, 28), np.float32))
expect_fail("batch 17 of 1..16", [t.hodu, "--run", mlp, "--input", f"x={t.path('big.npy')}"],
            ["dim 0 is 17", "1..16", "'batch'"])
np.save(t.path("x4.npy"), np.zeros((4, 6), np.float32))
np.save(t.path("m3.npy"), np.zeros((3, 6), np.float32))
expect_fail("inputs disagree on batch", [t.hodu, "--run", pair, "--input", f"x={t.path('x4.npy')}",
                                         "--input", f"m={t.path('m3.npy')}"], ["'batch'", "is 3", "is 4"])

# --- wrong run-time dims: the generated code's own check (raw ABI) ----------


class TensorDesc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)), ("min_dims", ctypes.POINTER(ctypes.c_int64)),
                ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


RUN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                       ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_void_p),
                       ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p)


class ModelDesc(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("desc_size", ctypes.c_uint32), ("model_name", ctypes.c_char_p),
                ("producer", ctypes.c_char_p), ("n_inputs", ctypes.c_uint32), ("n_outputs", ctypes.c_uint32),
                ("inputs", ctypes.POINTER(TensorDesc)), ("outputs", ctypes.POINTER(TensorDesc)),
                ("workspace_bytes", ctypes.c_uint64), ("worker_bytes", ctypes.c_uint64), ("run", RUN),
                ("n_checks", ctypes.c_uint32), ("checks", ctypes.POINTER(ctypes.c_char_p))]


so = ctypes.CDLL(pair)
so.hodu_model_get_desc.restype = ctypes.POINTER(ModelDesc)
d = so.hodu_model_get_desc().contents
names = [d.inputs[0].dim_names[k] for k in range(d.inputs[0].rank)]
if names != [b"batch", None] or d.inputs[0].min_dims[0] != 1 or d.inputs[0].dims[0] != 16:
    errors.append(f"pair.so: input 0 described as names {names}, dims "
                  f"{d.inputs[0].min_dims[0]}..{d.inputs[0].dims[0]}")
if d.n_checks < 1 or d.checks[0] != b"the inputs' run-time dims":
    errors.append("pair.so: check 0 is not the run-time dims check")
ws = ctypes.create_string_buffer(d.workspace_bytes + d.worker_bytes + 64)
ws_at = ctypes.c_void_p((ctypes.addressof(ws) + 63) // 64 * 64)
bufs = [np.zeros((16, 6), np.float32) for _ in range(3)]
ins = (ctypes.c_void_p * 2)(bufs[0].ctypes.data, bufs[1].ctypes.data)
outs = (ctypes.c_void_p * 1)(bufs[2].ctypes.data)
odims = (ctypes.c_int64 * 2)()
for what, dims, want in [("batch 4 and 4", [4, 6, 4, 6], 0), ("batch 17", [17, 6, 17, 6], 1),
                         ("batch 0", [0, 6, 0, 6], 1), ("batch 4 and 3", [4, 6, 3, 6], 1)]:
    rc = d.run(ws_at, ins, (ctypes.c_int64 * 4)(*dims), outs, odims, None)
    if rc != want:
        errors.append(f"raw ABI, {what}: run returned {rc}, expected {want}")
    elif rc == 0 and list(odims) != [4, 6]:
        errors.append(f"raw ABI, {what}: output dims {list(odims)}")
rc = d.run(ws_at, ins, None, outs, odims, None)
if rc != 1:
    errors.append(f"raw ABI, no input dims: run returned {rc}, expected 1")

# --- fixed windows of a run-time sequence: slices from its start and its end --
class Windows(torch.nn.Module):
    """x[:, -1] (the last step), x[:, -3:], x[:, -4:-1] and x[:, 1:3] of a
    sequence whose length comes at run time (at least 4 long); and x[:, 2:],
    seq-2 long, as a second output."""

    def forward(self, x):
        ends = torch.cat([x[:, -3:], x[:, -4:-1]], dim=1).sum(dim=1)
        return ends * x[:, -1] + x[:, 1:3].sum(dim=1), torch.tanh(x[:, 2:])


win = t.path("windows.onnx")
torch.onnx.export(Windows().eval(), (torch.randn(2, 6, 8),), win, input_names=["x"], output_names=["y", "z"],
                  dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch"}, "z": {0: "batch", 1: "rest"}},
                  opset_version=17, dynamo=False)
win_lib = t.path("windows.so")
t.run([t.hodu, "--build", win, "--dim", "batch=1..4", "--dim", "seq=4..16", "-o", win_lib])
sess = ort.InferenceSession(win, providers=["CPUExecutionProvider"])
for b, sq in ((1, 4), (3, 9), (2, 16)):
    feeds = {"x": rng.standard_normal((b, sq, 8)).astype(np.float32)}
    _, out = run_hodu(win_lib, feeds)
    for name, want in zip(("y", "z"), sess.run(None, feeds)):
        got = np.load(os.path.join(os.path.dirname(out), f"{name}.npy"))
        err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)) if got.shape == want.shape else 1.0
        if not err <= 1e-5:
            errors.append(f"windows of a run-time sequence, batch {b} seq {sq}, output {name}: max error {err:.3g}, "
                          f"shape {got.shape}")


def check_against_ort(what, onnx_path, lib, cases):
    """hodu's library `lib` against onnxruntime on each feeds dict of `cases`: every output within 1e-5."""
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    for feeds in cases:
        _, out = run_hodu(lib, feeds)
        for name, want in zip(names, sess.run(None, feeds)):
            got = np.load(os.path.join(os.path.dirname(out), f"{name}.npy"))
            ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5)
            if not ok:
                errors.append(f"{what}, {[v.shape for v in feeds.values()]}, output {name}: hodu {got.shape}, "
                              f"onnxruntime {want.shape}")


# Windows the shortest sequence of the range does not hold (x[:, -4:-1]
# when seq may be 3): clamped when the model runs, the length decided then
win3_lib = t.path("windows3.so")
t.run([t.hodu, "--build", win, "--dim", "batch=1..4", "--dim", "seq=3..16", "-o", win3_lib])
check_against_ort("windows from seq 3", win, win3_lib,
                  [{"x": rng.standard_normal((b, sq, 8)).astype(np.float32)} for b, sq in ((1, 3), (2, 4), (3, 11))])

# A reduction over the run-time batch (the general path)
bsum = t.path("bsum.onnx")
export(BatchSum(), (torch.randn(2, 5),), ["x"], bsum)
bsum_lib = t.path("bsum.so")
t.run([t.hodu, "--build", bsum, "--dim", "batch=1..8", "-o", bsum_lib])
check_against_ort("reduce over the batch", bsum, bsum_lib,
                  [{"x": rng.standard_normal((b, 5)).astype(np.float32)} for b in (1, 5, 8)])

# An If over a run-time batch, its condition computed at run time from the
# data, and one whose condition folds at build time
for name, cond_nodes in (("if_rt", [helper.make_node("ReduceSum", ["x"], ["tot"], keepdims=0),
                                    helper.make_node("Greater", ["tot", "zero_f"], ["c"])]),
                         ("if_known", [helper.make_node("Constant", [], ["c"],
                                                        value=helper.make_tensor("v", TensorProto.BOOL, [], [True]))])):
    branch = [helper.make_graph([helper.make_node(op, ["x"], [f"{op}_y"])], op, [],
                                [helper.make_tensor_value_info(f"{op}_y", TensorProto.FLOAT, ["batch", 4])])
              for op in ("Relu", "Neg")]
    m = helper.make_model(
        helper.make_graph(cond_nodes + [helper.make_node("If", ["c"], ["y"], then_branch=branch[0], else_branch=branch[1])],
                          name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor("zero_f", TensorProto.FLOAT, [], [0.0])]),
        opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, t.path(f"{name}.onnx"))
    t.run([t.hodu, "--build", t.path(f"{name}.onnx"), "--dim", "batch=1..6", "-o", t.path(f"{name}.so")])
    check_against_ort(name, t.path(f"{name}.onnx"), t.path(f"{name}.so"),
                      [{"x": (rng.standard_normal((b, 4)) + sign).astype(np.float32)} for b, sign in ((1, 3), (4, -3), (6, 3))])

# --- build errors ----------------------------------------------------------
conv = helper.make_model(
    helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "conv_h",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, "height", 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                      [helper.make_tensor("w", TensorProto.FLOAT, [3, 2, 3, 3], [0.5] * 54)]),
    opset_imports=[helper.make_opsetid("", 17)])
onnx.save(conv, t.path("conv_h.onnx"))
t.run([t.hodu, "--build", t.path("conv_h.onnx"), "--dim", "height=4..16", "-o", t.path("conv_h.so")])
check_against_ort("a convolution over a run-time height", t.path("conv_h.onnx"), t.path("conv_h.so"),
                  [{"x": rng.standard_normal((1, 2, h, 8)).astype(np.float32)} for h in (4, 7, 16)])
# a slice of a run-time dim from 3 to its end, where the sequence may be
# shorter than 3: clamped when the model runs (empty then)
shift = helper.make_model(
    helper.make_graph([helper.make_node("Slice", ["x", "three", "big", "zero"], ["y"])], "shift",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq"])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                      [helper.make_tensor("three", TensorProto.INT64, [1], [3]),
                       helper.make_tensor("big", TensorProto.INT64, [1], [1 << 40]),
                       helper.make_tensor("zero", TensorProto.INT64, [1], [1])]),
    opset_imports=[helper.make_opsetid("", 17)])
onnx.save(shift, t.path("shift.onnx"))
t.run([t.hodu, "--build", t.path("shift.onnx"), "--dim", "batch=1", "--dim", "seq=1..8", "-o", t.path("shift.so")])
check_against_ort("slice a run-time dim from 3", t.path("shift.onnx"), t.path("shift.so"),
                  [{"x": rng.standard_normal((1, sq)).astype(np.float32)} for sq in (1, 3, 4, 8)])
# a mask whose length is not past+seq, and a definition naming no run-time dim
np.save(t.path("cx.npy"), np.zeros((1, 2, 16), np.float32))
np.save(t.path("cp.npy"), np.zeros((1, 3, 16), np.float32))
np.save(t.path("cm.npy"), np.ones((1, 4), np.float32))
expect_fail("total other than past+seq", [t.hodu, "--run", cached_lib, "--input", f"x={t.path('cx.npy')}",
                                          "--input", f"past={t.path('cp.npy')}", "--input",
                                          f"mask={t.path('cm.npy')}"], ["run-time dims"])
expect_fail("--dim total=past+nope", [t.hodu, "--build", cached, "-o", t.path("no.so")] + cached_dims +
            ["--dim", "total=past+nope"], ["--dim total=past+nope", "'nope'"])
expect_fail("--dim of no input", [t.hodu, "--build", t.path("mlp.onnx"), "--dim", "seq=1..8", "-o",
                                  t.path("no.so")], ["--dim seq", "named dims: 'batch'"])
expect_fail("malformed --dim", [t.hodu, "--build", t.path("mlp.onnx"), "--dim", "batch=8..1", "-o",
                                t.path("no.so")], ["--dim 'batch=8..1'"])
for f in ("no.so",):
    if os.path.exists(t.path(f)):
        errors.append(f"a failed build left {f} behind")

sys.exit(t.finish(errors))
