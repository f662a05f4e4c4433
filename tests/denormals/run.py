#!/usr/bin/env python3
"""The denormals test: a model runs with subnormal floats flushed, unless built to keep them.

    run.py [--hodu PATH] [--work DIR]

One model with two outputs over 2^20 float32 elements each (big enough
that each node runs as tasks on a second thread), p = x * s and q = z + w,
built twice by the real `hodu`:

  flush  hodu --build m.onnx -o flush.so                  (the default)
  keep   hodu --build m.onnx -o keep.so --keep-denormals

and run with `hodu --run --threads T`, T = 1 and 2, on seeded inputs given at
run time where most products x*s are subnormal and most z are subnormal.
Checks, against numpy's IEEE float32:

  flush  where the product is subnormal, p is zero (FTZ); where z is
         subnormal it reads as zero (DAZ: q = w); every other element
         equals numpy's bit for bit;
  keep   every element equals numpy's bit for bit.

on both thread counts, so tasks on the pool's threads are flushed too.
Exit status 0 when every check holds, 1 otherwise, 2 when the test cannot
start.  Nothing is skipped.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from clitest import CliTest  # noqa: E402

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
except ImportError as e:
    print(f"denormals: cannot start: {e}", file=sys.stderr)
    sys.exit(2)

N = 1 << 20
TINY = np.finfo(np.float32).tiny  # smallest normal float32


def write_model(path):
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [N]) for n in ("x", "s", "z", "w", "p", "q")]
    nodes = [helper.make_node("Mul", ["x", "s"], ["p"]), helper.make_node("Add", ["z", "w"], ["q"])]
    graph = helper.make_graph(nodes, "denormals", vi[:4], vi[4:])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def make_inputs(work):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(N) * 1e-20).astype(np.float32)
    s = (rng.standard_normal(N) * 1e-19).astype(np.float32)
    z = (rng.uniform(-0.9, 0.9, N) * TINY).astype(np.float32)
    w = np.zeros(N, np.float32)
    # a quarter of each ordinary
    x[::4] = rng.standard_normal(N // 4).astype(np.float32)
    s[::4] = rng.standard_normal(N // 4).astype(np.float32)
    w[::4] = rng.standard_normal(N // 4).astype(np.float32)
    vals = {"x": x, "s": s, "z": z, "w": w}
    feeds = {}
    for name, v in vals.items():
        feeds[name] = os.path.join(work, name + ".npy")
        np.save(feeds[name], v)
    return vals, feeds


def subnormal(a):
    return (a != 0) & (np.abs(a) < TINY)


def flush(a):
    return np.where(subnormal(a), np.float32(0), a)


def check(label, got, v, flushed):
    ieee = {"p": v["x"] * v["s"], "q": v["z"] + v["w"]}
    # FTZ on the product; DAZ on the addend (z + w with z read as zero)
    want = {"p": flush(ieee["p"]), "q": flush(flush(v["z"]) + v["w"])} if flushed else ieee
    errors = []
    for name in ("p", "q"):
        if np.count_nonzero(subnormal(ieee[name])) < N // 2:
            errors.append(f"{label}: too few subnormal results in {name} to test anything")
        # zeros compare by value: a flushed negative result may be -0
        bad = np.count_nonzero((got[name].view(np.uint32) != want[name].view(np.uint32)) &
                               ((got[name] != 0) | (want[name] != 0)))
        if bad:
            errors.append(f"{label}: {name}: {bad} elements differ from the "
                          f"{'flushed' if flushed else 'IEEE float32'} result")
    return errors


def main():
    t = CliTest("denormals", __doc__)
    errors = []
    try:
        model = t.path("m.onnx")
        write_model(model)
        vals, feeds = make_inputs(t.work)
        feed_args = [arg for n, f in feeds.items() for arg in ("--input", f"{n}={f}")]
        for kind, extra in (("flush", []), ("keep", ["--keep-denormals"])):
            lib = t.path(kind + ".so")
            t.run([t.hodu, "--build", model, "-o", lib] + extra)
            for threads in (1, 2):
                out = t.path(f"{kind}-{threads}")
                t.run([t.hodu, "--run", lib, "--threads", str(threads), "--output-dir", out] + feed_args)
                got = {n: np.load(os.path.join(out, n + ".npy")) for n in ("p", "q")}
                label = f"{kind}, {threads} thread{'s' if threads > 1 else ''}"
                errs = check(label, got, vals, kind == "flush")
                print(f"{label}: {'ok' if not errs else 'FAILED'}")
                errors += errs
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        errors.append(str(e))
    return t.finish(errors)


if __name__ == "__main__":
    sys.exit(main())
