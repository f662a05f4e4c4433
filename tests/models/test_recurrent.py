#!/usr/bin/env python3
"""The recurrent ops (RNN, GRU, LSTM, ReverseSequence) against onnxruntime.

    test_recurrent.py [--hodu PATH] [--tol X] [--seed S] [--work DIR]

Three models, each built once by the real `hodu` and run on seeded random
inputs given at run time (`hodu --run --input NAME=FILE.npy`), every output
compared with onnxruntime (CPUExecutionProvider) on the same inputs:

  torch  torch.nn.LSTM, GRU and RNN, each bidirectional with 2 layers, with
         batch_first off and on (six modules, random weights), exported by
         torch.onnx.export (dynamo=False, opset 17); the LSTMs and GRUs
         also take their initial states as inputs.
  runtime the same modules exported with the sequence and the batch as
         named dims, built once with `--dim seq=1..12 --dim batch=1..5`
         (the recurrences on the general path) and run at three sizes.
  nodes  single ONNX nodes for what torch never writes: reverse and
         bidirectional directions with sequence_lens, clip, every activation
         with alpha/beta, GRU with linear_before_reset 0 and 1, LSTM with
         peepholes and input_forget, omitted optional inputs and outputs,
         layout 1, double, and ReverseSequence along both axes.
         onnxruntime has no layout 1 and no double: those nodes are
         compared with its layout-0 result on the transposed inputs, and
         with its float result.

rel = max|hodu - ort| / max|ort| per output must stay within --tol (1e-4).
Exit status 0 when everything agreed, 1 on a disagreement or a failed build
or run, 2 when the test cannot start (no hodu, or numpy, onnx, onnxruntime
or torch missing: a missing package is a failure, never a skip).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def die(msg):
    print(f"test_recurrent: error: {msg}", flush=True)
    sys.exit(2)


try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper
except ImportError as exc:
    die(f"{exc}; the test needs numpy, onnx, onnxruntime and torch (run tools/setup.sh: .venv/bin/python)")

F32 = TensorProto.FLOAT


def output_file(name):
    # The file name `hodu --run --output-dir` gives an output.
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]
    return (s + "_" if s in ("", ".", "..") else s) + ".npy"


# --- the torch model -----------------------------------------------------

INPUT, HIDDEN, LAYERS, SEQ, BATCH = 8, 16, 2, 7, 3


class Recurrent(torch.nn.Module):
    def __init__(self):
        super().__init__()
        kw = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=LAYERS, bidirectional=True)
        self.lstm_t = torch.nn.LSTM(**kw, batch_first=False)
        self.lstm_b = torch.nn.LSTM(**kw, batch_first=True)
        self.gru_t = torch.nn.GRU(**kw, batch_first=False)
        self.gru_b = torch.nn.GRU(**kw, batch_first=True)
        self.rnn_t = torch.nn.RNN(**kw, batch_first=False)
        self.rnn_b = torch.nn.RNN(**kw, batch_first=True, nonlinearity="relu")

    def forward(self, x_t, x_b, h0, c0):
        y1, (h1, c1) = self.lstm_t(x_t, (h0, c0))
        y2, (h2, c2) = self.lstm_b(x_b)
        y3, h3 = self.gru_t(x_t)
        y4, h4 = self.gru_b(x_b, h0)
        y5, h5 = self.rnn_t(x_t, h0)
        y6, h6 = self.rnn_b(x_b)
        return y1, h1, c1, y2, h2, c2, y3, h3, y4, h4, y5, h5, y6, h6


def torch_model(path, rng, dynamic=False):
    """The six modules, exported; with `dynamic`, the sequence and the batch
    as named dims (`seq`, `batch`) of every input and output."""
    torch.manual_seed(int(rng.integers(1 << 30)))
    net = Recurrent().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.5, 0.5)
    st = (LAYERS * 2, BATCH, HIDDEN)
    args = (torch.zeros(SEQ, BATCH, INPUT), torch.zeros(BATCH, SEQ, INPUT), torch.zeros(st), torch.zeros(st))
    outs = [f"{k}{i}" for i, k in zip(range(1, 15), "yhcyhcyhyhyhyh")]
    axes = None
    if dynamic:
        time_major, batch_major, state = {0: "seq", 1: "batch"}, {0: "batch", 1: "seq"}, {1: "batch"}
        axes = {"x_t": time_major, "x_b": batch_major, "h0": state, "c0": state}
        majors = "tttbbbttbbttbb"  # the module of each output: time-major (t) or batch_first (b)
        for o, m in zip(outs, majors):
            axes[o] = state if o[0] != "y" else time_major if m == "t" else batch_major
    warnings.filterwarnings("ignore")  # the legacy exporter's notes on batch sizes
    torch.onnx.export(net, args, path, input_names=["x_t", "x_b", "h0", "c0"], output_names=outs, opset_version=17,
                      dynamo=False, dynamic_axes=axes)
    m = onnx.load(path)
    ops = {n.op_type for n in m.graph.node}
    if not {"LSTM", "GRU", "RNN"} <= ops:
        raise RuntimeError(f"the export holds no LSTM/GRU/RNN nodes (ops: {sorted(ops)})")


# --- the single-node model -------------------------------------------------

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def node_cases():
    """(name, op, attrs, present inputs, outputs, seq, batch, input, hidden, dirs)."""
    acts2 = ["LeakyRelu", "HardSigmoid"]
    return [
        ("rnn_bi", "RNN", dict(direction="bidirectional", activations=acts2, activation_alpha=[0.2, 0.3],
                                activation_beta=[0.4], clip=2.5),
         ["B", "sequence_lens", "initial_h"], ["Y", "Y_h"], 6, 4, 5, 7, 2),
        ("rnn_rev", "RNN", dict(direction="reverse", activations=["Affine"], activation_alpha=[0.7],
                                 activation_beta=[-0.1]),
         ["sequence_lens"], ["Y", "Y_h"], 5, 3, 4, 6, 1),
        ("rnn_soft", "RNN", dict(direction="bidirectional", activations=["Softsign", "Softplus"]),
         ["B"], ["Y", "Y_h"], 4, 2, 3, 5, 2),
        ("rnn_relu", "RNN", dict(activations=["Relu"]), ["B", "initial_h"], ["", "Y_h"], 3, 2, 3, 4, 1),
        ("gru_bi", "GRU", dict(direction="bidirectional", clip=1.5,
                                activations=["Sigmoid", "Tanh", "HardSigmoid", "Elu"],
                                activation_alpha=[0.25, 0.9], activation_beta=[0.45]),
         ["B", "sequence_lens", "initial_h"], ["Y", "Y_h"], 6, 4, 5, 7, 2),
        ("gru_lbr", "GRU", dict(direction="reverse", linear_before_reset=1),
         ["B", "sequence_lens", "initial_h"], ["Y", "Y_h"], 5, 3, 4, 6, 1),
        ("gru_lbr_bi", "GRU", dict(direction="bidirectional", linear_before_reset=1, clip=3.0),
         ["B"], ["Y", "Y_h"], 4, 3, 4, 5, 2),
        ("gru_scaled", "GRU", dict(activations=["ThresholdedRelu", "ScaledTanh"], activation_alpha=[0.1, 1.3],
                                    activation_beta=[0.6]),
         ["B"], ["Y", "Y_h"], 4, 2, 3, 5, 1),
        ("lstm_bi", "LSTM", dict(direction="bidirectional", clip=2.0),
         ["B", "sequence_lens", "initial_h", "initial_c", "P"], ["Y", "Y_h", "Y_c"], 6, 4, 5, 7, 2),
        ("lstm_acts", "LSTM", dict(direction="reverse",
                                   activations=["HardSigmoid", "Softsign", "Elu"], activation_alpha=[0.3, 0.8],
                                   activation_beta=[0.55]),
         ["B", "sequence_lens", "initial_h", "initial_c", "P"], ["Y", "Y_h", "Y_c"], 5, 3, 4, 6, 1),
        ("lstm_if", "LSTM", dict(input_forget=1), ["B", "P"], ["", "", "Y_c"], 4, 2, 3, 5, 1),
        ("lstm_aff", "LSTM", dict(direction="bidirectional",
                                  activations=["Sigmoid", "Affine", "Softplus", "Sigmoid", "Tanh", "Tanh"],
                                  activation_alpha=[0.5], activation_beta=[0.25]),
         [], ["Y", "Y_h", "Y_c"], 3, 2, 4, 5, 2),
        # layout 1: compared with onnxruntime's layout 0 on transposed data
        ("lstm_l1", "LSTM", dict(direction="bidirectional", layout=1),
         ["B", "sequence_lens", "initial_h", "initial_c", "P"], ["Y", "Y_h", "Y_c"], 5, 3, 4, 6, 2),
        ("gru_l1", "GRU", dict(direction="reverse", layout=1), ["B", "sequence_lens", "initial_h"], ["Y", "Y_h"],
         5, 3, 4, 6, 1),
        ("rnn_l1", "RNN", dict(layout=1), ["initial_h"], ["Y", "Y_h"], 4, 2, 3, 5, 1),
        # double (onnxruntime has float only: compared with its float result)
        ("lstm_f64", "LSTM", dict(direction="bidirectional", clip=2.0, _f64=True),
         ["B", "sequence_lens", "initial_h", "initial_c", "P"], ["Y", "Y_h", "Y_c"], 5, 3, 4, 6, 2),
        ("gru_f64", "GRU", dict(direction="reverse", activations=["HardSigmoid", "Softplus"], _f64=True),
         ["B", "sequence_lens", "initial_h"], ["Y", "Y_h"], 5, 3, 4, 6, 1),
        ("rnn_f64", "RNN", dict(direction="bidirectional", activations=["Elu", "ScaledTanh"], activation_alpha=[0.5, 1.2],
                                activation_beta=[0.7], _f64=True),
         ["B", "initial_h"], ["Y", "Y_h"], 4, 2, 3, 5, 2),
    ]


def node_models(rng):
    """(hodu model, onnxruntime model, inputs, fix) where inputs feed both and
    fix(name, value) turns a hodu output into the reference's layout."""
    nodes_h, nodes_o, vis, vos_h, vos_o, feeds, layout1 = [], [], [], [], [], {}, {}

    def add_input(name, arr, ort_arr=None):
        feeds[name] = arr
        vis.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape)))
        return name

    ort_feeds = {}
    for name, op, attrs, opt, outs, S, B, I, H, D in node_cases():
        G = GATES[op]
        attrs = dict(attrs)
        f64 = attrs.pop("_f64", False)
        l1 = attrs.get("layout", 0) == 1
        x = rng.standard_normal((S, B, I)).astype(np.float32)
        vals = {
            "W": rng.uniform(-0.6, 0.6, (D, G * H, I)).astype(np.float32),
            "R": rng.uniform(-0.6, 0.6, (D, G * H, H)).astype(np.float32),
            "B": rng.uniform(-0.5, 0.5, (D, 2 * G * H)).astype(np.float32),
            # onnxruntime accepts lengths in [1, seq] only
            "sequence_lens": rng.integers(1, S + 1, (B,)).astype(np.int32),
            "initial_h": rng.standard_normal((D, B, H)).astype(np.float32),
            "initial_c": rng.standard_normal((D, B, H)).astype(np.float32),
            "P": rng.uniform(-0.5, 0.5, (D, 3 * H)).astype(np.float32),
        }
        order = ["X", "W", "R", "B", "sequence_lens", "initial_h"] + (["initial_c", "P"] if op == "LSTM" else [])
        ins_h, ins_o = [], []
        for k in order:
            if k in ("X", "W", "R") or k in opt:
                v = x if k == "X" else vals[k]
                hv = v
                if l1 and k in ("X", "initial_h", "initial_c"):
                    hv = np.ascontiguousarray(np.swapaxes(v, 0, 1))
                if f64 and k != "sequence_lens":
                    hv = hv.astype(np.float64)
                ins_h.append(add_input(f"{name}_{k}", hv))
                ort_feeds[f"{name}_{k}"] = v
                ins_o.append(f"{name}_{k}")
            else:
                ins_h.append("")
                ins_o.append("")
        while ins_h and not ins_h[-1]:
            ins_h.pop()
            ins_o.pop()
        outs_n = [f"{name}_{o}" if o else "" for o in outs]
        hattrs = dict(attrs, hidden_size=H)
        oattrs = {k: v for k, v in hattrs.items() if k != "layout"}
        nodes_h.append(helper.make_node(op, ins_h, outs_n, name=name, **hattrs))
        nodes_o.append(helper.make_node(op, ins_o, outs_n, name=name, **oattrs))
        for o in outs_n:
            if o:
                vos_h.append(helper.make_tensor_value_info(o, TensorProto.DOUBLE if f64 else F32, None))
                vos_o.append(helper.make_tensor_value_info(o, F32, None))
                if l1:
                    layout1[o] = o.endswith("_Y")

    for name, ba, ta, shape in (("rs_time", 1, 0, (6, 4, 3)), ("rs_batch", 0, 1, (4, 6, 2, 2))):
        xin = add_input(f"{name}_x", rng.standard_normal(shape).astype(np.float32))
        ort_feeds[xin] = feeds[xin]
        nb, ns = shape[ba], shape[ta]
        lin = add_input(f"{name}_lens", rng.integers(0, ns + 1, (nb,)).astype(np.int64))
        ort_feeds[lin] = feeds[lin]
        node = helper.make_node("ReverseSequence", [xin, lin], [f"{name}_y"], batch_axis=ba, time_axis=ta)
        nodes_h.append(node)
        nodes_o.append(node)
        vos_h.append(helper.make_tensor_value_info(f"{name}_y", F32, None))
        vos_o.append(helper.make_tensor_value_info(f"{name}_y", F32, None))

    def model(nodes, inputs, vos):
        g = helper.make_graph(nodes, "recurrent_nodes", inputs, vos)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        return m

    ort_vis = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
               for k, v in ort_feeds.items()]

    def fix(out, v):
        if out not in layout1:
            return v
        # Y [batch, seq, dirs, hidden] -> [seq, dirs, batch, hidden]; Y_h/Y_c [batch, dirs, hidden] -> [dirs, ...]
        return np.transpose(v, (1, 2, 0, 3)) if layout1[out] else np.swapaxes(v, 0, 1)

    return model(nodes_h, vis, vos_h), model(nodes_o, ort_vis, vos_o), feeds, ort_feeds, fix


