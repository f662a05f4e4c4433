#!/usr/bin/env python3
"""Training steps built by `hodu --build --train` against PyTorch.

Each model is an ONNX graph (onnx.helper) and the same function in
PyTorch over the same parameter tensors.  From the same initial weights
and the same batches, both take N optimizer steps (SGD with momentum and
weight decay, Adam, AdamW; the learning rate changes every step, as a
schedule would, since it is the step's run-time input) and the loss
after every step must agree within 1e-3 relative.

The step is driven as a host would, through libhodu_rt's hodu_trainer
(ctypes), which starts from the parameters built into the library.  Then
checkpoints: saved and loaded into a fresh trainer, the next step is the
same; truncated, empty and mismatched files are refused and leave the
parameters as they were.  Evaluation: the forward pass built with
--train-eval, attached to the trainer, gives PyTorch's outputs for the
trained parameters.

    check_training.py [--hodu build/hodu] [--rt build/libhodu_rt.so] [-k SUBSTRING] [--steps N] [--work DIR]
"""
import argparse
import ctypes as C
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))
import hodurt  # noqa: E402
TOL = 1e-3


def mlp(rng):
    """x [16, 10] -> Gemm -> Relu -> MatMul + Add -> [16, 4] (two forms of a
    linear layer)."""
    params = {"w1": rng.standard_normal((12, 10)) * 0.3, "b1": rng.standard_normal(12) * 0.1,
              "w2": rng.standard_normal((12, 4)) * 0.3, "b2": rng.standard_normal(4) * 0.1}
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["m"]),
             helper.make_node("Add", ["m", "b2"], ["y"])]

    def fwd(p, x):
        return F.relu(x @ p["w1"].T + p["b1"]) @ p["w2"] + p["b2"]

    return nodes, params, (16, 10), 4, fwd


