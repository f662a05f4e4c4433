#!/usr/bin/env python3
"""String tensors through libhodu_rt itself (ctypes), not only `hodu --run`.

Models built by the real `hodu` (StringConcat with broadcasting, StringSplit
with its unbounded token dim, RegexFullMatch) run through the C API; the
oracles are numpy and Python's own str methods and re module.  Checked:
the results; that the strings one instance returns stay valid while
another instance runs and until the instance's next run; that an
unbounded output comes back in the instance's memory with its dims; and
that a host allocator returning NULL makes the run fail with the node's
check, never a crash.

    run.py --hodu build/hodu --rt build/libhodu_rt.so
"""

from __future__ import annotations

import argparse
import ctypes as C
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from hodurt import (ALLOC_FN, DECODE_FN, ERR_INVALID_ARG, MAX_RANK, PFOR_FN, TASK_FN, Checks, Error,  # noqa: E402,F401
                    Exec, Options, Tensor, load)



class HString(C.Structure):
    _fields_ = [("data", C.c_void_p), ("size", C.c_uint64)]








check = Checks()


def build(hodu: str, model, path: str) -> str:
    onnx_path = path + ".onnx"
    with open(onnx_path, "wb") as f:
        f.write(model.SerializeToString())
    subprocess.run([hodu, "--build", onnx_path, "-o", path + ".so"], check=True)
    return path + ".so"


class Strings:
    """A string tensor in C memory; keeps its bytes alive."""

    def __init__(self, values):
        arr = np.asarray(values, dtype=object)
        self.bufs = [C.create_string_buffer(s.encode("utf-8")) for s in arr.ravel()]
        self.elems = (HString * max(1, arr.size))()
        for i, (s, b) in enumerate(zip(arr.ravel(), self.bufs)):
            self.elems[i] = HString(C.cast(b, C.c_void_p), len(s.encode("utf-8")))
        self.t = Tensor(8, arr.ndim, (C.c_int64 * MAX_RANK)(*arr.shape), C.cast(self.elems, C.c_void_p),
                        C.sizeof(HString) * arr.size)


