#!/usr/bin/env python3
"""The GPT-style decoder of examples/gpt.hodu built with onnx.helper, for two
purposes: a cross-check (both are built by hodu with the weights of the
PyTorch twin, run on the same tokens, and must agree within 1e-5) and the
size the issue compares (the model part below, between the `model:`
markers, against examples/gpt.hodu; blank and comment-only lines are not
counted in either): lines, characters and tokens are printed, and the
HoduScript must be at most a third of the tokens.

    gpt_onnx.py --hodu build/hodu
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


# model: begin
def gpt(weights, vocab=256, dim=64, heads=4, layers=2):
    nodes, inits = [], [numpy_helper.from_array(v, k) for k, v in weights.items()]

    def op(kind, *ins, **attrs):
        out = f"{kind}_{len(nodes)}"
        nodes.append(helper.make_node(kind, list(ins), [out], **attrs))
        return out

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
        return name

    zero, one, minus_one = const("zero", 0, np.int64), const("one", 1, np.int64), const("m1", -1, np.int64)
    split_shape = const("split_shape", [0, 0, heads, dim // heads], np.int64)
    merge_shape = const("merge_shape", [0, 0, dim], np.int64)
    axes1 = const("axes1", [1], np.int64)
    scale, lowest = const("scale", 1 / math.sqrt(dim // heads)), const("lowest", np.finfo(np.float32).min)
    sqrt2, half, onef = const("sqrt2", math.sqrt(2)), const("half", 0.5), const("onef", 1.0)

    def linear(x, name, bias=True):
        y = op("MatMul", x, op("Transpose", f"{name}.weight"))
        return op("Add", y, f"{name}.bias") if bias else y

    def layer_norm(x, name):
        return op("LayerNormalization", x, f"{name}.weight", f"{name}.bias", axis=-1, epsilon=1e-5)

    def gelu(x):
        return op("Mul", op("Mul", x, op("Add", op("Erf", op("Div", x, sqrt2)), onef)), half)

    def positions(x, axis):
        return op("Range", zero, op("Gather", op("Shape", x), const(f"axis{len(inits)}", axis, np.int64)), one)

    def attention(x, name):
        q, k, v = (op("Transpose", op("Reshape", linear(x, f"{name}.{p}_proj"), split_shape), perm=[0, 2, 1, 3])
                   for p in "qkv")
        scores = op("Mul", op("MatMul", q, op("Transpose", k, perm=[0, 1, 3, 2])), scale)
        rows = positions(scores, -1)
        keep = op("GreaterOrEqual", op("Unsqueeze", rows, axes1), rows)
        probs = op("Softmax", op("Where", keep, scores, lowest), axis=-1)
        h = op("Transpose", op("MatMul", probs, v), perm=[0, 2, 1, 3])
        return linear(op("Reshape", h, merge_shape), f"{name}.out_proj")

    h = op("Add", op("Gather", "tok.weight", "idx"), op("Gather", "pos.weight", positions("idx", 1)))
    for i in range(layers):
        b = f"blocks.{i}"
        h = op("Add", h, attention(layer_norm(h, f"{b}.ln1"), f"{b}.attn"))
        h = op("Add", h, linear(gelu(linear(layer_norm(h, f"{b}.ln2"), f"{b}.fc")), f"{b}.proj"))
    nodes.append(helper.make_node("Identity", [linear(layer_norm(h, "ln_f"), "head", bias=False)], ["output"]))
    graph = helper.make_graph(
        nodes, "gpt", [helper.make_tensor_value_info("idx", TensorProto.INT64, ["B", "T"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["B", "T", vocab])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
# model: end


def code_lines(lines):
    return sum(1 for ln in lines if ln.strip() and not ln.strip().startswith("#"))


def code_chars(lines):
    return sum(len(ln.strip()) for ln in lines if ln.strip() and not ln.strip().startswith("#"))


# One tokenizer for both languages: strings, names, numbers, the few
# two-character operators, then any other character.
TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|[A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d+)?(?:e-?\d+)?|\.\.|->|\*\*|//|[=!<>]=|\S')


def code_tokens(lines):
    return sum(len(TOKEN.findall(ln)) for ln in lines if ln.strip() and not ln.strip().startswith("#"))


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", required=True)
    a = ap.parse_args()
    me = open(os.path.abspath(__file__)).read().splitlines()
    model_part = me[me.index("# model: begin") + 1:me.index("# model: end")]
    src = os.path.join(REPO, "examples", "gpt.hodu")
    hodu_text = open(src).read().splitlines()
    n_onnx, n_hodu = code_lines(model_part), code_lines(hodu_text)
    c_onnx, c_hodu = code_chars(model_part), code_chars(hodu_text)
    t_onnx, t_hodu = code_tokens(model_part), code_tokens(hodu_text)
    print(f"lines: examples/gpt.hodu {n_hodu}, onnx.helper {n_onnx} (ratio {n_hodu / n_onnx:.2f}); "
          f"characters {c_hodu} and {c_onnx} (ratio {c_hodu / c_onnx:.2f}); "
          f"tokens {t_hodu} and {t_onnx} (ratio {t_hodu / t_onnx:.2f})")
    # The amount of code, whatever the line breaks: at most a third
    if 3 * t_hodu > t_onnx:
        raise SystemExit(f"FAIL gpt: {t_hodu} tokens of HoduScript against {t_onnx} of onnx.helper, more than a third")
    with tempfile.TemporaryDirectory() as tmp:
        w = os.path.join(tmp, "gpt.safetensors")
        sh([sys.executable, os.path.join(REPO, "tools", "hoduscript_export.py"), "gpt", w])
        model = gpt(load_file(w))
        onnx.checker.check_model(model)
        mpath = os.path.join(tmp, "gpt.onnx")
        onnx.save(model, mpath)
        rng = np.random.default_rng(11)
        for dims, shape in ((["B=2", "T=12"], (2, 12)), (["B=1..4", "T=1..64"], (3, 33))):
            outs = []
            x = rng.integers(0, 256, size=shape, dtype=np.int64)
            np.save(os.path.join(tmp, "idx.npy"), x)
            for kind, cmd in (("onnx", [mpath]), ("hodu", [src, "--weights", w])):
                so = os.path.join(tmp, f"{kind}.so")
                sh([a.hodu, "--build", *cmd, "-o", so] + [arg for d in dims for arg in ("--dim", d)])
                out = os.path.join(tmp, f"out-{kind}")
                sh([a.hodu, "--run", so, "--input", f"idx={tmp}/idx.npy", "--output-dir", out])
                outs.append(np.load(os.path.join(out, "output.npy")))
            err = float(np.max(np.abs(outs[0] - outs[1])))
            if outs[0].shape != outs[1].shape or not np.allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5):
                raise SystemExit(f"FAIL gpt onnx vs hodu {dims}: max abs error {err}")
            print(f"ok gpt onnx.helper vs HoduScript {' '.join(dims)} {list(shape)}: max abs error {err:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
