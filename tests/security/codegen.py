"""Hostile models for codegen.sh, and the checker for emitted C.

  codegen.py OUT_DIR                    writes the models (the injected
                                        constructor would create
                                        OUT_DIR/EVIL_RAN)
  codegen.py --check DIR...             scans emitted sources: the word
                                        EVILMARK (only in hostile names) may
                                        appear inside string literals only,
                                        and the only preprocessor lines are
                                        hodu's own includes and conditionals

Every hostile name carries EVILMARK, so any model text that reaches C or
assembly outside a string literal shows up in the scan.
"""
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

f32 = TensorProto.FLOAT


def save(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.checker.check_model(model)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def model(nodes, inputs, outputs, inits=(), name="g"):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def make(out, marker):
    # A constructor that would create `marker` if the name became code.
    # No quotes or backslashes: it must survive the old quote escaping.
    path = ", ".join(str(b) for b in marker.encode()) + ", 0"
    ctor = (
        "r*/ int creat(const char *, unsigned int); "
        "__attribute__((constructor)) static void evil(void) "
        "{ static const char p[] = {%s}; creat(p, 420); } /* EVILMARK" % path
    )
    include = 'EVILMARK */\n#include "/etc/passwd"\n#define EVILMARK_DEF 1\n/* ??/\n'
    tail = "EVILMARK\\"  # a backslash that would splice the next line
    xin = 'x*/ EVILMARK "q" \\ ??= %s' % chr(1)
    yout = 'y*/ EVILMARK\n#include "/etc/shadow"\n'
    m = numpy_helper.from_array(np.eye(3, dtype=np.float32) * 2, "m*/EVILMARK")
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "w*/EVILMARK")
    inject = model(
        [
            # MatMul is never fused, so its own name reaches the emitter.
            helper.make_node("MatMul", [xin, "m*/EVILMARK"], ["t*/EVILMARK"], name=ctor),
            helper.make_node("Add", ["t*/EVILMARK", "w*/EVILMARK"], ["u EVILMARK"], name=include),
            helper.make_node("Neg", ["u EVILMARK"], [yout], name=tail),
        ],
        [helper.make_tensor_value_info(xin, f32, [2, 3])],
        [helper.make_tensor_value_info(yout, f32, [2, 3])],
        [m, w],
        name='g*/ EVILMARK\n#include "/etc/passwd"',
    )
    save(inject, os.path.join(out, "inject.onnx"))
    # The same model under a folder whose path carries */, a newline and a quote.
    save(inject, os.path.join(out, "p*", ' int EVILMARK_src; /* \n"EVILMARK', "m.onnx"))

    # Weights through .incbin: the output depends on every weight byte.
    rng = np.random.default_rng(3)
    wv = numpy_helper.from_array(rng.standard_normal((4, 64)).astype(np.float32), "w")
    weights = model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [helper.make_tensor_value_info("x", f32, [4, 64])],
        [helper.make_tensor_value_info("y", f32, [4, 64])],
        [wv],
    )
    save(weights, os.path.join(out, "weights.onnx"))
    np.save(os.path.join(out, "x_weights.npy"), rng.standard_normal((4, 64)).astype(np.float32))
    np.save(os.path.join(out, "x23.npy"), rng.standard_normal((2, 3)).astype(np.float32))

    # Outputs whose file names collide once sanitised, and one that tries ../
    collide = model(
        [helper.make_node("Identity", ["x"], ["a/b"]), helper.make_node("Neg", ["x"], ["a_b"])],
        [helper.make_tensor_value_info("x", f32, [2, 3])],
        [helper.make_tensor_value_info("a/b", f32, [2, 3]), helper.make_tensor_value_info("a_b", f32, [2, 3])],
    )
    save(collide, os.path.join(out, "collide.onnx"))
    escape = model(
        [helper.make_node("Identity", ["x"], ["../escape"]), helper.make_node("Neg", ["x"], [".."])],
        [helper.make_tensor_value_info("x", f32, [2, 3])],
        [helper.make_tensor_value_info("../escape", f32, [2, 3]), helper.make_tensor_value_info("..", f32, [2, 3])],
    )
    save(escape, os.path.join(out, "escape.onnx"))

    # Non-finite float attributes: printed into the C, they must still be C.
    nonfinite = model(
        [
            helper.make_node("Gemm", ["x", "w"], ["g"], alpha=float("inf"), beta=1.0),
            helper.make_node("LayerNormalization", ["g", "s"], ["y"], epsilon=float("nan")),
            helper.make_node("ConstantOfShape", ["shape"], ["z"],
                             value=numpy_helper.from_array(np.array([np.nan], np.float32))),
        ],
        [helper.make_tensor_value_info("x", f32, [2, 3])],
        [helper.make_tensor_value_info("y", f32, [2, 3]), helper.make_tensor_value_info("z", f32, [2, 2])],
        [numpy_helper.from_array(np.eye(3, dtype=np.float32), "w"),
         numpy_helper.from_array(np.ones(3, np.float32), "s"),
         numpy_helper.from_array(np.array([2, 2], np.int64), "shape")],
    )
    save(nonfinite, os.path.join(out, "nonfinite.onnx"))


