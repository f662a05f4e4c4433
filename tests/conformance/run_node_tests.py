#!/usr/bin/env python3
"""Run the ONNX backend node tests through the real `hodu` command.

The `onnx` wheel ships about 1,800 single-operator test cases under
onnx/backend/test/data/node/<test>/: a model.onnx and one or more
test_data_set_N/ folders holding input_K.pb and output_K.pb (TensorProto
files; input K belongs to the graph's K-th input, output K to its K-th
output).  For each case this script

  1. converts the inputs to .npy,
  2. compiles the model:  hodu --build model.onnx -o model.so -O 2
     If the build fails and every error line is a "needs the value of graph
     input 'X' at build time" line, it builds again with those inputs bound
     to the data set's own values (--const-input X=input_K.npy), and again
     while the errors name only further inputs.  Hodu bakes shapes into the
     generated code, so an input that defines a shape has to be known when
     compiling; the JSON records which inputs were bound, and they are not
     passed again at run time.
  3. runs it:  hodu --run model.so --input NAME=FILE.npy ... --output-dir DIR
  4. compares every output with the expected one: same dtype, same shape,
     NaN and infinity at the same places, then |got - want| <= atol + rtol*|want|
     with the tolerance of the ONNX backend runner (rtol=1e-3, atol=1e-7
     unless the case's data.json says otherwise).

Unless --no-ort is given, onnxruntime runs every case too, on the same data
and with the same comparison, in the same run (one intra-op thread), and the
line before the last gives its count; the JSON records both per test.

String tensors travel as numpy unicode arrays ('<U<n>' .npy, which
`hodu --run` reads and writes as UTF-8 strings), as run-time inputs like
any other; string outputs must have the same shape and equal elements.
onnxruntime gets them as numpy object arrays of str.  A sequence input
travels as one .npy per tensor (--input NAME=F0.npy,F1.npy), its length
and its tensors' dims bound at build time as a shape is
(--input-shape NAME=[D0,D1]), an absent optional as NAME=none; a sequence
output is read back as NAME[0], NAME[1], ... with the length and any
absence `hodu --run` reports.  A case is skipped
only when a graph input or output is a map of strings, which has no .npy
form.  Ops of every domain are tried (hodu names those it does not
support).  Everything else that does not match is a failure, with a
one-line reason.

The last line printed is always
    conformance: N passed, M failed, K skipped
and the exit status is 0 when the pass count reaches the required minimum
(--min-pass, --min-pass-ratio of ALL selected cases, skipped ones included),
no test listed in an --expect-pass file failed, and, with --fail-on-crash,
hodu never died from a signal or a sanitizer report.  tools/test.sh runs it
with --min-pass-ratio 0.60.

    .venv/bin/python tests/conformance/run_node_tests.py -k test_conv -v
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-7
DEFAULT_DOMAINS = ("", "ai.onnx")
NEEDS_VALUE_RE = re.compile(r"needs the value of graph input '([^']*)' at build time")
UNSUPPORTED_RE = re.compile(r"unsupported op (\S+)")
# what AddressSanitizer, LeakSanitizer and UBSan print (a -DHODU_SANITIZE build)
SANITIZER_RE = re.compile(r"ERROR: (?:Address|Leak)Sanitizer.*|runtime error: .*|SUMMARY: \w+Sanitizer.*")


# --------------------------------------------------------------------------
# Reading a test case
# --------------------------------------------------------------------------

def default_data_dir() -> str:
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def all_graphs(graph: onnx.GraphProto):
    """The graph and every subgraph nested in its nodes' attributes."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from all_graphs(attr.g)
            for sub in attr.graphs:
                yield from all_graphs(sub)


def model_nodes(model: onnx.ModelProto):
    for g in all_graphs(model.graph):
        yield from g.node
    for fn in model.functions:
        yield from fn.node


def op_name(node: onnx.NodeProto) -> str:
    if node.domain in DEFAULT_DOMAINS:
        return node.op_type
    return f"{node.domain}:{node.op_type}"


def type_has_strings(tp: onnx.TypeProto) -> bool:
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return False  # string tensors run as '<U' .npy files
    if kind == "sparse_tensor_type":
        return tp.sparse_tensor_type.elem_type == onnx.TensorProto.STRING
    if kind == "sequence_type":
        return type_has_strings(tp.sequence_type.elem_type)
    if kind == "optional_type":
        return type_has_strings(tp.optional_type.elem_type)
    if kind == "map_type":
        return (tp.map_type.key_type == onnx.TensorProto.STRING
                or type_has_strings(tp.map_type.value_type))
    return False


