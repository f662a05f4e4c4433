#!/usr/bin/env python3
"""DFT and STFT against onnxruntime at lengths that are not powers of two.

    ort_check.py --hodu PATH [--seed S] [--work DIR]

One model (opset 20) holds every case as its own output: for each length n
in 12, 15, 97 and 400 (smooth, odd, prime, and a mixed one), DFT forward
and inverse on complex input, onesided forward on real input (RFFT),
onesided inverse (IRFFT), a padded and a truncated dft_length, a DFT over
the first axis, and STFT onesided on a real signal and two-sided on a
complex one with a Hann window.  The signals and the window are graph
inputs given at run time (seeded random values); axis, dft_length,
frame_step and frame_length are initializers (they fix shapes).  The model
is built once by the real `hodu`, run once, and every output must agree with
onnxruntime's to

    max|hodu - ort| <= 5e-4 * max|ort| + 1e-5

(onnxruntime computes these lengths in float32 with errors near 1e-4 of
the largest value at n = 400), and the DFT outputs also with numpy's
float64 FFT to 1e-5 * max|numpy| + 1e-6 (hodu transforms in double).

A second model takes the shape-deciding operands as graph inputs, as a
user would give them: the DFT axis (forward and inverse over a [4, 6, 5]
complex signal, where axes 0, 1 and 2 all give the declared shape),
STFT's frame_step and frame_length (15 or 14 samples both give 8 bins),
a window's size and every MelWeightMatrix operand.  It is built once and
run with axis 0, 1 and -2 and frame lengths 15 and 14, each run against
onnxruntime on the same values.

Exit status 0 when all agree, 1 on any disagreement or failure, including a
missing numpy, onnx or onnxruntime: nothing is skipped.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import onnxruntime as ort
except ImportError as exc:
    print(f"signal ort_check: FAIL: {exc} (the test needs numpy, onnx and onnxruntime: .venv/bin/python)")
    sys.exit(1)

LENGTHS = (12, 15, 97, 400)


def build_model():
    nodes, inits, inputs, outputs = [], [], [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.array(value, dtype=np.int64), name))
        return name

    def inp(name, shape):
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def out(name, node):
        nodes.append(node)
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))

    ax1 = const("ax1", 1)
    ax0 = const("ax0", 0)
    for n in LENGTHS:
        xr = inp(f"xr{n}", [2, n, 1])
        xc = inp(f"xc{n}", [2, n, 2])
        xh = inp(f"xh{n}", [2, n // 2 + 1, 2])
        xa = inp(f"xa{n}", [n, 3, 2])
        sr = inp(f"sr{n}", [2, 3 * n, 1])
        sc = inp(f"sc{n}", [1, 2 * n + 5, 2])
        win = inp(f"win{n}", [n])
        ln = const(f"len{n}", n)
        pad = const(f"pad{n}", n + 7)
        cut = const(f"short{n}", n - 3)
        step = const(f"step{n}", n // 2)
        dft = lambda o, ins, **kw: out(o, helper.make_node("DFT", ins, [o], **kw))
        dft(f"fwd{n}", [xc, "", ax1])
        dft(f"inv{n}", [xc, "", ax1], inverse=1)
        dft(f"rfft{n}", [xr, "", ax1], onesided=1)
        dft(f"irfft{n}", [xh, ln, ax1], inverse=1, onesided=1)
        dft(f"padded{n}", [xr, pad, ax1])
        dft(f"cut{n}", [xc, cut, ax1], inverse=1)
        dft(f"axis0_{n}", [xa, "", ax0])
        out(f"stft{n}", helper.make_node("STFT", [sr, step, "", ln], [f"stft{n}"]))
        out(f"stftw{n}", helper.make_node("STFT", [sc, step, win, ln], [f"stftw{n}"], onesided=0))
    graph = helper.make_graph(nodes, "signal_ort", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    return model


def build_runtime_model():
    def vi(name, t, shape):
        return helper.make_tensor_value_info(name, t, shape)

    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    inputs = [vi("xc", f32, [4, 6, 5, 2]), vi("axis", i64, []), vi("sr", f32, [2, 60, 1]), vi("step", i64, []),
              vi("flen", i64, []), vi("wsize", i64, []), vi("mels", i64, []), vi("dftlen", i64, []),
              vi("rate", i64, []), vi("lo", f32, []), vi("hi", f32, [])]
    nodes = [
        helper.make_node("DFT", ["xc", "", "axis"], ["dft_rt"]),
        helper.make_node("DFT", ["xc", "", "axis"], ["idft_rt"], inverse=1),
        helper.make_node("STFT", ["sr", "step", "", "flen"], ["stft_rt"]),
        helper.make_node("HannWindow", ["wsize"], ["hann_rt"], periodic=0),
        helper.make_node("BlackmanWindow", ["wsize"], ["blackman_rt"]),
        helper.make_node("MelWeightMatrix", ["mels", "dftlen", "rate", "lo", "hi"], ["mel_rt"]),
    ]
    outputs = [vi("dft_rt", f32, [4, 6, 5, 2]), vi("idft_rt", f32, [4, 6, 5, 2]), vi("stft_rt", f32, [2, 10, 8, 2]),
               vi("hann_rt", f32, [15]), vi("blackman_rt", f32, [15]), vi("mel_rt", f32, [9, 6])]
    graph = helper.make_graph(nodes, "signal_rt", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    return model


def output_file(name):
    # the name `hodu --run --output-dir` gives an output's file
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200] + ".npy"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hodu", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work")
    a = ap.parse_args(argv)
    work = a.work or tempfile.mkdtemp(prefix="hodu_signal_")
    os.makedirs(work, exist_ok=True)
    model = build_model()
    path = os.path.join(work, "signal.onnx")
    onnx.save(model, path)

    rng = np.random.default_rng(a.seed)
    feeds, args = {}, []
    for vi in model.graph.input:
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        v = rng.standard_normal(shape).astype(np.float32)
        if vi.name.startswith("win"):
            v = np.abs(v)
        feeds[vi.name] = v
        f = os.path.join(work, f"{vi.name}.npy")
        np.save(f, v)
        args += ["--input", f"{vi.name}={f}"]

    so = os.path.join(work, "model.so")
    out_dir = os.path.join(work, "out")
    for cmd in ([a.hodu, "--build", path, "-o", so], [a.hodu, "--run", so, "--output-dir", out_dir] + args):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                           timeout=300)
        if p.returncode != 0:
            print(f"signal ort_check: FAIL: {' '.join(cmd[:2])} exited {p.returncode}: {p.stdout.strip()[:2000]}")
            return 1

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    want = dict(zip(names, sess.run(names, feeds)))
    # numpy in float64, for the DFT cases
    c = lambda v: v[..., 0].astype(np.float64) + 1j * v[..., 1]
    pair = lambda z: np.stack([z.real, z.imag], -1)
    exact = {}
    for n in LENGTHS:
        f = lambda k: feeds[f"{k}{n}"]
        exact[f"fwd{n}"] = pair(np.fft.fft(c(f("xc")), axis=1))
        exact[f"inv{n}"] = pair(np.fft.ifft(c(f("xc")), axis=1))
        exact[f"rfft{n}"] = pair(np.fft.rfft(f("xr")[..., 0].astype(np.float64), axis=1))
        exact[f"irfft{n}"] = np.fft.irfft(c(f("xh")), n=n, axis=1)[..., None]
        exact[f"padded{n}"] = pair(np.fft.fft(f("xr")[..., 0].astype(np.float64), n=n + 7, axis=1))
        exact[f"cut{n}"] = pair(np.fft.ifft(c(f("xc")), n=n - 3, axis=1))
        exact[f"axis0_{n}"] = pair(np.fft.fft(c(f("xa")), axis=0))
    bad = 0
    for name in names:
        got = np.load(os.path.join(out_dir, output_file(name)))
        ref = want[name]
        if got.shape != ref.shape or got.dtype != ref.dtype:
            print(f"  {name}: shape/dtype {got.shape} {got.dtype} vs onnxruntime {ref.shape} {ref.dtype}")
            bad += 1
            continue
        err = float(np.max(np.abs(got.astype(np.float64) - ref)))
        scale = float(np.max(np.abs(ref)))
        ok = err <= 5e-4 * scale + 1e-5
        note = ""
        if name in exact:
            e64 = float(np.max(np.abs(got - exact[name])))
            ok64 = e64 <= 1e-5 * float(np.max(np.abs(exact[name]))) + 1e-6
            note = f", vs numpy float64 {e64:.3g}" + ("" if ok64 else " DISAGREE")
            ok = ok and ok64
        bad += not ok
        print(f"  {name:10s} {str(list(ref.shape)):18s} max err {err:.3g} (max |ort| {scale:.3g}){note}"
              f"{'' if ok else '  DISAGREE'}")
    print(f"signal ort_check: {len(names) - bad} of {len(names)} outputs agree with onnxruntime")
    return check_runtime(a, work, rng) + (1 if bad else 0)


def run_cmd(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", timeout=300)
    if p.returncode != 0:
        print(f"signal ort_check: FAIL: {' '.join(cmd[:2])} exited {p.returncode}: {p.stdout.strip()[:2000]}")
    return p.returncode == 0


def check_runtime(a, work, rng):
    """The run-time operand model, built once and run with several values."""
    model = build_runtime_model()
    path = os.path.join(work, "signal_rt.onnx")
    onnx.save(model, path)
    so = os.path.join(work, "model_rt.so")
    if not run_cmd([a.hodu, "--build", path, "-o", so]):
        return 1
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    base = {"xc": rng.standard_normal([4, 6, 5, 2]).astype(np.float32),
            "sr": rng.standard_normal([2, 60, 1]).astype(np.float32), "step": np.array(5, np.int64),
            "wsize": np.array(15, np.int64), "mels": np.array(6, np.int64), "dftlen": np.array(16, np.int64),
            "rate": np.array(8000, np.int64), "lo": np.array(100, np.float32), "hi": np.array(3500, np.float32)}
    bad = total = 0
    for axis, flen in ((0, 15), (1, 14), (-2, 15)):
        feeds = dict(base, axis=np.array(axis, np.int64), flen=np.array(flen, np.int64))
        args = []
        for k, v in feeds.items():
            f = os.path.join(work, f"rt_{k}.npy")
            np.save(f, v)
            args += ["--input", f"{k}={f}"]
        out_dir = os.path.join(work, f"out_rt{axis}")
        if not run_cmd([a.hodu, "--run", so, "--output-dir", out_dir] + args):
            return 1
        want = dict(zip(names, sess.run(names, feeds)))
        for name in names:
            got, ref = np.load(os.path.join(out_dir, output_file(name))), want[name]
            total += 1
            if got.shape != ref.shape or got.dtype != ref.dtype:
                print(f"  {name} (axis {axis}, frame_length {flen}): shape/dtype {got.shape} {got.dtype} vs "
                      f"onnxruntime {ref.shape} {ref.dtype}")
                bad += 1
                continue
            err = float(np.max(np.abs(got.astype(np.float64) - ref)))
            scale = float(np.max(np.abs(ref)))
            ok = err <= 5e-4 * scale + 1e-5
            bad += not ok
            print(f"  {name:11s} axis {axis:2d} frame_length {flen}: max err {err:.3g} (max |ort| {scale:.3g})"
                  f"{'' if ok else '  DISAGREE'}")
    print(f"signal ort_check: {total - bad} of {total} run-time operand outputs agree with onnxruntime")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
