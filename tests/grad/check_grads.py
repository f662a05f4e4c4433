#!/usr/bin/env python3
"""Gradients of `hodu --build --grad` against two oracles, op by op.

Each case (cases_*.py beside this file) is a small ONNX graph, usually one
node, and the same function written in PyTorch.  For every case:

  * f32: hodu's X.grad outputs, for random inputs and random output
    gradients Y.grad given at run time, against torch.autograd.grad of the
    PyTorch function; max |hodu - torch| / max |torch| <= 1e-4.
  * f64: the same graph in double; for each differentiated input X, a
    random direction V, and the central difference
    (sum(Y.grad * f(X + eps V)) - sum(Y.grad * f(X - eps V))) / 2 eps
    against sum(X.grad * V), relative error <= 1e-6.

    check_grads.py [--hodu build/hodu] [-k SUBSTRING] [--work DIR] [-j JOBS] [--cflags FLAGS] [-v]

The generated C is compiled at -O0 unless --cflags says otherwise: the
cases check the gradient graphs, which the C compiler's optimisations do
not change, and at -O0 a case builds about ten times faster (the other
tests run the optimised code).

A case marked f64=False has no double lowering in the native backend (said
in the case); it is still checked against PyTorch.
"""
import argparse
import concurrent.futures
import glob
import importlib.util
import os
import subprocess
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

F32_TOL = 1e-4
F64_TOL = 1e-6
EPS = 1e-6


@dataclass
class Case:
    """name: shown in the report.  nodes: onnx NodeProtos (or one op name
    with `attrs`, reading the inputs in order and writing "y").  inputs:
    (name, shape) of f32 inputs, or (name, shape, kind) where kind is
    "positive" (0.5..2), "unit" (-0.9..0.9), "away" (|x| >= 0.1, off the
    kinks), "bool", "int64:LO:HI" (an integer input, not differentiated),
    "int32=A,B,...", "int64=A,B,..." or "f32=A,B,..." (these values; an
    f32 one is float32 in both float types and not differentiated, as
    Resize's scales), "float=A,B,..." (a differentiated float input with
    these values: exact zeros, singular matrices), or "perm:N" (int64 indices, a permutation of
    range(N) cut to the shape).
    consts: initializers (numpy arrays; float ones follow the case's
    float type).  torch: f(t) -> list of outputs, t the dict of torch
    tensors by name.  outputs: names of the graph outputs."""
    name: str
    nodes: object
    inputs: list
    torch: object
    attrs: dict = field(default_factory=dict)
    consts: dict = field(default_factory=dict)
    outputs: list = field(default_factory=lambda: ["y"])
    opset: int = 17
    f64: bool = True
    wrt: list = None  # None: every float input
    ort: bool = False  # also check the f32 forward outputs against onnxruntime
    out_shapes: dict = field(default_factory=dict)


def load_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(HERE, "cases_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        cases.extend(mod.CASES)
    return cases


def gen_input(rng, shape, kind):
    if kind is None:
        return rng.standard_normal(shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if kind == "away":
        x = rng.uniform(0.1, 2.0, shape)
        return x * rng.choice([-1.0, 1.0], shape)
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind.startswith("int64:"):
        _, lo, hi = kind.split(":")
        return rng.integers(int(lo), int(hi), shape).astype(np.int64)
    if kind.startswith("int32="):
        return np.array([int(v) for v in kind[6:].split(",")], np.int32).reshape(shape)
    if kind.startswith("int64="):
        return np.array([int(v) for v in kind[6:].split(",")], np.int64).reshape(shape)
    if kind.startswith("float="):
        return np.array([float(v) for v in kind[6:].split(",")]).reshape(shape)
    if kind.startswith("f32="):
        return np.array([float(v) for v in kind[4:].split(",")], np.float32).reshape(shape)
    if kind.startswith("perm:"):
        n = int(kind.split(":")[1])
        return rng.permutation(n)[:int(np.prod(shape))].reshape(shape).astype(np.int64)
    raise ValueError(kind)


def is_float_kind(kind):
    return kind is None or kind in ("positive", "unit", "away") or kind.startswith("float=")


def make_model(case, dtype):
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    ins = []
    for spec in case.inputs:
        name, shape, kind = (spec + (None,))[:3]
        other = {"bool": TensorProto.BOOL, "int32": TensorProto.INT32,
                 "f32": TensorProto.FLOAT}.get((kind or "").split("=")[0], TensorProto.INT64)
        ins.append(helper.make_tensor_value_info(name, elem if is_float_kind(kind) else other, list(shape)))
    outs = [helper.make_tensor_value_info(o, elem, case.out_shapes.get(o)) for o in case.outputs]
    inits = [numpy_helper.from_array(v.astype(dtype) if v.dtype.kind == "f" else v, k)
             for k, v in case.consts.items()]
    nodes = case.nodes
    if isinstance(nodes, str):
        nodes = [helper.make_node(nodes, [s[0] for s in case.inputs] + list(case.consts), ["y"], **case.attrs)]
    graph = helper.make_graph(nodes, case.name.replace(" ", "_"), ins, outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)])