def skip_reason(model: onnx.ModelProto) -> str | None:
    # Ops of other domains (ai.onnx.ml, the training ops) are tried like any
    # other: hodu says which it does not support.  Only maps (and sparse
    # tensors) of strings have no .npy form to pass through `hodu --run`.
    for g in all_graphs(model.graph):
        for v in list(g.input) + list(g.output):
            if type_has_strings(v.type):
                return f"string tensor '{v.name}'"
    return None


def load_value(path: str, tp: onnx.TypeProto):
    """Reads input_K.pb / output_K.pb as the graph declares it.  Tensors come
    back as numpy arrays; sequences and optionals as lists / None."""
    with open(path, "rb") as f:
        data = f.read()
    kind = tp.WhichOneof("value")
    if kind == "sequence_type":
        seq = onnx.SequenceProto()
        seq.ParseFromString(data)
        return numpy_helper.to_list(seq)
    if kind == "optional_type":
        opt = onnx.OptionalProto()
        opt.ParseFromString(data)
        return numpy_helper.to_optional(opt)
    t = onnx.TensorProto()
    t.ParseFromString(data)
    return numpy_helper.to_array(t)


def read_tolerance(case_dir: str) -> tuple[float, float]:
    rtol, atol = DEFAULT_RTOL, DEFAULT_ATOL
    meta = os.path.join(case_dir, "data.json")
    if os.path.exists(meta):
        with open(meta) as f:
            data = json.load(f)
        rtol = float(data.get("rtol", rtol))
        atol = float(data.get("atol", atol))
    return rtol, atol


def sanitize(name: str) -> str:
    """The file name `hodu --run` gives an output: anything but letters,
    digits, '.', '_' and '-' becomes '_'."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)


# --------------------------------------------------------------------------
# Running hodu
# --------------------------------------------------------------------------

class Timeout(Exception):
    pass


@dataclass
class Proc:
    rc: int
    out: str


def run_cmd(cmd: list[str], deadline: float, cwd: str) -> Proc:
    """Runs cmd in its own process group so that a timeout also ends the C
    compiler hodu started."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Timeout()
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()
        raise Timeout() from None
    return Proc(p.returncode, out.decode("utf-8", "replace"))


def error_lines(out: str) -> list[str]:
    return [ln.strip() for ln in out.splitlines() if ln.startswith("hodu: error:")]


def describe_failure(step: str, proc: Proc, strip: list[str]) -> tuple[str, str]:
    """(kind, reason) for a failed hodu command."""
    if proc.rc < 0:
        try:
            sig = signal.Signals(-proc.rc).name
        except ValueError:
            sig = f"signal {-proc.rc}"
        return "crash", f"hodu {step} killed by {sig}"
    san = SANITIZER_RE.search(proc.out)
    if san:
        msg = san.group(0).strip()
        for s in strip:
            msg = msg.replace(s, "")
        return "sanitizer", f"hodu {step}: {msg}"[:300]
    lines = error_lines(proc.out)
    if lines:
        msg = lines[0][len("hodu: error:"):].strip()
    else:
        other = [ln.strip() for ln in proc.out.splitlines() if ln.strip()]
        msg = other[0] if other else "(no message)"
        msg = f"exit {proc.rc} without an error line: {msg}"
    for s in strip:
        msg = msg.replace(s, "")
    msg = msg[:300]
    if UNSUPPORTED_RE.search(msg):
        kind = "unsupported-op"
    else:
        kind = "build-error" if step == "--build" else "run-error"
    return kind, msg


# --------------------------------------------------------------------------
# Comparing outputs
# --------------------------------------------------------------------------

def fmt_index(shape, flat: int) -> str:
    if not shape:
        return "()"
    return str(tuple(int(i) for i in np.unravel_index(flat, shape)))