ALLOWED_DIRECTIVE = re.compile(
    r'#\s*(include\s*(<[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*\.h>|"hodu_[a-z]+\.h")\s*\Z'
    r"|(if|ifdef|ifndef|elif|else|endif|define|undef|pragma)\b)"
)


SAFE_COMMENT = re.compile(r"/\* [A-Za-z0-9_.\-\[\],:> ]* \*/\Z")

# hodu_run's compiler-made value names: "v_" and at most 38 more identifier
# characters, one whole identifier.  Model text reduced this way cannot leave
# the identifier, so the marker may appear inside one and nowhere else.
MADE_IDENT = re.compile(r"(?<![A-Za-z0-9_])v_[A-Za-z0-9_]{1,38}(?![A-Za-z0-9_])")


def strip_literals(text):
    """Returns (code_outside_literals_and_comments, comments) of a C or
    assembler-with-cpp source, treating string and char literals per C."""
    code, comments = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            comments.append(text[i:j])
            code.append(" " + "\n" * text.count("\n", i, j))  # keep lines aligned
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.append(text[i:j])
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            code.append(c + c)
            i = j + 1
        else:
            code.append(c)
            i += 1
    return "".join(code), comments


def check(dirs):
    bad = []
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h", ".S")):
                continue
            text = open(os.path.join(d, name), encoding="latin-1").read()
            if "\\\n" in text and name == "model.c":
                bad.append("%s: a line ends in a backslash" % name)
            if "??" in text and name == "model.c":
                bad.append("%s: contains a trigraph-like ??" % name)
            code, comments = strip_literals(text)
            if "EVILMARK" in MADE_IDENT.sub(" ", code):
                bad.append("%s: EVILMARK outside string literals and comments" % name)
            # Comments may carry a name only as hodu reduces it: one line of
            # [A-Za-z0-9_.-] words with hodu's own punctuation.
            for c in comments:
                if "EVILMARK" in c and not SAFE_COMMENT.match(c):
                    bad.append("%s: model text in a comment: %r" % (name, c[:80]))
            lines = text.split("\n")
            for k, line in enumerate(code.split("\n")):
                if line.strip().startswith("#") and not ALLOWED_DIRECTIVE.match(lines[k].strip()):
                    bad.append("%s: unexpected preprocessor line %r" % (name, lines[k][:80]))
            if name == "model.c" and "EVILMARK" not in text:
                bad.append("model.c: the names were dropped, expected them as string literals")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    # codegen.py OUT: writes the cases (the injected constructor would create
    # OUT/EVIL_RAN); codegen.py --check DIR...: scans emitted sources.
    if sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2:]))
    make(sys.argv[1], os.path.join(sys.argv[1], "EVIL_RAN"))
