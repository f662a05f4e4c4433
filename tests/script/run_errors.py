#!/usr/bin/env python3
"""The HoduScript error corpus: every tests/script/errors/<case>.hodu is a
wrong program; `hodu --check <case>.hodu` must exit 1 and print exactly
<case>.expected (stderr, then an "exit: N" line).  Cases run from the
errors/ folder, so messages carry relative paths.

A case whose first line is "#! weights: KIND" is checked with --weights on a
safetensors file this script writes (KIND: missing, extra, misshaped,
truncated, bad_header, overlap); its path prints as <weights>.  A case
whose first line is "#! build: ARGS" is built instead (`hodu --build
<case>.hodu ARGS -o OUT`), for errors the passes find (a training loss no
parameter reaches); it must leave no OUT behind.

    run_errors.py --hodu build/hodu [--update] [-k SUBSTRING]

--update rewrites the .expected files (review the diff by hand).
"""
import argparse
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ERRORS = os.path.join(HERE, "errors")


def safetensors(tensors, overlap=False):
    """{name: array} -> bytes; `overlap` makes the second tensor reuse the first one's bytes."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = a.tobytes()
        begin = 0 if overlap and off else off
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [begin, begin + len(b)]}
        if not (overlap and off):
            blobs.append(b)
            off += len(b)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def weights(kind):
    w = np.ones((2, 3), np.float32)
    b = np.ones((3,), np.float32)
    if kind == "missing":
        return safetensors({"w": w})
    if kind == "extra":
        return safetensors({"w": w, "b": b, "c": b})
    if kind == "misshaped":
        return safetensors({"w": w.T.copy(), "b": b})
    if kind == "truncated":
        return safetensors({"w": w, "b": b})[:-5]
    if kind == "bad_header":
        return struct.pack("<Q", 1 << 40) + b"{}"
    if kind == "overlap":
        return safetensors({"w": np.ones((3,), np.float32), "b": b}, overlap=True)
    raise SystemExit(f"unknown weights kind {kind}")


def run_case(hodu, path, tmp):
    name = os.path.basename(path)
    cmd = [hodu, "--check", name]
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace")
    wpath = None
    if first.startswith("#! weights:"):
        wpath = os.path.join(tmp, "w.safetensors")
        with open(wpath, "wb") as f:
            f.write(weights(first.split(":", 1)[1].strip()))
        cmd += ["--weights", wpath]
    so = os.path.join(tmp, "out.so")
    if first.startswith("#! build:"):
        cmd = [hodu, "--build", name] + first.split(":", 1)[1].split() + ["-o", so]
    r = subprocess.run(cmd, cwd=ERRORS, capture_output=True, timeout=60)
    out = r.stderr.decode("utf-8", "replace") + r.stdout.decode("utf-8", "replace")
    if wpath:
        out = out.replace(wpath, "<weights>")
    if os.path.exists(so):
        out += "a library was written\n"
        os.unlink(so)
    return out + f"exit: {r.returncode}\n", r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", required=True)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    hodu = os.path.abspath(a.hodu)
    cases = sorted(glob.glob(os.path.join(ERRORS, "*.hodu")))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in cases:
            if a.k not in path:
                continue
            got, rc = run_case(hodu, path, tmp)
            exp_path = path[: -len(".hodu")] + ".expected"
            if a.update:
                with open(exp_path, "w") as f:
                    f.write(got)
                continue
            want = open(exp_path).read() if os.path.exists(exp_path) else None
            if rc != 1 or got != want:
                failed += 1
                print(f"FAIL {os.path.basename(path)} (exit {rc})\n--- expected\n{want}--- got\n{got}")
    if not a.update:
        print(f"run_errors: {len(cases) - failed} of {len(cases)} cases match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