def compare(name: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """None if got matches want, otherwise a one-line reason.  Like the ONNX
    backend runner (numpy's assert_allclose), every dtype but strings is
    compared as |got - want| <= atol + rtol*|want| in float64 (complex128 for
    complex); NaN and infinity must sit at the same places."""
    if want.dtype.kind in "OSU" and got.dtype.kind in "OSU":
        pass  # strings: numpy unicode from hodu, objects from the test data
    elif got.dtype != want.dtype:
        return f"output {name}: dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"output {name}: shape {got.shape}, expected {want.shape}"
    if got.size == 0:
        return None
    if want.dtype.kind in "OSU":  # strings: equal, element by element
        g, w = got.ravel(), want.ravel()
        for i in range(want.size):
            gs = g[i].decode("utf-8") if isinstance(g[i], bytes) else str(g[i])
            ws = w[i].decode("utf-8") if isinstance(w[i], bytes) else str(w[i])
            if gs != ws:
                return f"output {name}: strings differ at index {fmt_index(want.shape, i)} (got {gs!r}, expected {ws!r})"[:300]
        return None
    wide = np.complex128 if want.dtype.kind == "c" else np.float64
    g, w = got.astype(wide).ravel(), want.astype(wide).ravel()
    gn, wn = np.isnan(g), np.isnan(w)
    if not np.array_equal(gn, wn):
        i = int(np.argmax(gn != wn))
        return (f"output {name}: NaN mismatch at index {fmt_index(want.shape, i)} "
                f"(got {g[i]:.7g}, expected {w[i]:.7g})")
    gi, wi = np.isinf(g), np.isinf(w)
    bad_inf = (gi | wi) & ~(gi & wi & (g == w))
    if bad_inf.any():
        i = int(np.argmax(bad_inf))
        return (f"output {name}: infinity mismatch at index {fmt_index(want.shape, i)} "
                f"(got {g[i]:.7g}, expected {w[i]:.7g})")
    finite = ~(gn | gi)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(g - w), 0.0)
        excess = np.where(finite, diff - (atol + rtol * np.abs(w)), -np.inf)
    bad = excess > 0
    if not bad.any():
        return None
    i = int(np.argmax(excess))
    return (f"output {name}: max abs err {float(diff.max()):.3g} "
            f"at index {fmt_index(want.shape, i)} (got {g[i]:.7g}, expected {w[i]:.7g}; "
            f"{int(bad.sum())} of {want.size} elements beyond rtol={rtol:g} atol={atol:g})")


def load_output(path: str, want: np.ndarray) -> np.ndarray:
    got = np.load(path, allow_pickle=False)
    # ml_dtypes types (bfloat16, float8, int4, ...) have no .npy type code:
    # numpy itself writes them as raw void ('|V2'); read them as the type the
    # graph declares when the byte width agrees.
    if got.dtype.kind == "V" and got.dtype.itemsize == want.dtype.itemsize and got.dtype != want.dtype \
            and (want.dtype.kind == "V" or want.dtype.type.__module__.startswith("ml_dtypes")):
        got = got.view(want.dtype)
    return got


# --------------------------------------------------------------------------
# One test case
# --------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    status: str                 # "pass", "fail", "skip"
    reason: str = ""
    kind: str = ""              # failure kind, see describe_failure / run_case
    ops: list[str] = field(default_factory=list)
    bound_inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ort_status: str = ""        # onnxruntime on the same data: "pass", "fail", or "" (not run)
    ort_reason: str = ""

    def as_json(self) -> dict:
        d = {"name": self.name, "status": self.status, "reason": self.reason,
             "kind": self.kind, "ops": self.ops, "bound_inputs": self.bound_inputs,
             "seconds": round(self.seconds, 2)}
        if self.ort_status:
            d["ort_status"], d["ort_reason"] = self.ort_status, self.ort_reason
        return d


@dataclass
class Config:
    hodu: str
    opt_level: str
    timeout: float
    cflags: str
    work: str
    stop_at: float | None = None    # monotonic time after which no test starts
    ort: bool = False               # also run onnxruntime on every case
    target: str = ""                # hodu --build --target TRIPLE
    runner: list[str] = field(default_factory=list)  # run_model-style runner (e.g. under qemu)


def shape_arg(vi: onnx.ValueInfoProto, arr: np.ndarray) -> str | None:
    """--input-shape for an input whose declared shape is not fully static."""
    tt = vi.type.tensor_type
    static = tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim)
    if static or arr.ndim == 0:
        return None
    return f"{vi.name}=" + "x".join(str(d) for d in arr.shape)


class CaseFailure(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def as_unicode(a: np.ndarray) -> np.ndarray:
    """A string tensor (object array of str or bytes) as numpy unicode."""
    flat = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in a.ravel()]
    width = max([len(x) for x in flat] + [1])
    return np.array(flat, dtype=f"<U{width}").reshape(a.shape)