def cnn(rng):
    """x [8, 1, 8, 8] -> Conv 3x3 pad 1 -> Relu -> MaxPool 2 -> Conv 3x3 ->
    Relu -> GlobalAveragePool -> Flatten -> Gemm -> [8, 5]."""
    params = {"c1.w": rng.standard_normal((4, 1, 3, 3)) * 0.4, "c1.b": rng.standard_normal(4) * 0.1,
              "c2.w": rng.standard_normal((8, 4, 3, 3)) * 0.2, "c2.b": rng.standard_normal(8) * 0.1,
              "fc.w": rng.standard_normal((5, 8)) * 0.3, "fc.b": rng.standard_normal(5) * 0.1}
    nodes = [helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["a1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "c2.w", "c2.b"], ["a2"]),
             helper.make_node("Relu", ["a2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["y"], transB=1)]

    def fwd(p, x):
        h = F.max_pool2d(F.relu(F.conv2d(x, p["c1.w"], p["c1.b"], padding=1)), 2)
        h = F.relu(F.conv2d(h, p["c2.w"], p["c2.b"])).mean(dim=(2, 3))
        return h @ p["fc.w"].T + p["fc.b"]

    return nodes, params, (8, 1, 8, 8), 5, fwd


def cnn_bn(rng):
    """cnn with a BatchNormalization in training mode (batch statistics)
    after each Conv: x [8, 1, 8, 8] -> Conv -> BN -> Relu -> MaxPool ->
    Conv -> BN -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> [8, 5].
    The running mean and var are buffers, not trained."""
    params = {"c1.w": rng.standard_normal((4, 1, 3, 3)) * 0.4, "c1.b": rng.standard_normal(4) * 0.1,
              "bn1.g": 1 + rng.standard_normal(4) * 0.1, "bn1.b": rng.standard_normal(4) * 0.1,
              "c2.w": rng.standard_normal((8, 4, 3, 3)) * 0.2, "c2.b": rng.standard_normal(8) * 0.1,
              "bn2.g": 1 + rng.standard_normal(8) * 0.1, "bn2.b": rng.standard_normal(8) * 0.1,
              "fc.w": rng.standard_normal((5, 8)) * 0.3, "fc.b": rng.standard_normal(5) * 0.1}
    consts = {"bn1.mean": np.zeros(4, np.float32), "bn1.var": np.ones(4, np.float32),
              "bn2.mean": np.zeros(8, np.float32), "bn2.var": np.ones(8, np.float32)}
    n = helper.make_node
    nodes = [n("Conv", ["x", "c1.w", "c1.b"], ["a1"], pads=[1, 1, 1, 1]),
             n("BatchNormalization", ["a1", "bn1.g", "bn1.b", "bn1.mean", "bn1.var"], ["n1", "rm1", "rv1"],
               training_mode=1, momentum=0.9),
             n("Relu", ["n1"], ["r1"]),
             n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             n("Conv", ["p1", "c2.w", "c2.b"], ["a2"]),
             n("BatchNormalization", ["a2", "bn2.g", "bn2.b", "bn2.mean", "bn2.var"], ["n2", "rm2", "rv2"],
               training_mode=1, momentum=0.9, epsilon=1e-3),
             n("Relu", ["n2"], ["r2"]),
             n("GlobalAveragePool", ["r2"], ["g"]),
             n("Flatten", ["g"], ["f"]),
             n("Gemm", ["f", "fc.w", "fc.b"], ["y"], transB=1)]

    def fwd(p, x):
        h = F.conv2d(x, p["c1.w"], p["c1.b"], padding=1)
        h = F.max_pool2d(F.relu(F.batch_norm(h, None, None, p["bn1.g"], p["bn1.b"], training=True, eps=1e-5)), 2)
        h = F.conv2d(h, p["c2.w"], p["c2.b"])
        h = F.relu(F.batch_norm(h, None, None, p["bn2.g"], p["bn2.b"], training=True, eps=1e-3)).mean(dim=(2, 3))
        return h @ p["fc.w"].T + p["fc.b"]

    return nodes, params, (8, 1, 8, 8), 5, fwd, consts


def transformer(rng):
    """A pre-LN transformer encoder layer (two heads) on x [2, 6, 16], then
    the mean over the sequence and a linear head -> [2, 3]."""
    B, T, D, H = 2, 6, 16, 2
    dh = D // H

    def w(*shape, s=0.25):
        return rng.standard_normal(shape) * s

    params = {"ln1.g": 1 + w(D, s=0.1), "ln1.b": w(D, s=0.1), "wq": w(D, D), "wk": w(D, D), "wv": w(D, D),
              "bq": w(D, s=0.1), "wo": w(D, D), "bo": w(D, s=0.1), "ln2.g": 1 + w(D, s=0.1), "ln2.b": w(D, s=0.1),
              "w1": w(D, 32), "b1": w(32, s=0.1), "w2": w(32, D), "b2": w(D, s=0.1), "head": w(D, 3)}
    consts = {"heads": np.array([B, T, H, dh], np.int64), "merge": np.array([B, T, D], np.int64),
              "scale": np.array(1 / np.sqrt(dh), np.float32)}
    n = helper.make_node
    nodes = [n("LayerNormalization", ["x", "ln1.g", "ln1.b"], ["h1"], axis=-1, epsilon=1e-5),
             n("MatMul", ["h1", "wq"], ["q0"]), n("Add", ["q0", "bq"], ["q1"]),
             n("MatMul", ["h1", "wk"], ["k1"]), n("MatMul", ["h1", "wv"], ["v1"])]
    for t in "qkv":
        nodes += [n("Reshape", [f"{t}1", "heads"], [f"{t}2"]),
                  n("Transpose", [f"{t}2"], [f"{t}3"], perm=[0, 2, 1, 3])]
    nodes += [n("Transpose", ["k3"], ["kt"], perm=[0, 1, 3, 2]),
              n("MatMul", ["q3", "kt"], ["s0"]), n("Mul", ["s0", "scale"], ["s1"]),
              n("Softmax", ["s1"], ["pr"], axis=-1), n("MatMul", ["pr", "v3"], ["o0"]),
              n("Transpose", ["o0"], ["o1"], perm=[0, 2, 1, 3]), n("Reshape", ["o1", "merge"], ["o2"]),
              n("MatMul", ["o2", "wo"], ["o3"]), n("Add", ["o3", "bo"], ["o4"]), n("Add", ["x", "o4"], ["r1"]),
              n("LayerNormalization", ["r1", "ln2.g", "ln2.b"], ["h2"], axis=-1, epsilon=1e-5),
              n("MatMul", ["h2", "w1"], ["m0"]), n("Add", ["m0", "b1"], ["m1"]), n("Gelu", ["m1"], ["m2"]),
              n("MatMul", ["m2", "w2"], ["m3"]), n("Add", ["m3", "b2"], ["m4"]), n("Add", ["r1", "m4"], ["r2"]),
              n("ReduceMean", ["r2"], ["pooled"], axes=[1], keepdims=0), n("MatMul", ["pooled", "head"], ["y"])]

    def fwd(p, x):
        h = F.layer_norm(x, (D,), p["ln1.g"], p["ln1.b"], 1e-5)

        def split(t):
            return t.reshape(B, T, H, dh).transpose(1, 2)

        q, k, v = split(h @ p["wq"] + p["bq"]), split(h @ p["wk"]), split(h @ p["wv"])
        a = torch.softmax(q @ k.transpose(-1, -2) * (1 / np.sqrt(dh)), dim=-1) @ v
        r1 = x + a.transpose(1, 2).reshape(B, T, D) @ p["wo"] + p["bo"]
        h2 = F.layer_norm(r1, (D,), p["ln2.g"], p["ln2.b"], 1e-5)
        r2 = r1 + F.gelu(h2 @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        return r2.mean(dim=1) @ p["head"]

    return nodes, params, (B, T, D), 3, fwd, consts


def lstm(rng):
    """x [4, 5, 3] (batch first) -> LSTM (hidden 6, layout 1) -> its last
    state -> Flatten -> MatMul -> [4, 3]: a small sequence classifier
    (the LSTM is unrolled for its gradients)."""
    B, T, I, H = 4, 5, 3, 6
    params = {"W": rng.standard_normal((1, 4 * H, I)) * 0.4, "R": rng.standard_normal((1, 4 * H, H)) * 0.4,
              "B": rng.standard_normal((1, 8 * H)) * 0.1, "head": rng.standard_normal((H, 3)) * 0.5}
    nodes = [helper.make_node("LSTM", ["x", "W", "R", "B"], ["", "yh"], hidden_size=H, layout=1),
             helper.make_node("Flatten", ["yh"], ["last"], axis=1),
             helper.make_node("MatMul", ["last", "head"], ["y"])]

    def fwd(p, x):
        h, c = x.new_zeros(B, H), x.new_zeros(B, H)
        W, R, b = p["W"][0], p["R"][0], p["B"][0, :4 * H] + p["B"][0, 4 * H:]
        for t in range(T):  # ONNX's gate order: i, o, f, c
            i, o, f, g = (v for v in (x[:, t] @ W.T + h @ R.T + b).split(H, dim=1))
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h @ p["head"]

    return nodes, params, (B, T, I), 3, fwd


def mlp_wide(rng):
    """mlp's names with other shapes: a checkpoint that does not fit."""
    params = {"w1": rng.standard_normal((12, 6)) * 0.3, "b1": rng.standard_normal(12) * 0.1,
              "w2": rng.standard_normal((12, 4)) * 0.3, "b2": rng.standard_normal(4) * 0.1}
    nodes, _, _, nout, fwd = mlp(rng)
    return nodes, params, (16, 6), nout, fwd


MODELS = {"mlp": mlp, "mlp_wide": mlp_wide, "cnn": cnn, "cnn_bn": cnn_bn, "transformer": transformer, "lstm": lstm}


def make_onnx(nodes, params, xshape, nout, consts=None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(xshape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [xshape[0], nout])
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in params.items()]
    inits += [numpy_helper.from_array(v, k) for k, v in (consts or {}).items()]
    g = helper.make_graph(nodes, "train_test", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])


def torch_loss(loss, y, t):
    if loss == "mse":
        return F.mse_loss(y, t)
    if loss == "l1":
        return F.l1_loss(y, t)
    if loss == "cross_entropy":
        return F.cross_entropy(y, t)
    if loss == "bce_logits":
        return F.binary_cross_entropy_with_logits(y, t)
    raise ValueError(loss)


def torch_optimizer(spec, params):
    kind, _, rest = spec.partition(":")
    kw = {k: float(v) for k, v in (item.split("=") for item in rest.split(",") if item)}
    if kind == "sgd":
        return torch.optim.SGD(params, lr=1.0, **kw)
    betas = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(params, lr=1.0, betas=betas, **kw)


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")


class Trainer:
    """hodu_trainer over a step library, through ctypes."""

    def __init__(self, rt, so):
        self.rt = rt
        self.err = hodurt.Error()
        self.model = C.c_void_p()
        self.check(rt.hodu_model_open(so.encode(), C.byref(self.model), C.byref(self.err)))
        self.tr = C.c_void_p()
        self.check(rt.hodu_trainer_create(self.model, None, C.byref(self.tr), C.byref(self.err)))

    def check(self, status):
        if status != 0:
            raise RuntimeError(self.err.message.decode())

    def step(self, arrays, lr):
        ts = (hodurt.Tensor * len(arrays))(*[hodurt.tensor(a) for a in arrays])
        loss = C.c_float()
        self.check(self.rt.hodu_trainer_step(self.tr, ts, len(arrays), lr, C.byref(loss), C.byref(self.err)))
        return loss.value

    def get(self, name, like):
        out = np.zeros_like(like)
        t = hodurt.tensor(out)
        self.check(self.rt.hodu_trainer_get(self.tr, name.encode(), C.byref(t), C.byref(self.err)))
        return out

    def save(self, path):
        self.check(self.rt.hodu_trainer_save(self.tr, path.encode(), C.byref(self.err)))

    def load(self, path):
        """None, or the error message of a refused load."""
        if self.rt.hodu_trainer_load(self.tr, path.encode(), C.byref(self.err)) != 0:
            return self.err.message.decode()
        return None

    def attach_eval(self, so):
        self.eval_model = C.c_void_p()
        self.check(self.rt.hodu_model_open(so.encode(), C.byref(self.eval_model), C.byref(self.err)))
        self.check(self.rt.hodu_trainer_attach_eval(self.tr, self.eval_model, None, C.byref(self.err)))

    def eval(self, x, out_shape):
        y = np.zeros(out_shape, np.float32)
        ti, to = hodurt.tensor(x), hodurt.tensor(y)
        self.check(self.rt.hodu_trainer_eval(self.tr, C.byref(ti), 1, C.byref(to), 1, C.byref(self.err)))
        return y

    def close(self):
        self.rt.hodu_trainer_destroy(self.tr)
        self.rt.hodu_model_close(self.model)
        if getattr(self, "eval_model", None):
            self.rt.hodu_model_close(self.eval_model)


def batch(rng, loss, xshape, nout):
    x = rng.standard_normal(xshape).astype(np.float32)
    if loss == "cross_entropy":
        t = rng.integers(0, nout, xshape[0]).astype(np.int64)
    elif loss == "bce_logits":
        t = (rng.random((xshape[0], nout)) < 0.5).astype(np.float32)
    else:
        t = rng.standard_normal((xshape[0], nout)).astype(np.float32)
    return x, t


def build_step(hodu, work, model, loss, spec, clip=None):
    rng = np.random.default_rng(7)
    nodes, params, xshape, nout, fwd, *consts = MODELS[model](rng)
    d = os.path.join(work, f"{model}-{loss}-{spec.replace(':', '_').replace(',', '_')}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "m.onnx")
    onnx.save(make_onnx(nodes, params, xshape, nout, consts[0] if consts else None), path)
    so = os.path.join(d, "train.so")
    cmd = [hodu, "--build", path, "--train", "--loss", loss, "--optimizer", spec, "-o", so]
    if clip:
        cmd += ["--clip-norm", str(clip)]
    sh(cmd)
    sh([hodu, "--build", path, "--train-eval", "-o", os.path.join(d, "eval.so")])
    return so, d, rng, params, xshape, nout, fwd


def torch_step(opt, params, lr, clip, loss_of):
    """One step of PyTorch's optimizer at learning rate lr, the gradients
    clipped to a global norm (clip) first; returns the loss before it."""
    for g in opt.param_groups:
        g["lr"] = float(lr)
    opt.zero_grad()
    lt = loss_of()
    lt.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_([p for p in params.values() if p.requires_grad], clip)
    opt.step()
    return lt.item()


def run_case(hodu, rt, work, model, loss, spec, steps, clip=None):
    so, d, rng, params, xshape, nout, fwd = build_step(hodu, work, model, loss, spec, clip)
    tp = {k: torch.tensor(v.astype(np.float32), requires_grad=True) for k, v in params.items()}
    opt = torch_optimizer(spec, list(tp.values()))
    tr = Trainer(rt, so)
    worst = 0.0
    try:
        for step in range(steps):
            x, t = batch(rng, loss, xshape, nout)
            lr = np.float32((0.05 if spec.startswith("sgd") else 0.01) * 0.98 ** step)
            hodu_loss = tr.step([x, t], lr)
            ref = torch_step(opt, tp, lr, clip, lambda: torch_loss(loss, fwd(tp, torch.tensor(x)), torch.tensor(t)))
            err = abs(hodu_loss - ref) / max(abs(ref), 1e-6)
            worst = max(worst, err)
            if not err <= TOL:
                return f"step {step}: loss {hodu_loss:.7g}, PyTorch {ref:.7g} (relative error {err:.1e})", worst
        for k, v in tp.items():  # and the parameters they end with
            want = v.detach().numpy()
            have = tr.get(k, want)
            err = float(np.abs(have - want).max()) / max(float(np.abs(want).max()), 1e-6)
            if not err <= TOL:
                return f"after {steps} steps, parameter {k} differs from PyTorch's by {err:.1e} (relative)", worst
        # the forward pass over the trained parameters (--train-eval)
        tr.attach_eval(os.path.join(d, "eval.so"))
        x, _ = batch(rng, loss, xshape, nout)
        want = fwd(tp, torch.tensor(x)).detach().numpy()
        have = tr.eval(x, want.shape)
        err = float(np.abs(have - want).max()) / max(float(np.abs(want).max()), 1e-6)
        if not err <= TOL:
            return f"the forward pass over the trained parameters differs from PyTorch's by {err:.1e}", worst
    finally:
        tr.close()
    return None, worst


def checkpoints(hodu, rt, work):
    """Save, load into a fresh trainer, same next step; bad files refused
    and the state left as it was."""
    problems = []
    so, d, rng, params, xshape, nout, _ = build_step(hodu, work, "mlp", "mse", "adamw")
    a, b = Trainer(rt, so), Trainer(rt, so)
    try:
        for step in range(5):
            a.step(list(batch(rng, "mse", xshape, nout)), 0.01)
        ckpt = os.path.join(d, "ckpt.safetensors")
        a.save(ckpt)
        if b.load(ckpt) is not None:
            problems.append(f"a saved checkpoint does not load: {b.err.message.decode()}")
        x, t = batch(rng, "mse", xshape, nout)
        la, lb = a.step([x, t], 0.01), b.step([x, t], 0.01)
        if la != lb or any(not np.array_equal(a.get(k, v.astype(np.float32)), b.get(k, v.astype(np.float32)))
                           for k, v in params.items()):
            problems.append(f"a loaded checkpoint steps differently: loss {lb} against {la}")
        raw = open(ckpt, "rb").read()
        bad = {"truncated": raw[:len(raw) // 2], "empty": b"",
               "header cut": raw[:8] + raw[8:40]}
        # another model's checkpoint: same names, another shape
        other, *_ = build_step(hodu, work, "mlp_wide", "mse", "adamw")
        c = Trainer(rt, other)
        c.save(os.path.join(d, "wide.safetensors"))
        c.close()
        for name, data in bad.items():
            with open(os.path.join(d, f"{name}.safetensors"), "wb") as f:
                f.write(data)
        before = b.get("w1", params["w1"].astype(np.float32))
        for name, why in (("truncated", "data_offsets outside the data"), ("empty", "not a safetensors file"),
                          ("header cut", "header length"), ("wide", "tensor 'w1' is float32[12,6] but the model's is float32[12,10]")):
            msg = b.load(os.path.join(d, f"{name}.safetensors"))
            if msg is None or why not in msg:
                problems.append(f"{name} checkpoint: expected an error with '{why}', got {msg!r}")
        if not np.array_equal(before, b.get("w1", before)):
            problems.append("a refused checkpoint changed the parameters")
    finally:
        a.close()
        b.close()
    return problems


CASES = [
    ("mlp", "mse", "sgd:momentum=0.9,weight_decay=0.001", None),
    ("mlp", "mse", "adamw:weight_decay=0.05", None),
    ("mlp", "l1", "adam", 1.0),
    ("mlp", "cross_entropy", "sgd", None),
    ("mlp", "cross_entropy", "adamw", None),
    ("mlp", "bce_logits", "sgd:momentum=0.5", 0.5),
    ("cnn", "cross_entropy", "sgd:momentum=0.9,weight_decay=0.0005", None),
    ("cnn", "cross_entropy", "adamw", None),
    ("cnn_bn", "cross_entropy", "sgd:momentum=0.9", None),
    ("transformer", "cross_entropy", "sgd:momentum=0.9", 1.0),
    ("transformer", "mse", "adamw:weight_decay=0.01", None),
    ("lstm", "cross_entropy", "adam", 1.0),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--rt", default=os.path.join(REPO, "build", "libhodu_rt.so"))
    ap.add_argument("-k", default="")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--work")
    a = ap.parse_args()
    if not os.access(a.hodu, os.X_OK):
        print(f"train: cannot start: no hodu at {a.hodu}", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    rt = hodurt.load(a.rt)
    work = a.work or tempfile.mkdtemp(prefix="hodu-train-")
    failed = 0
    cases = [c for c in CASES if a.k in " ".join(str(x) for x in c)]
    for model, loss, spec, clip in cases:
        label = f"{model} {loss} {spec}" + (f" clip {clip}" if clip else "")
        try:
            problem, worst = run_case(a.hodu, rt, work, model, loss, spec, a.steps, clip)
        except RuntimeError as e:
            problem, worst = str(e), float("nan")
        if problem:
            failed += 1
            print(f"FAIL {label}: {problem}")
        else:
            print(f"ok {label}: {a.steps} steps, worst relative loss difference {worst:.1e}")
    if not a.k:
        try:
            problems = checkpoints(a.hodu, rt, work)
        except RuntimeError as e:
            problems = [str(e)]
        for p in problems:
            print(f"FAIL checkpoints: {p}")
        if not problems:
            print("ok checkpoints: saved, loaded into a fresh trainer, same next step; truncated, empty, "
                  "cut and mismatched files refused, state kept")
        failed += bool(problems)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    print(f"train: {len(cases) - failed} of {len(cases)} cases pass" + ("" if a.k else ", and the checkpoints"))
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
