#!/usr/bin/env python3
"""Whole-model regression suite: real models through hodu against onnxruntime.

    tools/regress [--models a,b] [--subset ci|full] [--sizes SPEC ...]
                  [--json-history FILE] [--hodu build/hodu] [--cache DIR] [--work DIR]

For each model of tools/regress_models.py: export it once with its dynamic
dims as symbols (cached under --cache, keyed by the exporter sources and the
package versions; exports under an older key are removed when a new key is
first used), then for each size: build with hodu, run `hodu --run` on
random inputs (fixed seed; token ids within the vocabulary; attention masks
padded to a random length per row, one row full; a decode step's cache is
the previous step's onnxruntime output),
run onnxruntime on the same inputs and compare every output. The bar is a
max abs error of 1e-4 relative to the output's max abs; for the int8 model,
one quantization step (the error measured in units of the scale of the
DequantizeLinear that produces the output), or onnxruntime's own spread when
that is larger: its fused integer kernels (the default) and its plain QDQ
graph (optimizations off) round differently, and over ResNet-18's 20
requantizations they end up 2 steps apart on a few logits on an AVX-512
machine, 6-8 on an AVX2 one (whose u8s8 kernels saturate their 16-bit
pair sums). hodu's error is its distance to the nearer of the two. A table follows
(model, size, ops, compile seconds, max error, pass/fail, reason: the first
hodu error, or every unsupported op with its count) and one JSON record per
invocation is appended to --json-history (JSON Lines: the models with their
op histograms and, per size, status, times, errors per output).

Build modes: by default each model is first built once with run-time dims:
every symbol whose size differs between the model's sizes becomes
`--dim SYM=MIN..MAX`, every other one `--dim SYM=N`, and that one library
runs at every size.  Where hodu refuses (run-time dims it does not support
yet, such as a sequence length inside attention), the log says why and the
sizes that differ only in "batch" share one build with a run-time batch;
where hodu refuses that too, each size gets its own build.  The table's
"builds" column counts them.  --build-per-size skips both attempts.

--sizes replaces each selected model's sizes: every SPEC is one size,
SYMBOL=N[,SYMBOL=N...], merged over the model's first size; symbols a model
does not have are ignored. Exit status: 0 when every run passed.
"""
import argparse
import collections
import datetime
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import compare_ort  # noqa: E402  (inputs, running commands, the comparison)
import regress_models  # noqa: E402  (the model table; torch is imported by the export child only)

try:
    import onnx
    import onnxruntime as ort
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"regress: error: {exc}; install onnx and onnxruntime")


TOL = 1e-4           # float models: max|hodu-ort| / max|ort|
INT8_STEPS = 1.0     # int8 model: max|hodu-ort| / output scale
PACKAGES = ["torch", "torchvision", "transformers", "onnx", "onnxruntime", "numpy"]


def log(msg=""):
    print(msg, flush=True)


