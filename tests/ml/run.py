#!/usr/bin/env python3
"""The ml and optim op families against onnxruntime and onnx.reference.

    run.py [--hodu PATH] [--work DIR]

The ONNX node tests cover TfIdfVectorizer in TF mode on int32 tokens only,
Binarizer and ArrayFeatureExtractor once each, and the optimizer updates
on float32 at T > 0.  This test fills the gaps on random models, each built
by the real `hodu` with every input given at run time:

- TfIdfVectorizer in TF, IDF and TFIDF modes, with and without weights
  (which belong to n-grams: onnxruntime and the spec agree, the ONNX
  reference reads them per output column), int32 and int64 tokens, 1-D
  and 2-D input, skip counts 0 to 3, n-gram lengths 1 to 3, n-grams
  mapped to columns in a shuffled order, and a small token range so that
  n-grams do occur (onnxruntime); a pool that lists an n-gram twice must
  fail to build, as onnxruntime refuses it, and so must ngram_counts of
  100000 lengths (quickly);
- Binarizer on float (onnxruntime), double, int32 and int64
  (onnx.reference: onnxruntime has float only);
- ArrayFeatureExtractor on 1-D and 3-D input with repeated indices
  (onnxruntime), and an index outside the row, which must make the run
  fail with an error instead of reading outside the input;
- TreeEnsemble forests of random trees using every node mode (BRANCH_LEQ
  to BRANCH_MEMBER), NaN inputs with and without the missing-value rule,
  every aggregate function and every post transform but PROBIT, float and
  double, against onnxruntime to 1e-5 (whose SOFTMAX and LOGISTIC codes
  are swapped against the spec: for those two, its untransformed scores
  with the spec's transform are the oracle; it tests membership only for
  members 0..31, so negative members are checked against onnx.reference);
  a tree that loops must not build;
- Adagrad, Momentum (standard and Nesterov) and Adam on float and double
  tensors, several at once, at T = 0 and T > 0 (onnx.reference, since
  onnxruntime has no kernels for the training domain), to 1e-5 relative
  (the reference returns float32 when it updates several tensors; its
  results are compared in the model's type).

Exit status 0 when every case agreed, 1 otherwise, 2 when the test cannot
start.  Nothing skips.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from clitest import CliTest  # noqa: E402

t = CliTest("ml", __doc__)
try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto as T
    from onnx import helper
    from onnx.reference import ReferenceEvaluator
except ImportError as e:
    print(f"ml: cannot start: {e.name} is missing (pip install -r tools/requirements-test.txt)", file=sys.stderr)
    sys.exit(2)

rng = np.random.default_rng(7)
errors = []
NP2T = {np.float32: T.FLOAT, np.float64: T.DOUBLE, np.int32: T.INT32, np.int64: T.INT64}


def make_model(node, feeds, outs, opsets):
    ins = [helper.make_tensor_value_info(k, NP2T[v.dtype.type], v.shape) for k, v in feeds.items()]
    outs = [helper.make_tensor_value_info(k, NP2T[dt], shape) for k, dt, shape in outs]
    g = helper.make_graph([node], "g", ins, outs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = 10
    return m


def hodu_run(name, model, feeds):
    """Builds and runs; returns the outputs, or the failing command's stderr."""
    mp, so, od = t.path(name + ".onnx"), t.path(name + ".so"), t.path(name + "_out")
    onnx.save(model, mp)
    t.run([t.hodu, "--build", mp, "-o", so])
    os.makedirs(od, exist_ok=True)
    cmd = [t.hodu, "--run", so, "--output-dir", od]
    for k, v in feeds.items():
        p = t.path(f"{name}_{k}.npy")
        np.save(p, v)
        cmd += ["--input", f"{k}={p}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return p.stderr.strip() or f"exit status {p.returncode}"
    return [np.load(os.path.join(od, o.name + ".npy")) for o in model.graph.output]


def ort_run(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def check(name, model, feeds, oracle, rtol=1e-6):
    try:
        got = hodu_run(name, model, feeds)
        if isinstance(got, str):
            errors.append(f"{name}: hodu --run failed: {got}")
            return
        if callable(oracle):
            want = oracle()
        elif oracle == "ort":
            want = ort_run(model, feeds)
        else:
            want = [np.asarray(w).astype(g.dtype)
                    for w, g in zip(ReferenceEvaluator(model).run(None, feeds), got)]
        for o, g, w in zip(model.graph.output, got, want):
            w = np.asarray(w)
            if g.shape != w.shape or g.dtype != w.dtype:
                errors.append(f"{name}: {o.name}: got {g.dtype}{list(g.shape)}, want {w.dtype}{list(w.shape)}")
            elif not np.allclose(g, w, rtol=rtol, atol=rtol * max(1.0, float(np.abs(w).max(initial=0)))):
                errors.append(f"{name}: {o.name}: max abs error {np.abs(g - w).max():.3g}")
    except Exception as e:  # a failed build names its command
        errors.append(f"{name}: {e}")


# --- TfIdfVectorizer ----------------------------------------------------
def tfidf_case(k, mode, weighted, dtype, rank, skip, lo, hi):
    # unigrams 0..4, bigrams and trigrams over tokens 0..4
    pool = [0, 1, 2, 3, 4, 1, 2, 2, 3, 0, 0, 1, 1, 3, 1, 1, 2, 3, 0, 1, 2]
    counts = [0, 5, 15]
    n_grams = 5 + 5 + 2
    indexes = [int(i) for i in rng.permutation(n_grams + 3)[:n_grams]]
    width = max(indexes) + 1
    attrs = dict(mode=mode, min_gram_length=lo, max_gram_length=hi, max_skip_count=skip, ngram_counts=counts,
                 ngram_indexes=indexes, pool_int64s=pool)
    if weighted:
        attrs["weights"] = [float(w) for w in rng.uniform(0.5, 2.0, n_grams).astype(np.float32)]
    shape = (3, 11) if rank == 2 else (13,)
    x = rng.integers(0, 5, shape).astype(dtype)
    node = helper.make_node("TfIdfVectorizer", ["X"], ["Y"], **attrs)
    out_shape = (3, width) if rank == 2 else (width,)
    check(f"tfidf{k}", make_model(node, {"X": x}, [("Y", np.float32, out_shape)], [("", 9)]), {"X": x}, "ort")


node = helper.make_node("TfIdfVectorizer", ["X"], ["Y"], mode="TF", min_gram_length=1, max_gram_length=2,
                        max_skip_count=0, ngram_counts=[0, 2], ngram_indexes=[0, 1, 2, 3],
                        pool_int64s=[1, 2, 3, 4, 3, 4])
dup = make_model(node, {"X": np.zeros(4, np.int64)}, [("Y", np.float32, (4,))], [("", 9)])
onnx.save(dup, t.path("tfidf_dup.onnx"))
p = subprocess.run([t.hodu, "--build", t.path("tfidf_dup.onnx"), "-o", t.path("tfidf_dup.so")], capture_output=True,
                   text=True)
if p.returncode == 0 or "twice" not in p.stderr or os.path.exists(t.path("tfidf_dup.so")):
    errors.append(f"tfidf_dup: a repeated n-gram must fail the build with a message, got {p.stderr.strip()!r}")

# 100000 blocks of n-gram lengths: refused with a message, quickly (walking
# them once per length took minutes)
huge = helper.make_node("TfIdfVectorizer", ["X"], ["Y"], mode="TF", min_gram_length=1, max_gram_length=100000,
                        max_skip_count=0, ngram_counts=[0] * 100000, ngram_indexes=[0], pool_int64s=[1])
hm = make_model(huge, {"X": np.zeros((100000,), np.int64)}, [("Y", np.float32, (1,))], [("", 9)])
onnx.save(hm, t.path("tfidf_blocks.onnx"))
p = subprocess.run([t.hodu, "--build", t.path("tfidf_blocks.onnx"), "-o", t.path("tfidf_blocks.so")],
                   capture_output=True, text=True, timeout=60)
if p.returncode == 0 or "not supported" not in p.stderr:
    errors.append(f"tfidf_blocks: 100000 n-gram lengths must fail the build with a message, got {p.stderr.strip()!r}")

k = 0
for mode in ("TF", "IDF", "TFIDF"):
    for weighted in (False, True):
        for dtype, rank, skip, lo, hi in ((np.int32, 2, 0, 1, 2), (np.int64, 1, 2, 2, 3), (np.int64, 2, 3, 1, 3)):
            tfidf_case(k, mode, weighted, dtype, rank, skip, lo, hi)
            k += 1

# --- Binarizer and ArrayFeatureExtractor -------------------------------
for dtype in (np.float32, np.float64, np.int32, np.int64):
    x = (rng.standard_normal((4, 5)) * 3).astype(dtype)
    node = helper.make_node("Binarizer", ["X"], ["Y"], domain="ai.onnx.ml", threshold=0.5)
    m = make_model(node, {"X": x}, [("Y", dtype, x.shape)], [("", 17), ("ai.onnx.ml", 1)])
    check(f"binarizer_{dtype.__name__}", m, {"X": x}, "ort" if dtype == np.float32 else "reference")

for shape in ((7,), (2, 3, 6)):
    x = rng.standard_normal(shape).astype(np.float32)
    idx = np.array([shape[-1] - 1, 0, 2, 2], np.int64)
    out_shape = (1, 4) if len(shape) == 1 else shape[:-1] + (4,)
    node = helper.make_node("ArrayFeatureExtractor", ["X", "I"], ["Z"], domain="ai.onnx.ml")
    m = make_model(node, {"X": x, "I": idx}, [("Z", np.float32, out_shape)], [("", 17), ("ai.onnx.ml", 1)])
    check(f"afe_rank{len(shape)}", m, {"X": x, "I": idx}, "ort")
    bad = idx.copy()
    bad[1] = shape[-1]
    got = hodu_run(f"afe_bad{len(shape)}", m, {"X": x, "I": bad})
    if not isinstance(got, str) or "values of an input" not in got:
        errors.append(f"afe_bad{len(shape)}: an index past the row must fail the run with a message, got {got!r}")

# --- TreeEnsemble ---------------------------------------------------------
def random_forest(n_trees, depth, n_features, n_targets, modes, member_range):
    """Full binary trees of random depth over random features: node and
    leaf arrays as TreeEnsemble takes them, membership sets in node order."""
    nodes = dict(feat=[], split=[], mode=[], tid=[], fid=[], tleaf=[], fleaf=[], miss=[])
    leaves_w, leaves_t, members, roots = [], [], [], []

    def leaf():
        leaves_w.append(float(rng.standard_normal()))
        leaves_t.append(int(rng.integers(0, n_targets)))
        return len(leaves_w) - 1

    def build(d):
        i = len(nodes["feat"])
        for k in nodes:
            nodes[k].append(0)
        mode = int(rng.choice(modes))
        nodes["feat"][i] = int(rng.integers(0, n_features))
        nodes["mode"][i] = mode
        nodes["split"][i] = float(rng.integers(-4, 5)) / 2 if mode in (4, 5) else float(rng.standard_normal())
        nodes["miss"][i] = int(rng.integers(0, 2))
        if mode == 6:
            members.extend(float(v) for v in rng.integers(*member_range, int(rng.integers(1, 4))))
            members.append(float("nan"))
        for side, tag in (("tid", "tleaf"), ("fid", "fleaf")):
            if d == 0 or rng.random() < 0.25:
                nodes[tag][i], nodes[side][i] = 1, leaf()
            else:
                nodes[tag][i], nodes[side][i] = 0, build(d - 1)
        return i

    for _ in range(n_trees):
        roots.append(build(depth))
    return nodes, leaves_w, leaves_t, members, roots


def tree_case(name, dtype, aggregate, post, modes, oracle="ort", member_range=(0, 4)):
    ttype = T.FLOAT if dtype == np.float32 else T.DOUBLE
    n_features, n_targets = 4, 3
    nodes, lw, lt, members, roots = random_forest(5, 4, n_features, n_targets, modes, member_range)
    attrs = dict(aggregate_function=aggregate, n_targets=n_targets, tree_roots=roots,
                 nodes_featureids=nodes["feat"], nodes_truenodeids=nodes["tid"], nodes_falsenodeids=nodes["fid"],
                 nodes_trueleafs=nodes["tleaf"], nodes_falseleafs=nodes["fleaf"],
                 nodes_missing_value_tracks_true=nodes["miss"], leaf_targetids=lt,
                 nodes_modes=helper.make_tensor("nodes_modes", T.UINT8, [len(nodes["mode"])], nodes["mode"]),
                 nodes_splits=helper.make_tensor("nodes_splits", ttype, [len(nodes["split"])], nodes["split"]),
                 leaf_weights=helper.make_tensor("leaf_weights", ttype, [len(lw)], lw))
    if members:
        attrs["membership_values"] = helper.make_tensor("membership_values", ttype, [len(members)], members)
    # half-steps so that EQ, NEQ and membership hit; NaN for the missing-value rule
    x = (rng.integers(-4, 5, (16, n_features)) / 2).astype(dtype)
    mask = rng.random(x.shape) < 0.5
    x[mask] = rng.standard_normal(int(mask.sum()))
    x[rng.random(x.shape) < 0.1] = np.nan
    def model(post):
        node = helper.make_node("TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml", **attrs, post_transform=post)
        return make_model(node, {"X": x}, [("Y", dtype, (16, n_targets))], [("", 21), ("ai.onnx.ml", 5)])

    def spec_transform():
        # onnxruntime 1.32 swaps SOFTMAX (1) and LOGISTIC (2) of the spec:
        # its raw scores, transformed as the spec says, are the oracle
        raw = ort_run(model(0), {"X": x})[0].astype(np.float64)
        if post == 2:
            return [(1 / (1 + np.exp(-raw))).astype(dtype)]
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        return [(e / e.sum(axis=1, keepdims=True)).astype(dtype)]

    check(name, model(post), {"X": x}, spec_transform if post in (1, 2) else oracle, rtol=1e-5)


for dtype in (np.float32, np.float64):
    for aggregate in range(4):
        for post in range(4):
            tree_case(f"tree_{dtype.__name__}_agg{aggregate}_post{post}", dtype, aggregate, post, range(7))
# onnxruntime tests membership for members 0..31 only (a bit mask); negative
# members against the reference, which ignores post_transform
tree_case("tree_negative_members", np.float64, 1, 0, range(7), "reference", (-3, 3))

# a tree whose branch leads back to its root must not build
cyc = helper.make_node("TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml", n_targets=1, tree_roots=[0],
                       nodes_featureids=[0, 0], nodes_truenodeids=[1, 0], nodes_falsenodeids=[0, 0],
                       nodes_trueleafs=[0, 0], nodes_falseleafs=[1, 0], leaf_targetids=[0],
                       nodes_modes=helper.make_tensor("nodes_modes", T.UINT8, [2], [0, 0]),
                       nodes_splits=helper.make_tensor("nodes_splits", T.FLOAT, [2], [0.0, 0.0]),
                       leaf_weights=helper.make_tensor("leaf_weights", T.FLOAT, [1], [1.0]))
cm = make_model(cyc, {"X": np.zeros((1, 1), np.float32)}, [("Y", np.float32, (1, 1))], [("", 21), ("ai.onnx.ml", 5)])
onnx.save(cm, t.path("tree_cycle.onnx"))
p = subprocess.run([t.hodu, "--build", t.path("tree_cycle.onnx"), "-o", t.path("tree_cycle.so")], capture_output=True,
                   text=True)
if p.returncode == 0 or "loop" not in p.stderr or os.path.exists(t.path("tree_cycle.so")):
    errors.append(f"tree_cycle: a tree that loops must fail the build with a message, got {p.stderr.strip()!r}")

# --- optimizer updates (ai.onnx.preview.training) -----------------------
OPT = {"Adagrad": ("H",), "Momentum": ("V",), "Adam": ("V", "H")}
for op, states in OPT.items():
    for dtype in (np.float32, np.float64):
        for step in (0, 3):
            for mode in (("standard", "nesterov") if op == "Momentum" else (None,)):
                shapes = [(3,), (2, 4)]
                feeds = {"R": np.array(0.1, dtype), "T": np.array(step, np.int64)}
                names = {blk: [f"{blk}{i}" for i in range(len(shapes))] for blk in ("X", "G") + states}
                for blk, ns in names.items():
                    for n, s in zip(ns, shapes):
                        v = rng.standard_normal(s).astype(dtype)
                        feeds[n] = np.abs(v) if blk == "H" else v
                attrs = {"Adagrad": dict(decay_factor=0.1, epsilon=1e-5, norm_coefficient=0.01),
                         "Momentum": dict(alpha=0.9, beta=0.5, norm_coefficient=0.01, mode=mode or ""),
                         "Adam": dict(alpha=0.9, beta=0.99, epsilon=1e-3, norm_coefficient=0.01,
                                      norm_coefficient_post=0.02)}[op]
                inputs = ["R", "T"] + [n for blk in names for n in names[blk]]
                outputs = [n + "_new" for blk in ("X",) + states for n in names[blk]]
                node = helper.make_node(op, inputs, outputs, domain="ai.onnx.preview.training", **attrs)
                outs = [(n + "_new", dtype, feeds[n].shape) for blk in ("X",) + states for n in names[blk]]
                m = make_model(node, feeds, outs, [("ai.onnx.preview.training", 1)])
                check(f"{op}_{dtype.__name__}_t{step}{'_' + mode if mode else ''}", m, feeds, "reference", rtol=1e-5)

sys.exit(t.finish(errors, f" ({k} TfIdfVectorizer models and the rest)"))
