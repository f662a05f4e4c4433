#!/usr/bin/env python3
"""Builds tests/script/features.hodu with random weights (a safetensors file
written here), runs it with `hodu --run` and compares with the same
computation in PyTorch (1e-4).  Also checks that a build without --weights
is deterministic for one --seed and differs for another.

Run-time control flow: tests/script/control.hodu against numpy on inputs
that take each branch of each `if` (the script counts them), and the
refusal of an `if` over values with run-time dims.  Slices of a run-time
dim from a start to its end: tests/script/slices.hodu, built once for
T=4..16 and run at several T against PyTorch, and the refusal of a start
the smallest T does not hold.  Run-time loops: tests/script/loops.hodu
against numpy for several trip counts given at run time (0 and negative
ones included).

    run_features.py --hodu build/hodu
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
D, N = 8, 3


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")


def reference(p, x, y):
    t = {k: torch.from_numpy(v) for k, v in p.items()}
    h = torch.from_numpy(x)
    for i in range(N):
        n = F.layer_norm(h, (D,), t[f"layers.{i}.norm.weight"], t[f"layers.{i}.norm.bias"], 1e-5)
        h = h + F.gelu(F.linear(n, t[f"layers.{i}.fc.weight"], t[f"layers.{i}.fc.bias"]))
    h = h * t["s"] - 0.5
    a = h[:, 0:3]
    m = h.mean(dim=-1, keepdim=True)
    f = h[..., 0:4].reshape(h.shape[0], 2, 2).transpose(1, 2).flatten(1)
    yt = torch.from_numpy(y)
    z = a * torch.sigmoid(yt) + m ** 2 / (1.0 + torch.exp(-f[:, 1:4])) + (a * 3.0).to(torch.int32).to(torch.float32)
    z = z + torch.rsqrt(1.0 + yt * yt) * (-7 // 2) + (-7 % 3)
    z = z + torch.floor_divide(a * 3.0, 1.3) * 0.25 + torch.remainder(yt, 0.7) - torch.remainder(-yt, 0.7)
    ai, bi = (a * 7.0).to(torch.int32), (a * 5.0).to(torch.int32)
    z = z + (torch.div(ai, 2, rounding_mode="floor") + torch.remainder(bi, 3)).to(torch.float32)
    last = h[:, -1] - f.sum(dim=1)
    return torch.cat([z, yt * 2.0, last.reshape(-1, 1)], dim=1).numpy()


def build_fails(hodu, src, args, want):
    r = subprocess.run([hodu, "--build", src, *args, "-o", src + ".so"], capture_output=True, text=True)
    if r.returncode == 0 or want not in r.stderr or os.path.exists(src + ".so"):
        raise SystemExit(f"FAIL: {src} {args} should be refused with '{want}':\n{r.stderr}")


def control_reference(p, x, y, flag, taken):
    """tests/script/control.hodu in numpy; `taken` counts the branches."""
    def count(name, cond):
        taken[(name, bool(cond))] = taken.get((name, bool(cond)), 0) + 1
        return cond

    h = x
    if count("sum(x) > 0", x.sum() > 0):
        h = np.maximum(h @ p["fc.weight"].T + p["fc.bias"], 0)
        if count("nested flag", flag):
            h = h * 3
    else:
        t = x - y
        h = t * t
    if count("flag", flag):
        h = h + 1
    h = h * 2.0
    g = h * 0.5 if count("mean(h) > 4", h.mean() > 4) else -h
    a, b = y, g[0]
    hi, lo = (a, b) if count("order", a.sum() >= b.sum()) else (b, a * 2)
    return g, hi, lo


def loops_reference(p, x, n, k):
    """tests/script/loops.hodu in numpy."""
    h = x
    for _ in range(n):
        h = h * np.float32(0.5) + x
    s = np.float32(0)
    for i in range(2, n):
        s = s + np.float32(i)
        if h.sum() > 0:
            s = s + np.float32(1)
    z = x
    for _ in range(k):
        for _ in range(n):
            z = np.tanh(z @ p["fc.weight"].T + p["fc.bias"])
        z = z + np.float32(0.2)
    return h, np.array(s, dtype=np.float32), z


def check_loops(hodu, tmp, rng):
    src = os.path.join(HERE, "loops.hodu")
    p = {"fc.weight": (rng.standard_normal((4, 4)) * 0.5).astype(np.float32),
         "fc.bias": rng.standard_normal(4).astype(np.float32)}
    w = os.path.join(tmp, "loops.safetensors")
    save_file(p, w)
    # four run-time fors, each a Loop node with a body (one nested); no unrolling
    ir = subprocess.run([hodu, "--dump-ir", src, "--weights", w], capture_output=True, text=True).stdout
    if ir.count("= Loop(") != 4 or ir.count("body:") != 4:
        raise SystemExit(f"FAIL loops: expected four Loop nodes with bodies in --dump-ir:\n{ir}")
    so = os.path.join(tmp, "loops.so")
    sh([hodu, "--build", src, "--weights", w, "-o", so])
    cases = [(0, 0), (1, 1), (2, 3), (5, 0), (7, 2), (-3, 1), (0, 4), (3, -1)]
    for i, (n, k) in enumerate(cases):
        x = (rng.standard_normal(4) + (1.0 if i % 2 else -1.0)).astype(np.float32)
        d = os.path.join(tmp, f"l{i}")
        os.makedirs(d)
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "n.npy"), np.array(n, dtype=np.int64))
        np.save(os.path.join(d, "k.npy"), np.array([k], dtype=np.int64))
        sh([hodu, "--run", so, "--input", f"x={d}/x.npy", "--input", f"n={d}/n.npy", "--input", f"k={d}/k.npy",
            "--output-dir", d])
        for name, want in zip(("h", "s", "z"), loops_reference(p, x, n, k)):
            got = np.load(os.path.join(d, name + ".npy"))
            if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-4):
                raise SystemExit(f"FAIL loops run {i} (n={n}, k={k}) output {name}:\n{got}\nwant\n{want}")
    print(f"ok loops: {len(cases)} runs, trip counts given at run time")


def check_control(hodu, tmp, rng):
    src = os.path.join(HERE, "control.hodu")
    p = {"fc.weight": rng.standard_normal((4, 4)).astype(np.float32),
         "fc.bias": rng.standard_normal(4).astype(np.float32)}
    w = os.path.join(tmp, "control.safetensors")
    save_file(p, w)
    # five ifs on tensors, each an If node (one nested in a branch), not a select
    ir = subprocess.run([hodu, "--dump-ir", src, "--weights", w], capture_output=True, text=True).stdout
    if ir.count("= If(") != 5 or ir.count("then_branch:") != 5 or "Where(" in ir:
        raise SystemExit(f"FAIL control: expected five If nodes with branches in --dump-ir:\n{ir}")
    so = os.path.join(tmp, "control.so")
    sh([hodu, "--build", src, "--weights", w, "-o", so])
    taken = {}
    for i in range(16):
        # the signs vary so that every condition goes both ways
        x = (rng.standard_normal((2, 4)) + (1.0 if i % 2 else -1.0)).astype(np.float32)
        y = (rng.standard_normal(4) * (0.2 if i % 4 < 2 else 3.0)).astype(np.float32)
        flag = np.array(i % 8 < 4)
        d = os.path.join(tmp, f"c{i}")
        os.makedirs(d)
        for name, v in (("x", x), ("y", y), ("flag", flag)):
            np.save(os.path.join(d, name + ".npy"), v)
        sh([hodu, "--run", so, "--input", f"x={d}/x.npy", "--input", f"y={d}/y.npy", "--input",
            f"flag={d}/flag.npy", "--output-dir", d])
        for name, want in zip(("g", "hi", "lo"), control_reference(p, x, y, flag, taken)):
            got = np.load(os.path.join(d, name + ".npy"))
            if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-4):
                raise SystemExit(f"FAIL control run {i} output {name}:\n{got}\nwant\n{want}")
    missing = [(n, v) for n in ("sum(x) > 0", "nested flag", "flag", "mean(h) > 4", "order") for v in (True, False)
               if (n, v) not in taken]
    if missing:
        raise SystemExit(f"FAIL control: the inputs never take {missing}")
    print(f"ok control: 16 runs, every branch taken ({len(taken)} of 10)")
    # Run-time dims inside an If are refused by the IR for now.
    rt = os.path.join(tmp, "control_rt.hodu")
    with open(rt, "w") as f:
        f.write("module M() {\n    fn forward(x: f32[B, 4], flag: bool[]) -> f32[B, 4] {\n        let h = x\n"
                "        if flag {\n            h = x * 2.0\n        }\n        return h\n    }\n}\n"
                "export model = M()\n")
    # over a run-time B: the If's branches are inlined under its condition
    sh([hodu, "--build", rt, "--dim", "B=1..4", "-o", rt + ".so"])
    for b, flag in ((1, True), (3, False), (4, True)):
        x = rng.standard_normal((b, 4)).astype(np.float32)
        d = os.path.join(tmp, f"rt{b}")
        os.makedirs(d)
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "flag.npy"), np.array(flag))
        sh([hodu, "--run", rt + ".so", "--input", f"x={d}/x.npy", "--input", f"flag={d}/flag.npy", "--output-dir", d])
        got, want = np.load(os.path.join(d, "output.npy")), x * 2.0 if flag else x
        if got.shape != want.shape or not np.allclose(got, want):
            raise SystemExit(f"FAIL control over a run-time B={b} flag={flag}: got {got.tolist()}")
    sh([hodu, "--build", rt, "--dim", "B=3", "-o", rt + ".so"])
    print("ok control: over a run-time B (1, 3, 4, both branches) and a bound B")


def check_slices(hodu, tmp, rng):
    src = os.path.join(HERE, "slices.hodu")
    so = os.path.join(tmp, "slices.so")
    sh([hodu, "--build", src, "--dim", "B=1..3", "--dim", "T=4..16", "-o", so])
    for b, t in ((1, 4), (3, 9), (2, 16)):
        x = rng.standard_normal((b, t, 4)).astype(np.float32)
        d = os.path.join(tmp, f"s{t}")
        os.makedirs(d)
        np.save(os.path.join(d, "x.npy"), x)
        sh([hodu, "--run", so, "--input", f"x={d}/x.npy", "--output-dir", d])
        xt = torch.from_numpy(x)
        want = {"a": xt[:, 1:], "b": xt[:, 2:][:, 1:], "c": xt[:, 1:] * 2.0 + xt[:, 1:]}
        for name, w in want.items():
            got = np.load(os.path.join(d, name + ".npy"))
            if got.shape != tuple(w.shape) or not np.allclose(got, w.numpy(), rtol=1e-5, atol=1e-5):
                raise SystemExit(f"FAIL slices T={t} output {name}: shape {got.shape}, want {tuple(w.shape)}")
    print("ok slices: T-1 and T-3 at T = 4, 9, 16")
    # x[:, 2:][:, 1:] needs T >= 3 in every run
    build_fails(hodu, src, ["--dim", "B=1..3", "--dim", "T=2..16"], "it would slice a run-time dim other than")
    print("ok slices: a start past the smallest T is refused")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(3)
    p = {"s": rng.standard_normal(D).astype(np.float32)}
    for i in range(N):
        p[f"layers.{i}.norm.weight"] = rng.standard_normal(D).astype(np.float32)
        p[f"layers.{i}.norm.bias"] = rng.standard_normal(D).astype(np.float32)
        p[f"layers.{i}.fc.weight"] = (rng.standard_normal((D, D)) / np.sqrt(D)).astype(np.float32)
        p[f"layers.{i}.fc.bias"] = rng.standard_normal(D).astype(np.float32)
    src = os.path.join(HERE, "features.hodu")
    with tempfile.TemporaryDirectory() as tmp:
        w = os.path.join(tmp, "w.safetensors")
        save_file(p, w)
        so = os.path.join(tmp, "f.so")
        sh([a.hodu, "--build", src, "--weights", w, "--dim", "B=5", "-o", so])
        x = rng.standard_normal((5, D)).astype(np.float32)
        y = rng.standard_normal((5, 3)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        np.save(os.path.join(tmp, "y.npy"), y)

        def run(lib, out):
            sh([a.hodu, "--run", lib, "--input", f"x={tmp}/x.npy", "--input", f"y={tmp}/y.npy", "--output-dir", out])
            return np.load(os.path.join(out, "output.npy"))

        got = run(so, os.path.join(tmp, "o1"))
        want = reference(p, x, y)
        err = float(np.max(np.abs(got - want)))
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            raise SystemExit(f"FAIL features: shape {got.shape} vs {want.shape}, max abs error {err}")
        print(f"ok features: max abs error {err:.2e}")

        # initializers: the same seed gives the same model, another seed another
        outs = []
        for seed in (1, 1, 2):
            lib = os.path.join(tmp, f"s{seed}-{len(outs)}.so")
            sh([a.hodu, "--build", src, "--seed", str(seed), "--dim", "B=5", "-o", lib])
            outs.append(run(lib, os.path.join(tmp, f"os{len(outs)}")))
        if not np.array_equal(outs[0], outs[1]) or np.array_equal(outs[0], outs[2]):
            raise SystemExit("FAIL seeds: --seed does not decide the initial parameters")
        print("ok seeds")
        check_control(a.hodu, tmp, rng)
        check_loops(a.hodu, tmp, rng)
        check_slices(a.hodu, tmp, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