def dims_text(a: np.ndarray) -> str:
    return "x".join(str(d) for d in a.shape) if a.ndim else "scalar"


def save_npy(path: str, val: np.ndarray) -> None:
    if val.dtype == object:  # strings: numpy unicode, as hodu --run reads them
        val = as_unicode(val)
    np.save(path, val, allow_pickle=False)


def read_inputs(graph: onnx.GraphProto, ds_dir: str, work: str, tag: str):
    """Converts a data set's input_K.pb files to .npy.  Returns the inputs
    as [(name, npy path)], the --input-shape arguments the build needs, and
    the first input that cannot be passed as .npy (or None).  A sequence
    (or an optional one) is its tensors' files, joined by ',' as `hodu
    --run --input NAME=F0,F1` takes them, and its length and dims are bound
    at build time (--input-shape NAME=[D0,D1]); an absent optional is bound
    absent (NAME=none) and not passed."""
    feeds, shape_args, unfeedable = [], [], None
    k = 0
    while os.path.exists(os.path.join(ds_dir, f"input_{k}.pb")):
        if k >= len(graph.input):
            raise CaseFailure("harness", f"input_{k}.pb has no graph input")
        vi = graph.input[k]
        val = load_value(os.path.join(ds_dir, f"input_{k}.pb"), vi.type)
        if isinstance(val, np.ndarray):
            path = os.path.join(work, f"{tag}_input_{k}.npy")
            save_npy(path, val)
            feeds.append((vi.name, path))
            sa = shape_arg(vi, val)
            if sa:
                shape_args += ["--input-shape", sa]
        elif val is None:
            shape_args += ["--input-shape", f"{vi.name}=none"]
        elif isinstance(val, list) and all(isinstance(t, np.ndarray) for t in val):
            paths = []
            for i, t in enumerate(val):
                paths.append(os.path.join(work, f"{tag}_input_{k}_{i}.npy"))
                save_npy(paths[-1], t)
            feeds.append((vi.name, ",".join(paths)))
            shape_args += ["--input-shape", f"{vi.name}=[" + ",".join(dims_text(t) for t in val) + "]"]
        elif unfeedable is None:
            unfeedable = f"input {vi.name} holds something other than tensors, which has no .npy form"
        k += 1
    return feeds, shape_args, unfeedable


def same_value(name: str, got, want, rtol: float, atol: float) -> str | None:
    """compare() for a tensor, a sequence of them or an empty optional."""
    if isinstance(want, np.ndarray):
        if not isinstance(got, np.ndarray):
            return f"output {name}: not a tensor"
        if want.dtype.kind in "OSU":  # strings: equal, element by element
            same = got.shape == want.shape and all(str(a) == str(b) for a, b in zip(got.ravel(), want.ravel()))
            return None if same else f"output {name}: strings differ"
        return compare(name, got, want, rtol, atol)
    if want is None or got is None:
        return None if want is None and got is None else f"output {name}: optional presence differs"
    if not isinstance(got, list) or len(got) != len(want):
        return f"output {name}: sequence of {len(got) if isinstance(got, list) else '?'}, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        msg = same_value(f"{name}[{i}]", np.asarray(g), np.asarray(w), rtol, atol)
        if msg:
            return msg
    return None


def ort_check(case_dir: str, model: onnx.ModelProto) -> tuple[str, str]:
    """onnxruntime on the case's own data sets, compared as hodu's outputs
    are: ("pass", "") or ("fail", reason)."""
    import onnxruntime as ort
    rtol, atol = read_tolerance(case_dir)
    graph = model.graph
    try:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.log_severity_level = 4
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        for ds in sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_")):
            ds_dir = os.path.join(case_dir, ds)
            feeds, k = {}, 0
            while os.path.exists(os.path.join(ds_dir, f"input_{k}.pb")):
                vi = graph.input[k]
                feeds[vi.name] = load_value(os.path.join(ds_dir, f"input_{k}.pb"), vi.type)
                k += 1
            got = sess.run(None, feeds)
            k = 0
            while os.path.exists(os.path.join(ds_dir, f"output_{k}.pb")):
                vo = graph.output[k]
                want = load_value(os.path.join(ds_dir, f"output_{k}.pb"), vo.type)
                msg = same_value(vo.name, got[k], want, rtol, atol)
                if msg:
                    return "fail", msg[:300]
                k += 1
    except Exception as e:  # onnxruntime refuses the model or fails to run it
        return "fail", f"{type(e).__name__}: {e}".replace("\n", " ")[:300]
    return "pass", ""