class Runner:
    def __init__(self, hodu, work, verbose, cflags):
        self.hodu, self.work, self.verbose, self.cflags = hodu, work, verbose, cflags

    def sh(self, cmd):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def build(self, case, dtype, tag):
        d = os.path.join(self.work, f"{case.name.replace(' ', '_')}-{tag}")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "m.onnx")
        onnx.save(make_model(case, dtype), path)
        so = os.path.join(d, "m.so")
        cmd = [self.hodu, "--build", path, "--grad", "-o", so] + (["--cflags", self.cflags] if self.cflags else [])
        for w in case.wrt or []:
            cmd += ["--wrt", w]
        self.sh(cmd)
        return d, so

    def run(self, d, so, feeds, k):
        args = [self.hodu, "--run", so]
        for name, arr in feeds.items():
            f = os.path.join(d, f"in{k}-{name}.npy")
            np.save(f, arr)
            args += ["--input", f"{name}={f}"]
        out = os.path.join(d, f"out{k}")
        args += ["--output-dir", out]
        self.sh(args)
        return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def check_case(case, r, rng):
    import torch

    specs = [(s + (None,))[:3] for s in case.inputs]
    wrt = case.wrt or [n for n, _, k in specs if is_float_kind(k)]
    base = {n: gen_input(rng, shape, k) for n, shape, k in specs}
    problems = []

    # f32 against PyTorch
    d, so = r.build(case, np.float32, "f32")
    feeds = {n: (v.astype(np.float32) if v.dtype.kind == "f" else v) for n, v in base.items()}
    tin = {n: torch.tensor(v, requires_grad=n in wrt) for n, v in feeds.items()}
    for k, v in case.consts.items():
        tin[k] = torch.tensor(v.astype(np.float32) if v.dtype.kind == "f" else v)
    touts = case.torch(tin)
    dys = {o: rng.standard_normal(tuple(t.shape)).astype(np.float32) for o, t in zip(case.outputs, touts)}
    tgrads = torch.autograd.grad(touts, [tin[n] for n in wrt], [torch.tensor(dys[o]) for o in case.outputs],
                                 allow_unused=True)
    got = r.run(d, so, {**feeds, **{f"{o}.grad": v for o, v in dys.items()}}, 0)
    for o, t in zip(case.outputs, touts):
        want = t.detach().numpy()
        if got[o].shape != want.shape or not np.allclose(got[o], want, rtol=1e-4, atol=1e-4 * max(1, np.abs(want).max())):
            problems.append(f"f32 forward {o} differs from torch")
    if case.ort:
        import onnxruntime
        try:
            sess = onnxruntime.InferenceSession(os.path.join(d, "m.onnx"), providers=["CPUExecutionProvider"])
            ort_outs = sess.run(case.outputs, feeds)
        except Exception as e:  # noqa: BLE001 - reported as the case's failure
            problems.append(f"onnxruntime cannot run the case: {e}")
            ort_outs = []
        for o, want in zip(case.outputs, ort_outs):
            if got[o].shape != want.shape or not np.allclose(got[o], want, rtol=1e-4,
                                                             atol=1e-4 * max(1, np.abs(want).max(initial=0))):
                problems.append(f"f32 forward {o} differs from onnxruntime")
    for n, tg in zip(wrt, tgrads):
        want = np.zeros_like(feeds[n]) if tg is None else tg.numpy()
        have = got.get(f"{n}.grad")
        if have is None or have.shape != want.shape:
            problems.append(f"f32 {n}.grad: shape {None if have is None else have.shape}, torch {want.shape}")
            continue
        scale = max(float(np.abs(want).max()), 1e-6)
        err = float(np.abs(have - want).max()) / scale
        if not err <= F32_TOL:
            problems.append(f"f32 {n}.grad vs torch: relative error {err:.2e} > {F32_TOL:g}")
        elif r.verbose:
            print(f"  {case.name}: f32 {n}.grad vs torch {err:.1e}")

    if not case.f64:
        return problems
    # f64 against central differences
    d, so = r.build(case, np.float64, "f64")
    feeds = dict(base)
    dys64 = {o: v.astype(np.float64) for o, v in dys.items()}
    seeds = {f"{o}.grad": v for o, v in dys64.items()}
    got = r.run(d, so, {**feeds, **seeds}, 0)

    def objective(f):
        outs = r.run(d, so, {**f, **seeds}, 1)
        return sum(float(np.sum(dys64[o] * outs[o])) for o in case.outputs)

    for n in wrt:
        v = rng.standard_normal(feeds[n].shape)
        have = got.get(f"{n}.grad")
        if have is None or have.shape != v.shape:
            problems.append(f"f64 {n}.grad: shape {None if have is None else have.shape}, input {v.shape}")
            continue
        plus = objective({**feeds, n: feeds[n] + EPS * v})
        minus = objective({**feeds, n: feeds[n] - EPS * v})
        fd = (plus - minus) / (2 * EPS)
        an = float(np.sum(have * v))
        err = abs(fd - an) / max(abs(fd), abs(an), 1e-3)
        if not err <= F64_TOL:
            problems.append(f"f64 {n}.grad: directional derivative {an:.9g}, central difference {fd:.9g} "
                            f"(relative error {err:.1e} > {F64_TOL:g})")
        elif r.verbose:
            print(f"  {case.name}: f64 {n}.grad vs finite differences {err:.1e}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--work", help="keep the files here")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--cflags", default="-O0", help="for the C compiler (hodu --cflags; '' for hodu's default)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="cases checked at once")
    a = ap.parse_args()
    if not os.access(a.hodu, os.X_OK):
        print(f"grad: cannot start: no hodu at {a.hodu}", file=sys.stderr)
        return 2
    work = a.work or tempfile.mkdtemp(prefix="hodu-grad-")
    os.makedirs(work, exist_ok=True)
    r = Runner(a.hodu, work, a.v, a.cflags)
    cases = [c for c in load_cases() if a.k in c.name]
    names = [c.name for c in cases]
    if len(set(names)) != len(names):  # each case builds in a folder named after it
        print(f"grad: two cases share a name: {sorted({n for n in names if names.count(n) > 1})}")
        return 1
    import torch
    torch.set_num_threads(1)

    def one(case):
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        try:
            return check_case(case, r, rng)
        except RuntimeError as e:
            return [str(e)]

    # the cases are independent: most of their time is hodu and the C
    # compiler in subprocesses, so threads keep the cores busy
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        results = list(pool.map(one, cases))
    failed = []
    for case, problems in zip(cases, results):
        if problems:
            failed.append(case.name)
            for p in problems:
                print(f"FAIL {case.name}: {p}")
        else:
            print(f"ok {case.name}")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    n64 = sum(1 for c in cases if c.f64)
    print(f"grad: {len(cases) - len(failed)} of {len(cases)} cases pass "
          f"(every case against torch in f32, {n64} also against central differences in f64)")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