def read_strings(t: Tensor) -> np.ndarray:
    n = int(np.prod([t.dims[i] for i in range(t.rank)], dtype=np.int64))
    elems = C.cast(t.data, C.POINTER(HString)) if n else None
    out = [C.string_at(elems[i].data, elems[i].size).decode("utf-8") if elems[i].size else "" for i in range(n)]
    return np.array(out, dtype=object).reshape([t.dims[i] for i in range(t.rank)])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hodu", required=True)
    ap.add_argument("--rt", required=True)
    a = ap.parse_args()
    rt = load(os.path.abspath(a.rt))

    S = TensorProto.STRING
    vi = helper.make_tensor_value_info
    with tempfile.TemporaryDirectory(prefix="hodu-strings-") as tmp:
        cat = helper.make_model(helper.make_graph(
            [helper.make_node("StringConcat", ["x", "y"], ["z"], name="cat")], "cat",
            [vi("x", S, [3]), vi("y", S, [1])], [vi("z", S, [3])]), opset_imports=[helper.make_opsetid("", 20)])
        split = helper.make_model(helper.make_graph(
            [helper.make_node("StringSplit", ["x"], ["t", "n"], name="split"),
             helper.make_node("RegexFullMatch", ["x"], ["m"], name="re", pattern=r"[a-z]+( \w+)*")], "split",
            [vi("x", S, [2, 2])], [vi("t", S, None), vi("n", TensorProto.INT64, [2, 2]), vi("m", TensorProto.BOOL, [2, 2])]),
            opset_imports=[helper.make_opsetid("", 20)])
        cat_so = build(a.hodu, cat, os.path.join(tmp, "cat"))
        split_so = build(a.hodu, split, os.path.join(tmp, "split"))
        err = Error()

        m = C.c_void_p()
        assert rt.hodu_model_open(cat_so.encode(), C.byref(m), C.byref(err)) == 0, err.message
        i1, i2 = C.c_void_p(), C.c_void_p()
        assert rt.hodu_instance_create(m, C.byref(i1), C.byref(err)) == 0, err.message
        assert rt.hodu_instance_create(m, C.byref(i2), C.byref(err)) == 0, err.message

        def run_cat(inst, xs, ys):
            x, y = Strings(xs), Strings(ys)
            out = Tensor()
            dims = (C.c_int64 * 1)(3)
            assert rt.hodu_tensor_alloc(C.byref(out), 8, 1, dims, C.byref(err)) == 0
            ins = (Tensor * 2)(x.t, y.t)
            rc = rt.hodu_instance_run(inst, ins, 2, C.byref(out), 1, C.byref(err))
            return rc, out, (x, y)

        xs1, ys1 = ["cat", "d\u00f6g", ""], ["s!"]
        rc, out1, keep1 = run_cat(i1, xs1, ys1)
        want1 = np.char.add(np.array(xs1), np.array(ys1)).astype(object)
        check(rc == 0 and (read_strings(out1) == want1).all(), "StringConcat with broadcasting through libhodu_rt")
        xs2, ys2 = ["x" * 100000, "y", "\u4e2d"], ["z"]
        rc, out2, keep2 = run_cat(i2, xs2, ys2)
        check(rc == 0 and (read_strings(out2) == np.char.add(np.array(xs2), np.array(ys2)).astype(object)).all(),
              "a second instance, 100 kB strings (a second arena chunk)")
        del keep1  # the inputs may go: the results live in the instance's arena
        check((read_strings(out1) == want1).all(), "the first instance's results survive the other's run")
        rc, out3, keep3 = run_cat(i1, ["a", "b", "c"], ["d"])
        check(rc == 0 and list(read_strings(out3)) == ["ad", "bd", "cd"], "the first instance runs again")
        for t in (out1, out2, out3):
            rt.hodu_tensor_free(C.byref(t))

        # A host allocator that gives nothing: the node's check, with why.
        null_alloc = ALLOC_FN(lambda ctx, n: None)

        def serial(pool, n, fn, ctx):
            for t in range(n):
                fn(ctx, t, 0)

        pfor = PFOR_FN(serial)
        ex = Exec(1, None, C.cast(pfor, C.c_void_p), None, C.cast(null_alloc, C.c_void_p))
        opts = Options(1, C.pointer(ex), None, 0)
        i3 = C.c_void_p()
        assert rt.hodu_instance_create_with(m, C.byref(opts), C.byref(i3), C.byref(err)) == 0, err.message
        rc, out4, keep4 = run_cat(i3, ["a", "b", "c"], ["d"])
        msg = err.message.decode()
        check(rc == ERR_INVALID_ARG and "node 'cat' (StringConcat): no memory for its strings" in msg,
              f"an allocator returning NULL fails the run cleanly ({msg})")
        rt.hodu_tensor_free(C.byref(out4))
        for i in (i1, i2, i3):
            rt.hodu_instance_destroy(i)
        rt.hodu_model_close(m)

        # StringSplit's unbounded output comes back in the instance's memory.
        m = C.c_void_p()
        assert rt.hodu_model_open(split_so.encode(), C.byref(m), C.byref(err)) == 0, err.message
        inst = C.c_void_p()
        assert rt.hodu_instance_create(m, C.byref(inst), C.byref(err)) == 0, err.message
        for values in ([["hello world", " a  b c "], ["one", "tab\there x"]], [["", ""], ["", "  "]]):
            x = Strings(values)
            outs = (Tensor * 3)()
            outs[0] = Tensor(8, 3, (C.c_int64 * MAX_RANK)(), None, 0)
            for k, dt in ((1, 7), (2, 9)):
                assert rt.hodu_tensor_alloc(C.byref(outs[k]), dt, 2, (C.c_int64 * 2)(2, 2), C.byref(err)) == 0
            rc = rt.hodu_instance_run(inst, C.byref(x.t), 1, outs, 3, C.byref(err))
            flat = [s for row in values for s in row]
            toks = [s.split() for s in flat]
            most = max(len(t) for t in toks)
            want = np.array([t + [""] * (most - len(t)) for t in toks], dtype=object).reshape(2, 2, most)
            got = read_strings(outs[0]) if rc == 0 else None
            n = np.ctypeslib.as_array(C.cast(outs[1].data, C.POINTER(C.c_int64)), (4,)).copy()
            mm = np.ctypeslib.as_array(C.cast(outs[2].data, C.POINTER(C.c_uint8)), (4,)).copy()
            want_m = [re.fullmatch(r"[a-z]+( \w+)*", s) is not None for s in flat]
            check(rc == 0 and got.shape == want.shape and (got == want).all() and list(n) == [len(t) for t in toks]
                  and list(mm.astype(bool)) == want_m,
                  f"StringSplit (unbounded, {most} tokens) and RegexFullMatch on {flat}")
            for k in (1, 2):
                rt.hodu_tensor_free(C.byref(outs[k]))
        rt.hodu_instance_destroy(inst)
        rt.hodu_model_close(m)
    print(f"strings: {check.failures} failures")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
