"""examples/builder_mlp.c with weights from a safetensors file this script
writes, its printed probabilities checked against numpy.

usage: example.py BUILDER_MLP
"""
import json
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

rng = np.random.default_rng(3)
shapes = {"w1": (2, 16), "b1": (16,), "w2": (16, 4), "b2": (4,)}
weights = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "mlp.safetensors"
    header, blobs, offset = {}, [], 0
    for name, t in weights.items():
        b = t.tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    out = subprocess.run([sys.argv[1], str(path)], check=True, capture_output=True, text=True).stdout

rows = re.findall(r"\(\s*(\S+),\s*(\S+)\) -> \[(.*)\]", out)
if len(rows) != 6:
    sys.exit(f"builder_mlp printed {len(rows)} rows, expected 6:\n{out}")
x = np.array([[float(a), float(b)] for a, b, _ in rows], dtype=np.float32)
got = np.array([[float(v) for v in p.split()] for _, _, p in rows])
h = np.maximum(x @ weights["w1"] + weights["b1"], 0) @ weights["w2"] + weights["b2"]
want = np.exp(h - h.max(axis=1, keepdims=True))
want /= want.sum(axis=1, keepdims=True)
err = np.abs(got - want).max()
print(out, end="")
print(f"builder_mlp: max abs error {err:.2e} against numpy (printed to 4 decimals)")
sys.exit(0 if err <= 1e-4 else 1)