# --- build, run, compare -----------------------------------------------------


def run(argv, timeout=300):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=timeout)
    if p.returncode != 0:
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        raise RuntimeError(f"{os.path.basename(argv[0])} {argv[1]} exit {p.returncode}: " + "; ".join(lines[-3:]))


def build(hodu, path, work, label, extra=()):
    """Starts `hodu --build` (the models build side by side); returns (process, library)."""
    d = os.path.join(work, label)
    os.makedirs(d, exist_ok=True)
    so = os.path.join(d, label + ".so")
    p = subprocess.Popen([hodu, "--build", path, "-o", so, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace")
    return p, so


def torch_feeds(rng, seq, batch):
    st = (LAYERS * 2, batch, HIDDEN)
    return {"x_t": rng.standard_normal((seq, batch, INPUT)).astype(np.float32),
            "x_b": rng.standard_normal((batch, seq, INPUT)).astype(np.float32),
            "h0": rng.standard_normal(st).astype(np.float32),
            "c0": rng.standard_normal(st).astype(np.float32)}


def check(label, hodu, so, ort_model, feeds, ort_feeds, fix, work, tol, size=""):
    """Runs the library `so` with hodu and `ort_model` with onnxruntime; returns whether every output agreed."""
    d = os.path.join(work, label)
    args = []
    for k, v in feeds.items():
        f = os.path.join(d, f"in_{len(args)}.npy")
        np.save(f, v)
        args += ["--input", f"{k}={f}"]
    out_dir = os.path.join(d, "out")
    run([hodu, "--run", so, "--output-dir", out_dir] + args)
    sess = ort.InferenceSession(ort_model if isinstance(ort_model, str) else ort_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    refs = sess.run(None, ort_feeds)
    worst, bad = 0.0, []
    for name, ref in zip(names, refs):
        got = fix(name, np.load(os.path.join(out_dir, output_file(name))))
        if got.shape != ref.shape:
            bad.append(f"{name}: shape {list(got.shape)} vs {list(ref.shape)}")
            continue
        if not np.all(np.isfinite(got)):
            bad.append(f"{name}: non-finite values")
            continue
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        err = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
        rel = err / scale if scale > 0 else err
        if rel > tol:
            bad.append(f"{name}: {rel:.3g}")
        worst = max(worst, rel)
    print(f"{'ok  ' if not bad else 'FAIL'} {label:<6} {size + ': ' if size else ''}{len(names)} outputs, "
          f"worst rel {worst:.3g}"
          + ("  DISAGREE: " + "; ".join(bad) if bad else ""), flush=True)
    return not bad


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"), help="the hodu binary (default build/hodu)")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest relative difference allowed (default 1e-4)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the weights and inputs (default 0)")
    ap.add_argument("--work", help="keep the models, libraries and outputs here (default: a temporary folder)")
    a = ap.parse_args(argv)
    if not (os.path.isfile(a.hodu) and os.access(a.hodu, os.X_OK)):
        die(f"no hodu binary at {a.hodu} (build it, or pass --hodu)")
    hodu = os.path.abspath(a.hodu)
    rng = np.random.default_rng(a.seed)
    work = os.path.abspath(a.work) if a.work else tempfile.mkdtemp(prefix="hodu-recurrent.")
    os.makedirs(work, exist_ok=True)
    failed = 0
    try:
        cases = {}  # label -> (model path, onnxruntime model, feeds, onnxruntime feeds, output fix)
        try:
            path = os.path.join(work, "torch.onnx")
            torch_model(path, rng)
            feeds = torch_feeds(rng, SEQ, BATCH)
            cases["torch"] = (path, path, feeds, feeds, lambda n, v: v)
            # the same modules with the sequence and the batch chosen at run time
            path = os.path.join(work, "runtime.onnx")
            torch_model(path, rng, dynamic=True)
            cases["runtime"] = (path, path, None, None, lambda n, v: v)
        except Exception as exc:  # a failed export is a failure
            print(f"FAIL torch  {type(exc).__name__}: {exc}", flush=True)
            failed += 1
        try:
            mh, mo, feeds, ort_feeds, fix = node_models(rng)
            path = os.path.join(work, "nodes.onnx")
            onnx.save(mh, path)
            cases["nodes"] = (path, mo, feeds, ort_feeds, fix)
        except Exception as exc:
            print(f"FAIL nodes  {type(exc).__name__}: {exc}", flush=True)
            failed += 1
        rt_dims = ("--dim", "seq=1..12", "--dim", "batch=1..5")
        builds = {label: build(hodu, c[0], work, label, rt_dims if label == "runtime" else ())
                  for label, c in cases.items()}
        for label, (path, mo, feeds, ort_feeds, fix) in cases.items():
            proc, so = builds[label]
            out = proc.communicate(timeout=600)[0]
            try:
                if proc.returncode != 0:
                    lines = [l for l in out.splitlines() if l.strip()]
                    raise RuntimeError(f"hodu --build exit {proc.returncode}: " + "; ".join(lines[-3:]))
                if label == "runtime":  # one library, three sizes (the top of both ranges among them)
                    for seq, batch in ((1, 1), (5, 2), (12, 5)):
                        feeds = torch_feeds(rng, seq, batch)
                        failed += not check(label, hodu, so, mo, feeds, feeds, fix, work, a.tol,
                                            f"seq {seq} batch {batch}")
                    continue
                failed += not check(label, hodu, so, mo, feeds, ort_feeds, fix, work, a.tol)
            except Exception as exc:  # a failed build or run is a failure
                print(f"FAIL {label:<6} {type(exc).__name__}: {exc}", flush=True)
                failed += 1
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"test_recurrent: {'every' if not failed else failed} model or size "
          f"{'agreed' if not failed else 'disagreed or failed'} with onnxruntime", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