def run_case(case_dir: str, cfg: Config) -> Result:
    name = os.path.basename(case_dir)
    model_path = os.path.join(case_dir, "model.onnx")
    model = onnx.load(model_path)
    res = Result(name, "fail", ops=sorted({op_name(n) for n in model_nodes(model)}))
    if cfg.ort:
        res.ort_status, res.ort_reason = ort_check(case_dir, model)
    why = skip_reason(model)
    if why:
        res.status, res.reason, res.kind = "skip", why, "skip"
        return res
    try:
        check_case(case_dir, model, cfg, res)
    except CaseFailure as f:
        res.kind, res.reason = f.kind, f.reason
        return res
    except Timeout:
        res.kind, res.reason = "timeout", f"timeout (more than {cfg.timeout:g} s)"
        return res
    res.status = "pass"
    return res


def check_case(case_dir: str, model: onnx.ModelProto, cfg: Config, res: Result) -> None:
    """Builds and runs one case; raises CaseFailure or Timeout."""
    model_path = os.path.join(case_dir, "model.onnx")
    rtol, atol = read_tolerance(case_dir)
    graph = model.graph
    work = os.path.join(cfg.work, res.name)
    os.makedirs(work, exist_ok=True)
    deadline = time.monotonic() + cfg.timeout
    strip = [case_dir + os.sep, work + os.sep]
    sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_"))
    if not sets:
        raise CaseFailure("harness", "no test_data_set_* folder")

    def build(extra: list[str], so: str) -> Proc:
        cmd = [cfg.hodu, "--build", model_path, "-o", so, "-O", cfg.opt_level] + extra
        if cfg.cflags:
            cmd += ["--cflags", cfg.cflags]
        if cfg.target:
            cmd += ["--target", cfg.target]
        return run_cmd(cmd, deadline, work)

    unbound: dict[tuple, str] = {}   # --input-shape arguments -> library built without bound inputs
    for ds in sets:
        ds_dir = os.path.join(case_dir, ds)
        feeds, shape_args, unfeedable = read_inputs(graph, ds_dir, work, ds)
        npy = dict(feeds)
        bound: set[str] = set()     # inputs baked into this data set's build
        so = unbound.get(tuple(shape_args))
        if so is None:
            so = os.path.join(work, f"{ds}.so")
            proc = build(shape_args, so)
            if proc.rc == 0:
                unbound[tuple(shape_args)] = so
            # Rebuild with inputs bound while every error line asks for the
            # value of an input not bound yet.  (Hodu should name them all at
            # once; asking again covers a compiler that names one per build.)
            while proc.rc != 0:
                lines = error_lines(proc.out)
                needed = [m.group(1) for m in map(NEEDS_VALUE_RE.search, lines) if m]
                if proc.rc < 0 or not lines or len(needed) != len(lines) or set(needed) <= bound:
                    raise CaseFailure(*describe_failure("--build", proc, strip))
                for n in needed:
                    if n not in npy:
                        raise CaseFailure("build-error", f"needs the value of graph input '{n}', "
                                          "which the data set does not give as a tensor")
                bound |= set(needed)
                const_args = []
                for n in sorted(bound):
                    const_args += ["--const-input", f"{n}={npy[n]}"]
                so = os.path.join(work, f"{ds}_bound.so")
                proc = build(shape_args + const_args, so)
            res.bound_inputs = sorted(set(res.bound_inputs) | bound)
        if unfeedable:
            raise CaseFailure("harness", unfeedable)

        out_dir = os.path.join(work, f"{ds}_out")
        os.makedirs(out_dir, exist_ok=True)
        if cfg.runner:
            # examples/consumer/run_model.c's arguments: the inputs in the
            # library's order (the graph's, less the bound ones; a sequence's
            # tensors in order), outputs written as PREFIX<i>.npy, renamed
            # here as --run names them
            prefix = os.path.join(out_dir, "out")
            cmd = cfg.runner + [so, prefix] + [f for n, p in feeds if n not in bound for f in p.split(",") if f]
        else:
            cmd = [cfg.hodu, "--run", so, "--output-dir", out_dir]
            for n, p in feeds:
                if n not in bound:   # bound inputs are baked into the library
                    cmd += ["--input", f"{n}={p}"]
        proc = run_cmd(cmd, deadline, work)
        if proc.rc != 0:
            raise CaseFailure(*describe_failure("--run", proc, strip))
        if cfg.runner:
            # the library's outputs: a sequence's tensors in its place, an
            # absent optional none (as the data set expects them; the
            # runner prints no summary, so their count is not checked)
            flat = []
            for k, vo in enumerate(graph.output):
                path = os.path.join(ds_dir, f"output_{k}.pb")
                want = load_value(path, vo.type) if os.path.exists(path) else None
                if isinstance(want, list):
                    flat += [f"{vo.name}[{i}]" for i in range(len(want))]
                elif want is not None or vo.type.WhichOneof("value") == "tensor_type":
                    flat.append(vo.name)
            for k, name in enumerate(flat):
                if os.path.exists(f"{prefix}{k}.npy"):
                    os.replace(f"{prefix}{k}.npy", os.path.join(out_dir, sanitize(name) + ".npy"))
        check_outputs(graph, ds_dir, out_dir, rtol, atol, None if cfg.runner else proc.out)


