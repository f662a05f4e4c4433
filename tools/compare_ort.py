#!/usr/bin/env python3
"""Compile ONNX models with hodu and compare their outputs with onnxruntime.

    python tools/compare_ort.py --hodu build/hodu MODEL.onnx [MODEL2.onnx ...]
                                [--tol 1e-4] [--seed 0] [--work DIR]

For each model: make random inputs and save them as .npy, run
`hodu --build`, then `hodu --run --output-dir`, run onnxruntime
(CPUExecutionProvider) on the same inputs, and report for every output the
relative max error  max|hodu - ort| / max|ort|  (the plain max |hodu - ort|
when the reference is all zeros). A summary table follows, one row per model.
The exit status is 0 only when every model built, ran and stayed within --tol.

Random inputs, per input name and dtype:
  floating point        standard normal
  name contains "mask"  all ones (attention masks)
  "token_type"/"segment" in the name: zeros (segment ids index a tiny table)
  other integers        uniform in [0, --int-high)   (token ids and the like)
  other bool            random True/False
Symbolic dims take the size given by --input-shape NAME=AxBxC (also passed on
to `hodu --build`), else 1.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import onnx
    import onnxruntime as ort
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"compare_ort: error: {exc}; install onnx and onnxruntime")


def log(msg=""):
    print(msg, flush=True)


def safe_name(name):
    """A file-system friendly version of a tensor name."""
    s = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return s or "_"


def parse_shape_opts(items):
    shapes = {}
    for item in items or []:
        name, sep, dims = item.rpartition("=")
        if not sep or not name:
            raise SystemExit(f"compare_ort: error: --input-shape expects NAME=AxBxC, got {item!r}")
        try:
            shapes[name] = [int(d) for d in dims.lower().split("x")] if dims else []
        except ValueError:
            raise SystemExit(f"compare_ort: error: bad dims in --input-shape {item!r}") from None
    return shapes


def graph_inputs(model):
    """Real graph inputs (not initializers) as (name, numpy dtype, dims list of int|str)."""
    inits = {i.name for i in model.graph.initializer}
    out = []
    for v in model.graph.input:
        if v.name in inits:
            continue
        t = v.type.tensor_type
        if not v.type.HasField("tensor_type"):
            raise ValueError(f"input {v.name!r} is not a tensor")
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type))
        dims = []
        for d in t.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            else:
                dims.append(d.dim_param or "?")
        out.append((v.name, dtype, dims))
    return out


def make_input(name, dtype, shape, rng, int_high):
    lname = name.lower()
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    if "mask" in lname:
        return np.ones(shape, dtype=dtype)
    if "token_type" in lname or "segment" in lname:
        return np.zeros(shape, dtype=dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, int_high, size=shape).astype(dtype)
    raise ValueError(f"input {name!r}: no random generator for dtype {dtype}")


def run_cmd(argv, timeout):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return None, time.perf_counter() - t0, f"timed out after {timeout} s\n{exc.stderr or ''}"
    except OSError as exc:
        return None, time.perf_counter() - t0, f"cannot execute {argv[0]}: {exc}"
    return p, time.perf_counter() - t0, None


def show_failure(what, argv, proc, err, max_lines):
    log(f"  {what} failed: {' '.join(argv)}")
    if err:
        text = err
    else:
        text = (proc.stderr or "").rstrip() or (proc.stdout or "").rstrip() or "(no output)"
        text = f"exit status {proc.returncode}\n{text}"
    lines = text.splitlines()
    for line in lines[:max_lines]:  # the first errors are the ones that matter
        log(f"    | {line}")
    if len(lines) > max_lines:
        log(f"    ... ({len(lines) - max_lines} more lines; see --stderr-lines)")


def first_error_line(proc, err, model_path):
    """The first error line, without the "hodu: error: MODEL: " prefix (the table names the model)."""
    if err:
        return err.splitlines()[0]
    text = (proc.stderr or "") + "\n" + (proc.stdout or "")
    errors = [l.strip() for l in text.splitlines() if "error" in l.lower()]
    if errors:
        line = errors[0]
        for prefix in ("hodu: error: ",):
            if line.startswith(prefix):
                line = line[len(prefix):]
                for name in (model_path + ": ", os.path.basename(model_path) + ": "):
                    if line.startswith(name):
                        line = line[len(name):]
                        break
        more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
        return line + more
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else f"exit status {proc.returncode}"


def find_output_file(out_dir, name):
    for cand in (name, safe_name(name)):
        path = os.path.join(out_dir, cand + ".npy")
        if os.path.isfile(path):
            return path
    return None


def compare(got, ref):
    """Returns (relative max error, max abs error, note)."""
    if got.shape != ref.shape:
        return float("inf"), float("inf"), f"shape {got.shape} != expected {ref.shape}"
    note = ""
    if got.dtype != ref.dtype:
        note = f"dtype {got.dtype} != expected {ref.dtype}"
    if ref.size == 0:
        return 0.0, 0.0, note
    if ref.dtype == np.bool_ or got.dtype == np.bool_:
        bad = int(np.count_nonzero(got.astype(np.bool_) != ref.astype(np.bool_)))
        return (float("inf") if bad else 0.0), float(bad), note or (f"{bad} values differ" if bad else "")
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    nan_r, nan_g = np.isnan(r), np.isnan(g)
    if np.any(nan_r != nan_g):
        return float("inf"), float("inf"), "NaN where the reference has none (or the reverse)"
    finite = ~nan_r
    inf_mismatch = np.any(np.isinf(r[finite]) != np.isinf(g[finite])) or \
        np.any(np.isinf(r) & np.isinf(g) & (np.sign(r) != np.sign(g)))
    if inf_mismatch:
        return float("inf"), float("inf"), "infinities differ"
    ok = finite & ~np.isinf(r)
    if not np.any(ok):
        return 0.0, 0.0, note
    diff = np.abs(g[ok] - r[ok])
    max_abs = float(diff.max())
    scale = float(np.abs(r[ok]).max())
    rel = max_abs / scale if scale > 0 else max_abs
    return rel, max_abs, note


class Result:
    def __init__(self, model):
        self.model = model
        self.build_s = None
        self.run_s = None
        self.status = "ok"
        self.rel = None
        self.detail = ""


def check_model(path, args, shapes, rng_seed, stem):
    res = Result(os.path.basename(path))
    work = os.path.join(args.work, stem)
    in_dir = os.path.join(work, "inputs")
    out_dir = os.path.join(work, "outputs")
    so_path = os.path.join(work, stem + ".so")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(in_dir)
    os.makedirs(out_dir)
    log(f"== {path}")

    # --- inputs -------------------------------------------------------------
    try:
        model = onnx.load(path, load_external_data=False)
        inputs = graph_inputs(model)
    except Exception as exc:
        res.status, res.detail = "bad-model", f"cannot read with onnx: {exc}"
        log(f"  {res.detail}")
        return res
    del model
    rng = np.random.default_rng(rng_seed)
    feeds, shape_flags, input_flags = {}, [], []
    for name, dtype, dims in inputs:
        if name in shapes:
            shape = shapes[name]
            if len(shape) != len(dims) and dims:
                log(f"  warning: --input-shape {name} has rank {len(shape)}, model says {len(dims)}")
            shape_flags += ["--input-shape", f"{name}={'x'.join(map(str, shape))}"]
        else:
            shape = [d if isinstance(d, int) else 1 for d in dims]
            if any(not isinstance(d, int) for d in dims):
                shape_flags += ["--input-shape", f"{name}={'x'.join(map(str, shape))}"]
        try:
            arr = make_input(name, dtype, shape, rng, args.int_high)
        except ValueError as exc:
            res.status, res.detail = "bad-input", str(exc)
            log(f"  {res.detail}")
            return res
        feeds[name] = arr
        fpath = os.path.join(in_dir, safe_name(name) + ".npy")
        np.save(fpath, arr)
        input_flags += ["--input", f"{name}={fpath}"]
        log(f"  input  {name}: {arr.dtype}[{'x'.join(map(str, arr.shape))}] -> {fpath}")

    # --- hodu --build -------------------------------------------------------
    argv = [args.hodu, "--build", path, "-o", so_path] + shape_flags
    if args.opt is not None:
        argv += ["-O", str(args.opt)]
    argv += args.build_arg
    proc, secs, err = run_cmd(argv, args.timeout)
    res.build_s = secs
    if err or proc.returncode != 0:
        show_failure("hodu --build", argv, proc, err, args.stderr_lines)
        res.status, res.detail = "build-error", first_error_line(proc, err, path)
        return res
    if not os.path.isfile(so_path):
        res.status, res.detail = "build-error", f"exit 0 but {so_path} was not written"
        log(f"  {res.detail}")
        return res
    log(f"  built  {so_path} in {secs:.2f} s ({os.path.getsize(so_path) / 1e6:.1f} MB)")

    # --- hodu --run ---------------------------------------------------------
    argv = [args.hodu, "--run", so_path] + input_flags + ["--output-dir", out_dir]
    proc, secs, err = run_cmd(argv, args.timeout)
    res.run_s = secs
    if err or proc.returncode != 0:
        show_failure("hodu --run", argv, proc, err, args.stderr_lines)
        res.status, res.detail = "run-error", first_error_line(proc, err, path)
        return res
    if args.verbose and proc.stdout.strip():
        for line in proc.stdout.rstrip().splitlines():
            log(f"    | {line}")

    # --- onnxruntime --------------------------------------------------------
    try:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        out_names = [o.name for o in sess.get_outputs()]
        refs = sess.run(out_names, feeds)
    except Exception as exc:
        res.status, res.detail = "ort-error", f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        log(f"  onnxruntime failed: {exc}")
        return res

    # --- compare ------------------------------------------------------------
    worst = 0.0
    problems = []
    for name, ref in zip(out_names, refs):
        ref = np.asarray(ref)
        fpath = find_output_file(out_dir, name)
        if fpath is None:
            problems.append(f"{name}: no {name}.npy in {out_dir}")
            log(f"  output {name}: MISSING (hodu wrote: {', '.join(sorted(os.listdir(out_dir))) or 'nothing'})")
            worst = float("inf")
            continue
        try:
            got = np.load(fpath, allow_pickle=False)
        except Exception as exc:
            problems.append(f"{name}: unreadable .npy ({exc})")
            log(f"  output {name}: cannot load {fpath}: {exc}")
            worst = float("inf")
            continue
        rel, max_abs, note = compare(got, ref)
        worst = max(worst, rel)
        flag = "" if rel <= args.tol else "  <-- over tolerance"
        scale = float(np.abs(ref).max()) if ref.size and np.issubdtype(ref.dtype, np.number) else 0.0
        log(f"  output {name}: {ref.dtype}[{'x'.join(map(str, ref.shape))}] "
            f"max_abs_err {max_abs:.3e}  max|ort| {scale:.3e}  rel {rel:.3e}"
            f"{'  (' + note + ')' if note else ''}{flag}")
        if note and ("shape" in note or "NaN" in note or "infinit" in note):
            problems.append(f"{name}: {note}")
    res.rel = worst
    if problems:
        res.status, res.detail = "mismatch", problems[0]
    elif worst > args.tol:
        res.status, res.detail = "over-tol", f"{worst:.3e} > {args.tol:g}"
    return res


def print_table(results, tol):
    headers = ["model", "build s", "run s", "status", "max rel err", "detail"]
    rows = []
    for r in results:
        rows.append([
            r.model,
            f"{r.build_s:.2f}" if r.build_s is not None else "-",
            f"{r.run_s:.2f}" if r.run_s is not None else "-",
            r.status,
            (f"{r.rel:.3e}" if r.rel is not None else "-"),
            (r.detail[:140] + "...") if len(r.detail) > 140 else r.detail,
        ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    log()
    log(f"summary (tolerance {tol:g} on max|hodu-ort| / max|ort|)")
    log(fmt.format(*headers).rstrip())
    log("  ".join("-" * w for w in widths))
    for row in rows:
        log(fmt.format(*row).rstrip())


def op_histogram(model):
    """Counts op types over the main graph and any subgraphs (If/Loop bodies)."""
    import collections

    import onnx

    counts = collections.Counter()

    def walk(graph):
        for node in graph.node:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            counts[key] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model.graph)
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", metavar="MODEL.onnx")
    ap.add_argument("--hodu", default="build/hodu", help="the hodu executable (default build/hodu)")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="largest accepted relative max error (default 1e-4)")
    ap.add_argument("--seed", type=int, default=0, help="seed for the random inputs (default 0)")
    ap.add_argument("--int-high", type=int, default=100,
                    help="integer inputs (token ids) are drawn from [0, INT_HIGH) (default 100)")
    ap.add_argument("--work", help="folder for inputs, .so files and outputs "
                    "(default: a temporary folder, removed afterwards)")
    ap.add_argument("--input-shape", action="append", metavar="NAME=AxBxC",
                    help="size for an input with symbolic dims; passed on to hodu --build")
    ap.add_argument("-O", dest="opt", metavar="LEVEL", help="optimisation level passed to hodu --build")
    ap.add_argument("--build-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for hodu --build (repeatable), e.g. --build-arg=--emit-c=DIR")
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per hodu command (default 900)")
    ap.add_argument("--stderr-lines", type=int, default=20,
                    help="how many leading lines of hodu's output to show on failure (default 40)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also show hodu --run's summary")
    args = ap.parse_args(argv)

    if args.int_high < 1:
        ap.error("--int-high must be at least 1")
    hodu = args.hodu
    if os.sep not in hodu:
        hodu = shutil.which(hodu) or hodu
    if not (os.path.isfile(hodu) and os.access(hodu, os.X_OK)):
        print(f"compare_ort: error: hodu executable not found: {args.hodu}", file=sys.stderr)
        return 2
    args.hodu = os.path.abspath(hodu)
    for m in args.models:
        if not os.path.isfile(m):
            print(f"compare_ort: error: {m}: no such file", file=sys.stderr)
            return 2
    shapes = parse_shape_opts(args.input_shape)

    tmp = None
    if args.work is None:
        tmp = tempfile.mkdtemp(prefix="compare_ort.")
        args.work = tmp
    os.makedirs(args.work, exist_ok=True)
    results = []
    used = set()
    try:
        for path in args.models:
            stem = base = safe_name(os.path.splitext(os.path.basename(path))[0])
            n = 1
            while stem in used:  # same file name from two folders
                n += 1
                stem = f"{base}_{n}"
            used.add(stem)
            try:
                results.append(check_model(path, args, shapes, args.seed, stem))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a bug here must not hide the other models
                r = Result(os.path.basename(path))
                r.status, r.detail = "script-error", f"{type(exc).__name__}: {exc}"
                log(f"  compare_ort internal error: {r.detail}")
                results.append(r)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(results, args.tol)
    bad = [r for r in results if r.status != "ok"]
    if bad:
        log(f"\n{len(bad)} of {len(results)} model(s) failed")
        return 1
    log(f"\nall {len(results)} model(s) within tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
