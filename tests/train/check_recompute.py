#!/usr/bin/env python3
"""Recomputation in the training step's memory plan (--recompute).

The CNN and the transformer of bench/train.py (exported from their PyTorch
modules) are built as AdamW training steps twice, with `--recompute auto`
and `--recompute none`.  The workspace `hodu --inspect` reports must be
smaller with auto, and from the same parameters and batches the two steps
must give the same losses, bit for bit, over a few steps, and the same
parameters after them: a recomputed value is the same op on the same
operands.  The first loss must also match PyTorch's (1e-3 relative), so
both builds compute the right thing.

    check_recompute.py [--hodu build/hodu] [--rt build/libhodu_rt.so] [--steps 4] [-k NAME]
"""
import argparse
import ctypes as C
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))
import hodurt  # noqa: E402

# the models the training bench times
_spec = importlib.util.spec_from_file_location("bench_train", os.path.join(REPO, "bench", "train.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def workspace(hodu, so):
    m = re.search(r"workspace: (\d+) bytes", run([hodu, "--inspect", so]))
    if not m:
        raise SystemExit(f"FAIL: hodu --inspect {so} reports no workspace")
    return int(m.group(1))


class TensorDesc(C.Structure):  # hodu_tensor_desc (hodu_abi.h)
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int32), ("rank", C.c_int32), ("dims", C.POINTER(C.c_int64)),
                ("min_dims", C.POINTER(C.c_int64)), ("dim_names", C.c_void_p)]


def train(rt, so, batches):
    """Losses of one step per batch from the built-in parameters, and the
    trainer's state (parameters, optimizer tensors) after them."""
    err, model, tr = hodurt.Error(), C.c_void_p(), C.c_void_p()
    if rt.hodu_model_open(so.encode(), C.byref(model), C.byref(err)) or \
            rt.hodu_trainer_create(model, None, C.byref(tr), C.byref(err)):
        raise SystemExit(f"FAIL {so}: {err.message.decode()}")
    losses, loss = [], C.c_float()
    for i, (x, t) in enumerate(batches):
        ins = (hodurt.Tensor * 2)(hodurt.tensor(x), hodurt.tensor(t))
        if rt.hodu_trainer_step(tr, ins, 2, 1e-3 * (1 + i), C.byref(loss), C.byref(err)):
            raise SystemExit(f"FAIL {so}: {err.message.decode()}")
        losses.append(loss.value)
    params = {}
    for i in range(rt.hodu_trainer_num_state(tr)):  # every parameter and optimizer tensor
        desc = rt.hodu_trainer_state(tr, i).contents
        if desc.dtype != hodurt.DTYPES["float32"]:
            raise SystemExit(f"FAIL {so}: state {desc.name.decode()} is not float32")
        out = np.zeros([desc.dims[k] for k in range(desc.rank)], np.float32)
        view = hodurt.tensor(out)
        if rt.hodu_trainer_get(tr, desc.name, C.byref(view), C.byref(err)):
            raise SystemExit(f"FAIL {so} {desc.name.decode()}: {err.message.decode()}")
        params[desc.name.decode()] = out
    rt.hodu_trainer_destroy(tr)
    rt.hodu_model_close(model)
    return losses, params


def make(cls):
    torch.manual_seed(0)  # the same weights in this process and the exporting one
    return cls()


def export(name, path):
    """Exports bench model `name` in a child process without LD_PRELOAD: in a
    sanitizer build the tests preload ASan, whose interceptor cannot pass
    the C++ exceptions torch.onnx.export throws inside."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--export", name, path], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: exporting {name}\n{r.stdout}{r.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--rt", default=os.path.join(REPO, "build", "libhodu_rt.so"))
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("-k", default="")
    ap.add_argument("--export", nargs=2, metavar=("MODEL", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.export:
        name, path = a.export
        cls, shape = next((c, sh) for n, c, sh in bench.MODELS if n == name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(make(cls), (torch.zeros(shape),), path, input_names=["x"], output_names=["y"],
                              opset_version=17, dynamo=False)
        return 0
    rt = hodurt.load(a.rt)
    rt.hodu_trainer_state.argtypes = [C.c_void_p, C.c_size_t]
    rt.hodu_trainer_state.restype = C.POINTER(TensorDesc)
    check = hodurt.Checks()
    with tempfile.TemporaryDirectory() as tmp:
        for name, cls, shape in bench.MODELS:
            if name == "mlp" or a.k not in name:
                continue
            net = make(cls)
            path = os.path.join(tmp, f"{name}.onnx")
            export(name, path)
            rng = np.random.default_rng(1)
            batches = [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0]).astype(np.int64))
                       for _ in range(a.steps)]
            result = {}
            for mode in ("none", "auto"):
                so = os.path.join(tmp, f"{name}.{mode}.so")
                # -O1: this checks the plan, not the C compiler's speed
                run([a.hodu, "--build", path, "--train", "--loss", "cross_entropy", "--optimizer", "adamw",
                     "--recompute", mode, "--cflags", "-O1", "-o", so])
                result[mode] = (workspace(a.hodu, so), *train(rt, so, batches))
            (ws_none, loss_none, p_none), (ws_auto, loss_auto, p_auto) = result["none"], result["auto"]
            print(f"{name}: workspace {ws_none} bytes with --recompute none, {ws_auto} with auto "
                  f"({100 * (1 - ws_auto / ws_none):.1f}% less); losses {loss_auto}")
            check(ws_auto < ws_none, f"{name}: workspace with auto ({ws_auto}) below none's ({ws_none})")
            check(loss_auto == loss_none, f"{name}: the same losses with and without recomputation "
                                          f"({loss_auto} against {loss_none})")
            check(p_auto.keys() == p_none.keys() and all(np.array_equal(p_auto[p], p_none[p]) for p in p_none),
                  f"{name}: the same parameters and optimizer state after {a.steps} steps ({len(p_none)} tensors)")
            x0, t0 = (torch.from_numpy(v) for v in batches[0])
            ref = nn.functional.cross_entropy(net(x0), t0).item()
            check(abs(loss_auto[0] - ref) <= 1e-3 * abs(ref), f"{name}: first loss {loss_auto[0]} against "
                                                                f"PyTorch's {ref}")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