def check_tensor_output(name: str, out_dir: str, want: np.ndarray, rtol: float, atol: float) -> None:
    path = os.path.join(out_dir, sanitize(name) + ".npy")
    if not os.path.exists(path):
        raise CaseFailure("missing-output", f"output {name}: hodu --run wrote no {os.path.basename(path)}")
    try:
        got = load_output(path, want)
    except Exception as e:  # a malformed .npy from hodu
        raise CaseFailure("bad-npy", f"output {name}: unreadable .npy ({e})"[:300]) from None
    msg = compare(name, got, want, rtol, atol)
    if msg:
        kind = ("wrong-dtype" if ": dtype " in msg else
                "wrong-shape" if ": shape " in msg else "wrong-values")
        raise CaseFailure(kind, msg)


def check_outputs(graph: onnx.GraphProto, ds_dir: str, out_dir: str, rtol: float, atol: float,
                  run_out: str | None) -> None:
    """Every output against the data set's.  A sequence's tensors are the
    files of NAME[0], NAME[1], ... and `hodu --run` says how many there are
    ("NAME: sequence of N tensors"), or that an optional is absent
    ("NAME: absent (...)"), in run_out (None: a runner that says nothing;
    the files alone are checked)."""
    k = 0
    while os.path.exists(os.path.join(ds_dir, f"output_{k}.pb")):
        if k >= len(graph.output):
            raise CaseFailure("harness", f"output_{k}.pb has no graph output")
        vo = graph.output[k]
        want = load_value(os.path.join(ds_dir, f"output_{k}.pb"), vo.type)
        said = re.search(rf"^{re.escape(vo.name)}: (absent|\S+(?: \S+)? of (\d+) tensors)", run_out or "", re.M)
        heard = run_out is not None   # a runner prints no summary: its files alone are checked
        if isinstance(want, np.ndarray):
            check_tensor_output(vo.name, out_dir, want, rtol, atol)
        elif want is None:
            wrote = os.path.exists(os.path.join(out_dir, sanitize(vo.name) + ".npy"))
            if (heard and (not said or said.group(1) != "absent")) or wrote:
                raise CaseFailure("wrong-values", f"output {vo.name}: expected absent, hodu --run did not say so")
        elif isinstance(want, list) and all(isinstance(t, np.ndarray) for t in want):
            if heard and (not said or said.group(2) is None):
                raise CaseFailure("missing-output", f"output {vo.name}: hodu --run reported no sequence")
            if heard and int(said.group(2)) != len(want):
                raise CaseFailure("wrong-shape", f"output {vo.name}: sequence of {said.group(2)} tensors, "
                                  f"expected {len(want)}")
            for i, t in enumerate(want):
                check_tensor_output(f"{vo.name}[{i}]", out_dir, t, rtol, atol)
        else:
            raise CaseFailure("harness", f"output {vo.name} holds something other than tensors")
        k += 1


def run_case_guarded(case_dir: str, cfg: Config) -> Result:
    t0 = time.monotonic()
    if cfg.stop_at is not None and t0 > cfg.stop_at:
        return Result(os.path.basename(case_dir), "fail", kind="not-run",
                      reason="not run: the suite's --budget was spent")
    try:
        r = run_case(case_dir, cfg)
    except Exception as e:  # a bug here or an unreadable test file
        r = Result(os.path.basename(case_dir), "fail", kind="harness",
                   reason=f"harness error: {type(e).__name__}: {e}"[:300])
    r.seconds = time.monotonic() - t0
    return r


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def ort_version() -> str:
    import onnxruntime
    return onnxruntime.__version__