def cache_key(seed):
    h = hashlib.sha256()
    for path in regress_models.EXPORTER_FILES:
        with open(path, "rb") as f:
            h.update(f.read())
    for pkg in PACKAGES:
        try:
            h.update(f"{pkg}={importlib.metadata.version(pkg)};".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{pkg}=none;".encode())
    h.update(f"seed={seed}".encode())
    return h.hexdigest()[:16]


def export_cached(m, cache_dir, seed, timeout):
    """Returns (path, seconds spent exporting or 0 when cached, error)."""
    path = os.path.join(cache_dir, m.name + ".onnx")
    if os.path.isfile(path):
        return path, 0.0, None
    if not os.path.isdir(cache_dir):
        # exports under another key are stale (the set weighs gigabytes)
        parent = os.path.dirname(cache_dir)
        for old in os.listdir(parent) if os.path.isdir(parent) else []:
            if re.fullmatch(r"[0-9a-f]{16}", old):
                log(f"  removing stale exports {os.path.join(parent, old)}")
                shutil.rmtree(os.path.join(parent, old), ignore_errors=True)
    os.makedirs(cache_dir, exist_ok=True)
    argv = [sys.executable, os.path.join(HERE, "regress_models.py"), "--export", m.name,
            "--out", path, "--seed", str(seed)]
    log(f"  exporting {m.name} ...")
    proc, secs, err = compare_ort.run_cmd(argv, timeout)
    if err or proc.returncode != 0:
        text = err or (proc.stderr or proc.stdout or f"exit status {proc.returncode}")
        lines = [l for l in text.splitlines() if l.strip()]
        for line in lines[-15:]:
            log(f"    | {line}")
        return None, secs, "export failed: " + (lines[-1].strip() if lines else "no output")
    return path, secs, None


def op_histogram(model):
    counts = compare_ort.op_histogram(model)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def output_scales(model):
    """{output name: scale} for outputs made by DequantizeLinear with a constant scalar scale."""
    inits = {t.name: t for t in model.graph.initializer}
    consts = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = a.t
    outs = {o.name for o in model.graph.output}
    scales = {}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.output[0] in outs:
            t = inits.get(node.input[1]) or consts.get(node.input[1])
            if t is not None:
                arr = onnx.numpy_helper.to_array(t)
                if arr.size == 1:
                    scales[node.output[0]] = float(arr.reshape(()))
    return scales


def resolve_shape(dims, size, name):
    shape = []
    for d in dims:
        if isinstance(d, int):
            shape.append(d)
        elif d in size:
            shape.append(int(size[d]))
        else:
            raise ValueError(f"input {name!r}: no value for symbol {d!r} in size {size}")
    return shape


def size_tag(size):
    return ",".join(f"{k}={v}" for k, v in size.items())


def ort_run(model_path, feeds, optimize):
    """onnxruntime's outputs by name; optimize=False runs the graph as written
    (for QDQ models: float ops between Dequantize and Quantize, no fused
    integer kernels)."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def build_error_summary(proc, err, model_path):
    """The first error line without the model's path, and when ops are
    missing, every missing op with its count (what the model needs)."""
    if err:
        return err.splitlines()[0]
    text = (proc.stderr or "") + "\n" + (proc.stdout or "")
    errors = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("hodu: error: "):
            line = line[len("hodu: error: "):]
        elif "error" not in line.lower():
            continue
        errors.append(line.replace(model_path, os.path.basename(model_path)))
    if not errors:
        lines = [l for l in text.splitlines() if l.strip()]
        return lines[-1].strip() if lines else f"exit status {proc.returncode}"
    missing = collections.Counter(re.findall(r"unsupported op (\S+)", "\n".join(errors)))
    if missing:
        return "unsupported ops: " + ", ".join(f"{op} x{n}" for op, n in missing.most_common())
    more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
    return errors[0] + more


def hodu_build(hodu, model_path, so_path, shape_flags, timeout):
    """Returns (seconds, error line or None)."""
    argv = [hodu, "--build", model_path, "-o", so_path] + shape_flags
    proc, secs, err = compare_ort.run_cmd(argv, timeout)
    if err or proc.returncode != 0:
        return secs, build_error_summary(proc, err, model_path)
    if not os.path.isfile(so_path):
        return secs, f"exit 0 but {so_path} was not written"
    return secs, None


class Run:
    """One model at one size."""

    def __init__(self, size):
        self.size = size
        self.status = "fail"
        self.compile_s = None
        self.run_s = None
        self.err = None        # relative error (float) or steps (int8)
        self.reason = ""
        self.outputs = {}
        self.ort_spread = None  # int8: onnxruntime optimized vs unoptimized, in steps

    def as_json(self):
        return {"size": self.size, "status": self.status, "compile_s": self.compile_s, "run_s": self.run_s,
                "max_err": self.err, "reason": self.reason, "outputs": self.outputs,
                "ort_spread_steps": self.ort_spread}


def run_size(m, model_path, inputs, size, prev_refs, args, work, so_path, built):
    """Builds (unless `built`), runs hodu and onnxruntime at one size, compares.
    Returns (Run, onnxruntime outputs by name or None)."""
    r = Run(size)
    in_dir = os.path.join(work, "inputs")
    out_dir = os.path.join(work, "outputs")
    shutil.rmtree(in_dir, ignore_errors=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(in_dir)
    os.makedirs(out_dir)
    # same seed per size: each size's inputs are reproducible on their own
    tag_hash = int.from_bytes(hashlib.sha256(size_tag(size).encode()).digest()[:4], "little")
    rng = np.random.default_rng([args.seed, tag_hash])
    chain_in = {dst: src for src, dst in m.chain}
    feeds, shape_flags, input_flags = {}, [], []
    for name, dtype, dims in inputs:
        try:
            shape = resolve_shape(dims, size, name)
        except ValueError as exc:
            r.reason = str(exc)
            return r, None
        if prev_refs is not None and name in chain_in:
            arr = np.ascontiguousarray(prev_refs[chain_in[name]])
        else:
            arr = compare_ort.make_input(name, dtype, shape, rng, m.int_high)
            if "mask" in name.lower() and len(shape) == 2 and not m.chain and shape[1] > 1:
                # padded batches: row b keeps its first n_b positions (n_b >= 1),
                # so the masked-out path of the attention runs too
                keep = rng.integers(1, shape[1] + 1, size=shape[0])
                keep[0] = shape[1]  # and one row unpadded
                arr = (np.arange(shape[1])[None, :] < keep[:, None]).astype(dtype)
        if list(arr.shape) != shape:
            r.reason = f"input {name}: chained value has shape {arr.shape}, size says {shape}"
            return r, None
        feeds[name] = arr
        fpath = os.path.join(in_dir, compare_ort.safe_name(name) + ".npy")
        np.save(fpath, arr)
        input_flags += ["--input", f"{name}={fpath}"]
        if any(not isinstance(d, int) for d in dims):
            shape_flags += ["--input-shape", f"{name}={'x'.join(map(str, shape))}"]

    # --- onnxruntime first: its outputs feed the next step even when hodu fails
    refs = alt = None
    try:
        refs = ort_run(model_path, feeds, optimize=True)
        if m.kind == "int8":
            alt = ort_run(model_path, feeds, optimize=False)
    except Exception as exc:
        r.status, r.reason = "ort-error", f"onnxruntime: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        return r, None

    # --- hodu --build ---------------------------------------------------------
    if not built:
        r.compile_s, error = hodu_build(args.hodu, model_path, so_path, shape_flags, args.timeout)
        if error:
            r.status, r.reason = "build-error", error
            return r, refs

    # --- hodu --run -----------------------------------------------------------
    argv = [args.hodu, "--run", so_path] + input_flags + ["--output-dir", out_dir]
    proc, r.run_s, err = compare_ort.run_cmd(argv, args.timeout)
    if err or proc.returncode != 0:
        r.status, r.reason = "run-error", build_error_summary(proc, err, model_path)
        return r, refs

    # --- compare ----------------------------------------------------------------
    scales = output_scales(onnx.load(model_path, load_external_data=False)) if m.kind == "int8" else {}
    worst, problems, spread = 0.0, [], 0.0
    for name, ref in refs.items():
        ref = np.asarray(ref)
        fpath = compare_ort.find_output_file(out_dir, name)
        if fpath is None:
            problems.append(f"output {name}: not written")
            worst = float("inf")
            continue
        got = np.load(fpath, allow_pickle=False)
        rel, max_abs, note = compare_ort.compare(got, ref)
        if m.kind == "int8" and name in scales and np.isfinite(max_abs):
            # onnxruntime's fused integer kernels and its plain QDQ path round
            # differently; that spread is what "one step" can be held to, and
            # hodu is held to the nearer of the two (the plain path computes
            # the QDQ graph as written; the fused one approximates it more on
            # some CPUs than on others)
            alt_abs = compare_ort.compare(got, np.asarray(alt[name]))[1]
            err = min(max_abs, alt_abs) / scales[name]
            ort_abs = compare_ort.compare(np.asarray(alt[name]), ref)[1]
            spread = max(spread, ort_abs / scales[name])
        elif m.kind == "int8":
            err = float("inf")
            note = note or "no DequantizeLinear scale for this output"
        else:
            err = rel
        r.outputs[name] = {"shape": list(ref.shape), "max_abs_err": max_abs, "max_err": err,
                           "max_abs_ref": float(np.abs(ref).max()) if ref.size and ref.dtype != np.bool_ else 0.0}
        worst = max(worst, err)
        if ref.size > 1 and ref.dtype.kind == "f" and np.all(ref == ref.flat[0]):
            # random weights gone degenerate (a zero-initialised head): a
            # constant reference proves nothing, so the export is at fault
            problems.append(f"output {name}: the reference is constant ({float(ref.flat[0]):g}); fix the export")
        if note and ("shape" in note or "NaN" in note or "infinit" in note or "scale" in note):
            problems.append(f"output {name}: {note}")
    r.err = worst
    bar = TOL
    if m.kind == "int8":
        r.ort_spread = spread
        bar = max(INT8_STEPS, spread)
    if problems:
        r.status, r.reason = "wrong", problems[0]
    elif worst > bar:
        worst_name = max(r.outputs, key=lambda n: r.outputs[n]["max_err"])
        unit = " steps" if m.kind == "int8" else ""
        r.status, r.reason = "wrong", f"output {worst_name}: error {worst:.3g}{unit} > {bar:g}"
    else:
        r.status = "pass"
    if m.kind == "int8" and spread > INT8_STEPS:
        r.reason = (r.reason + "; " if r.reason else "") + \
            f"bar {bar:.3g} steps: onnxruntime optimized vs unoptimized differ by {spread:.3g} steps"
    return r, refs


def dim_flags(inputs, sizes, relations=None):
    """--dim flags building one library for every size: a symbol that takes
    several sizes becomes a run-time dim over their range, or, when the
    model relates it to others that do (relations), their expression."""
    syms = []
    for _, _, dims in inputs:
        syms += [d for d in dims if not isinstance(d, int) and d not in syms]
    flags = []
    for sym in syms:
        vals = sorted({size[sym] for size in sizes if sym in size})
        if len(vals) > 1 and sym in (relations or {}):
            flags += ["--dim", f"{sym}={relations[sym]}"]
        elif vals:
            flags += ["--dim", f"{sym}={vals[0]}" if len(vals) == 1 else f"{sym}={vals[0]}..{vals[-1]}"]
    return flags


def check_model(m, sizes, args, cache_dir):
    rec = {"model": m.name, "kind": m.kind, "ops": {}, "n_ops": None, "export_s": None, "runs": [],
           "status": "fail", "reason": ""}
    log(f"== {m.name}")
    path, rec["export_s"], error = export_cached(m, cache_dir, args.seed, args.export_timeout)
    if error:
        rec["reason"] = error
        return rec
    proto = onnx.load(path, load_external_data=False)
    rec["ops"] = op_histogram(proto)
    rec["n_ops"] = sum(rec["ops"].values())
    inputs = compare_ort.graph_inputs(proto)
    del proto
    log(f"  {path}: {rec['n_ops']} nodes, {len(rec['ops'])} op types"
        + (f" (exported in {rec['export_s']:.1f} s)" if rec["export_s"] else " (cached)"))
    work = os.path.join(args.work, m.name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    so_path = os.path.join(work, m.name + ".so")

    # One library per group of sizes: first one for all of them; where hodu
    # refuses, one per set of non-batch sizes (the batch a run-time dim);
    # where it refuses that too, one per size.
    lib_of, builds, compile_of = [None] * len(sizes), 0, {}
    groups = [list(range(len(sizes)))] if args.build_once else []
    tried_batch = False
    while groups:
        group = groups.pop(0)
        lib = os.path.join(work, f"{m.name}.g{group[0]}.so")
        secs, error = hodu_build(args.hodu, path, lib, dim_flags(inputs, [sizes[i] for i in group], m.relations),
                                 args.timeout)
        if error is None:
            builds += 1
            compile_of[group[0]] = secs
            for i in group:
                lib_of[i] = lib
            continue
        log(f"  one build for {', '.join(size_tag(sizes[i]) for i in group)} refused: {error}")
        rec.setdefault("build_errors", []).append(error)
        if not tried_batch and len(group) > 1:
            tried_batch = True
            by_rest = collections.OrderedDict()
            for i in group:
                key = tuple(sorted((k, v) for k, v in sizes[i].items() if k != "batch"))
                by_rest.setdefault(key, []).append(i)
            if len(by_rest) > 1:  # else that was the build just refused
                groups += [g for g in by_rest.values() if len(g) > 1]
    builds += sum(lib is None for lib in lib_of)
    rec["builds"] = builds
    prev = None
    for i, size in enumerate(sizes):
        built = lib_of[i] is not None
        r, prev = run_size(m, path, inputs, size, prev, args, work, lib_of[i] or so_path, built)
        if i in compile_of:
            r.compile_s = compile_of[i]  # a group's one build, shown on its first row
        if not built and not args.keep and os.path.exists(so_path):
            os.remove(so_path)  # one .so per size: a heavy model's library is large
        rec["runs"].append(r.as_json())
        cs = f"{r.compile_s:.1f} s" if r.compile_s is not None else "-"
        es = f"{r.err:.3g}" if r.err is not None else "-"
        log(f"  [{size_tag(size)}] {r.status}  compile {cs}  max err {es}  {r.reason}")
    statuses = [run["status"] for run in rec["runs"]]
    rec["status"] = "pass" if statuses and all(s == "pass" for s in statuses) else "fail"
    rec["reason"] = next((run["reason"] for run in rec["runs"] if run["status"] != "pass"), "")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return rec


def print_table(records, mode):
    headers = ["model", "size", "ops", "builds", "compile s", "max err", "result", "reason"]
    rows = []
    for rec in records:
        ops = f"{rec['n_ops']}/{len(rec['ops'])}" if rec["n_ops"] is not None else "-"
        if not rec["runs"]:
            rows.append([rec["model"], "-", ops, "-", "-", "-", "FAIL", rec["reason"]])
            continue
        builds = str(rec.get("builds", "-"))
        for i, run in enumerate(rec["runs"]):
            err = run["max_err"]
            errs = "-" if err is None else (f"{err:.2f} st" if rec["kind"] == "int8" else f"{err:.1e}")
            rows.append([rec["model"] if i == 0 else "", size_tag(run["size"]), ops if i == 0 else "",
                         builds if i == 0 else "",
                         f"{run['compile_s']:.1f}" if run["compile_s"] is not None else "-", errs,
                         "pass" if run["status"] == "pass" else "FAIL",
                         run["reason"][:110] + ("..." if len(run["reason"]) > 110 else "")])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    log()
    log(f"regress: {mode}; bar {TOL:g} relative to max|ort| ({INT8_STEPS:g} quantization step for int8);"
        " ops = nodes/op types")
    log(fmt.format(*headers).rstrip())
    log("  ".join("-" * w for w in widths))
    for row in rows:
        log(fmt.format(*row).rstrip())
    npass = sum(rec["status"] == "pass" for rec in records)
    log(f"models: {npass} passed, {len(records) - npass} failed of {len(records)}")


def _finite(x):
    """JSON has no inf/nan: write them as strings."""
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def git_commit():
    try:
        out = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def parse_sizes(specs, ap):
    sizes = []
    for spec in specs or []:
        size = {}
        for item in spec.split(","):
            key, sep, val = item.partition("=")
            try:
                size[key.strip()] = int(val)
            except ValueError:
                ap.error(f"--sizes: expected SYMBOL=N[,SYMBOL=N...], got {spec!r}")
            if not sep or not key.strip() or size[key.strip()] < 0:
                ap.error(f"--sizes: expected SYMBOL=N[,SYMBOL=N...], got {spec!r}")
        sizes.append(size)
    return sizes


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tools/regress", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help="comma-separated names (default: the subset); "
                    f"choose from {', '.join(regress_models.MODELS)}")
    ap.add_argument("--subset", choices=["ci", "full"], default="full",
                    help="ci: the small models CI runs (models tagged ci); full: all (default)")
    ap.add_argument("--sizes", nargs="+", metavar="SYM=N[,SYM=N]", help="sizes to run each model at")
    ap.add_argument("--json-history", default=os.path.join(REPO, "build", "regress", "history.jsonl"),
                    help="file a JSON record of this run is appended to (default build/regress/history.jsonl; "
                    "'' for none)")
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--cache", default=os.path.join(REPO, "build", "regress", "models"),
                    help="export cache folder (default build/regress/models)")
    ap.add_argument("--work", default=os.path.join(REPO, "build", "regress", "work"),
                    help="inputs, libraries and outputs (default build/regress/work)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder and .so files")
    ap.add_argument("--build-per-size", dest="build_once", action="store_false",
                    help="skip the one build with run-time dims: build each size on its own")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per hodu command (default 1800)")
    ap.add_argument("--export-timeout", type=float, default=1800, help="seconds per export (default 1800)")
    ap.add_argument("--list", action="store_true", help="list the models and their sizes, then exit")
    args = ap.parse_args(argv)

    if args.list:
        for m in regress_models.MODELS.values():
            tags = ",".join(sorted(m.tags)) or "-"
            log(f"{m.name:24} {m.kind:5} {tags:6} " + "  ".join(size_tag(s) for s in m.sizes))
        return 0
    if args.models:
        names = [n.strip() for n in args.models.split(",") if n.strip()]
        unknown = [n for n in names if n not in regress_models.MODELS]
        if unknown:
            ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(regress_models.MODELS)}")
    else:
        names = [n for n, m in regress_models.MODELS.items() if args.subset == "full" or "ci" in m.tags]
    sizes_override = parse_sizes(args.sizes, ap)
    if not (os.path.isfile(args.hodu) and os.access(args.hodu, os.X_OK)):
        print(f"regress: error: hodu executable not found: {args.hodu}", file=sys.stderr)
        return 2
    args.hodu = os.path.abspath(args.hodu)
    key = cache_key(args.seed)
    cache_dir = os.path.join(args.cache, key)
    mode = ("one build with run-time dims where hodu takes them, else one per size" if args.build_once
            else "one build per size")
    log(f"regress: {len(names)} model(s); mode: {mode}; export cache {cache_dir}")

    t0 = time.time()
    records = []
    for name in names:
        m = regress_models.MODELS[name]
        sizes = m.sizes
        if sizes_override:
            sizes = [{k: s.get(k, v) for k, v in m.sizes[0].items()} for s in sizes_override]
        try:
            records.append(check_model(m, sizes, args, cache_dir))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a bug here must not hide the other models
            log(f"  regress internal error: {type(exc).__name__}: {exc}")
            records.append({"model": name, "kind": m.kind, "ops": {}, "n_ops": None, "export_s": None,
                            "runs": [], "status": "fail", "reason": f"regress error: {type(exc).__name__}: {exc}"})
    print_table(records, mode)
    log(f"total {time.time() - t0:.0f} s")

    if args.json_history:
        versions = {}
        for pkg in PACKAGES:
            try:
                versions[pkg] = importlib.metadata.version(pkg)
            except importlib.metadata.PackageNotFoundError:
                versions[pkg] = None
        record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "commit": git_commit(), "mode": "run-time-dims" if args.build_once else "build-per-size",
                  "seed": args.seed, "export_key": key, "versions": versions,
                  "seconds": round(time.time() - t0, 1), "models": records}
        os.makedirs(os.path.dirname(os.path.abspath(args.json_history)), exist_ok=True)
        with open(args.json_history, "a") as f:
            f.write(json.dumps(_finite(record)) + "\n")
        log(f"history: appended to {args.json_history}")
    return 0 if records and all(rec["status"] == "pass" for rec in records) else 1


if __name__ == "__main__":
    sys.exit(main())