def read_name_list(path: str) -> set[str]:
    with open(path) as f:
        return {ln.split("#", 1)[0].strip() for ln in f} - {""}


def reason_group(r: Result) -> str:
    if r.kind == "unsupported-op":
        m = UNSUPPORTED_RE.search(r.reason)
        return f"unsupported op {m.group(1)}" if m else r.kind
    return r.kind


def main(argv: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(repo, "build", "hodu"),
                    help="the hodu command (default: build/hodu)")
    ap.add_argument("-k", dest="filters", action="append", default=[], metavar="SUBSTRING",
                    help="run only tests whose name contains SUBSTRING (repeatable: any)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="tests run at once (default: number of CPUs)")
    # hodu's own default level: the code users get.  -O 1 saves no measurable
    # time here (the generated code of one op is small; process start-up and
    # the C compiler's fixed cost dominate).
    ap.add_argument("-O", dest="opt_level", default="2", help="optimization level passed to hodu (default 2)")
    ap.add_argument("--cflags", default="",
                    help='extra C compiler flags for every build, e.g. "-Wall -Wextra -Werror" (CI uses that)')
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds per test, builds and runs together (default 120)")
    ap.add_argument("--json", metavar="OUT.json", help="write per-test results here")
    ap.add_argument("--data-dir", default=None, help="node test folder (default: the onnx package's)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder and print where it is")
    ap.add_argument("--min-pass", type=int, default=0, help="fail unless at least this many tests pass")
    ap.add_argument("--min-pass-ratio", type=float, default=0.0,
                    help="fail unless this fraction of ALL selected tests (skipped included) pass")
    ap.add_argument("--expect-pass", metavar="FILE",
                    help="tests listed here (one per line) must pass: any that does not is a regression "
                         "and makes the exit status 1")
    ap.add_argument("--update-expect-pass", metavar="FILE",
                    help="write the passing tests to FILE (entries outside a -k selection are kept)")
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="run only every N-th test (after -k), e.g. for a slow sanitizer build")
    ap.add_argument("--fail-on-crash", action="store_true",
                    help="exit 1 if hodu was killed by a signal or a sanitizer reported an error")
    ap.add_argument("--budget", type=float, metavar="SECONDS",
                    help="start no test after this many seconds; the rest fail as 'not run'")
    ap.add_argument("--no-ort", dest="ort", action="store_false",
                    help="do not also run onnxruntime on every case (by default both counts are printed)")
    ap.add_argument("--target", default="", metavar="TRIPLE",
                    help="build with hodu --build --target TRIPLE (e.g. aarch64-linux-gnu); needs --runner")
    ap.add_argument("--runner", default="", metavar="CMD",
                    help="run each library with CMD LIB.so PREFIX INPUT.npy... (examples/consumer/run_model.c, "
                         "e.g. \"qemu-aarch64 -L /usr/aarch64-linux-gnu DIR/run_model\") instead of hodu --run")
    ap.add_argument("-v", "--verbose", action="store_true", help="print a line for every test")
    args = ap.parse_args(argv)
    if args.target and not args.runner:
        print("run_node_tests: --target needs --runner (hodu --run cannot load another machine's library)",
              file=sys.stderr)
        return 2

    hodu = shutil.which(args.hodu) if os.sep not in args.hodu else os.path.abspath(args.hodu)
    if not hodu or not os.access(hodu, os.X_OK):
        print(f"run_node_tests: no hodu executable at {args.hodu}", file=sys.stderr)
        return 2
    data_dir = os.path.abspath(args.data_dir or default_data_dir())
    names = sorted(n for n in os.listdir(data_dir)
                   if os.path.isfile(os.path.join(data_dir, n, "model.onnx")))
    if args.filters:
        names = [n for n in names if any(f in n for f in args.filters)]
    names = names[::max(1, args.sample)]
    if not names:
        print("run_node_tests: no test matches", file=sys.stderr)

    if args.ort:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            print("run_node_tests: onnxruntime is missing (pip install -r tools/requirements-test.txt), "
                  "or pass --no-ort", file=sys.stderr)
            return 2
    work = tempfile.mkdtemp(prefix="hodu-conformance-")
    expected = read_name_list(args.expect_pass) if args.expect_pass else set()
    t0 = time.monotonic()
    cfg = Config(hodu=hodu, opt_level=args.opt_level, timeout=args.timeout, cflags=args.cflags, work=work,
                 stop_at=t0 + args.budget if args.budget else None, ort=args.ort, target=args.target,
                 runner=shlex.split(args.runner))
    results: list[Result] = []
    step = max(50, len(names) // 20)   # progress lines on stderr, about 20 per run
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futs = [pool.submit(run_case_guarded, os.path.join(data_dir, n), cfg) for n in names]
            for fut in concurrent.futures.as_completed(futs):
                r = fut.result()
                results.append(r)
                done = len(results)
                if args.verbose:
                    line = f"{r.status.upper():4} {r.name}"
                    if r.reason:
                        line += f": {r.reason}"
                    print(line, flush=True)
                elif done % step == 0 or done == len(names):
                    print(f"  [{done}/{len(names)}] {time.monotonic() - t0:.0f} s",
                          file=sys.stderr, flush=True)
                if not args.keep:
                    shutil.rmtree(os.path.join(work, r.name), ignore_errors=True)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    results.sort(key=lambda r: r.name)
    passed = sum(r.status == "pass" for r in results)
    failed = sum(r.status == "fail" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    ort_passed = sum(r.ort_status == "pass" for r in results)
    elapsed = time.monotonic() - t0
    need = max(args.min_pass, math.ceil(args.min_pass_ratio * len(results) - 1e-9))

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        doc = {
            "suite": "onnx backend node tests",
            "onnx_version": onnx.__version__,
            "hodu": hodu,
            "opt_level": args.opt_level,
            "filters": args.filters,
            "sample": args.sample,
            "total": len(results), "passed": passed, "failed": failed, "skipped": skipped,
            "ort_passed": ort_passed if args.ort else None,
            "ort_version": ort_version() if args.ort else None,
            "min_pass": need,
            "seconds": round(elapsed, 1),
            "tests": [r.as_json() for r in results],
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")

    groups: dict[str, int] = {}
    for r in results:
        if r.status == "fail":
            g = reason_group(r)
            groups[g] = groups.get(g, 0) + 1
    if groups:
        print("most common failure reasons:")
        for g, c in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))[:15]:
            print(f"  {c:5d}  {g}")
    slow = sorted(results, key=lambda r: -r.seconds)[:3]
    if slow:
        print(f"took {elapsed:.0f} s; slowest: " + ", ".join(f"{r.name} {r.seconds:.1f} s" for r in slow))
    ok = passed >= need
    if need:
        print(f"required {need} passes of {len(results)} tests: {'met' if ok else 'NOT met'}")
    if args.expect_pass:
        regressions = [r for r in results if r.name in expected and r.status != "pass"]
        for r in regressions:
            print(f"REGRESSION {r.name}: {r.reason}")
        new = sum(r.status == "pass" and r.name not in expected for r in results)
        if new:
            print(f"{new} passing tests are not yet in {args.expect_pass} "
                  f"(add them with --update-expect-pass {args.expect_pass})")
        if regressions:
            print(f"{len(regressions)} tests listed in {args.expect_pass} no longer pass")
            ok = False
    if args.fail_on_crash:
        crashed = [r for r in results if r.kind in ("crash", "sanitizer")]
        for r in crashed:
            print(f"CRASH {r.name}: {r.reason}")
        if crashed:
            ok = False
    if args.update_expect_pass:
        selected = {r.name for r in results}
        keep = set()
        if os.path.exists(args.update_expect_pass):
            keep = read_name_list(args.update_expect_pass) - selected
        names_out = sorted(keep | {r.name for r in results if r.status == "pass"})
        with open(args.update_expect_pass, "w") as f:
            f.write("# ONNX node tests that must keep passing (tests/conformance/run_node_tests.py\n"
                    "# --expect-pass); regenerate with --update-expect-pass.\n")
            f.writelines(n + "\n" for n in names_out)
    if args.ort:
        ort_only = [r for r in results if r.ort_status == "pass" and r.status != "pass"]
        print(f"onnxruntime {ort_version()} on the same cases: {ort_passed} passed; "
              f"{len(ort_only)} pass there and not here")
    print(f"conformance: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
