"""Hodu against onnxruntime on a fixed model set, in one run (see bench/run --help)."""
import argparse
import datetime
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)

# The model set, in table order; bench/export_models.py knows how to build
# each one (it is not imported here: that would load torch into this process).
MODELS = ["mlp_b1", "mlp_b64", "lenet5", "resnet18", "resnet50", "mobilenet_v2",
          "mobilenet_v3_large", "efficientnet_b0", "bert_base", "gpt2_prefill"]

HELP = """\
usage: bench/run [--threads T] [--models a,b] [--repeat N] [--rounds R] [--json FILE]
                 [--hodu PATH] [--work DIR] [--warmup W] [--tol X] [--seed S]

Speed, memory and accuracy of hodu-compiled models against onnxruntime.

For each model of the set (default: all of
  {models})
the bench exports it with random weights (opset 17, fixed seed; cached in
WORK/models and exported again when the export scripts or torch change),
builds it with `hodu --build` (timed), makes seeded random inputs, and then,
each in a process of its own:
  hodu         `hodu --run --repeat N --threads T` (warm-up runs for 0.2 s, then the
               median of N)
  onnxruntime  intra_op_num_threads=T, inter_op_num_threads=1, ORT_ENABLE_ALL
               (W warm-up runs and at least 0.2 s of them, then the median of N)
Both sides time the same thing: one inference from inputs already in memory
into output buffers allocated once (hodu_instance_run in C; onnxruntime's
run_with_iobinding, so its figure carries no numpy conversion or output
allocation, only the Python call itself, a few microseconds).  With
--rounds R the two alternate R times and each side's figure is the median of
its R medians.
Peak RSS is each process's ru_maxrss.  onnxruntime's process is Python, so a
baseline process that only imports numpy and onnxruntime is measured too and
the table shows onnxruntime's peak both raw and above that baseline.
Outputs are compared: max |hodu - ort| / max |ort| over all outputs; above
--tol the row is flagged with '!' (it stays in the geomean; failures do not).

The machine's FMA peak and the kernel layer's SGEMM are measured each run by
bench/peak.c, compiled with `cc -O2 -march=native`: the 1-thread peak and
hd_sgemm_ws on 1 thread; with T > 1 also the peak of T threads running the
FMA loop at once (the sum of their GFLOP/s) and hd_sgemm_par on T threads
of the runtime's pool (src/runtime/pool.c), against that T-thread peak.
Each SGEMM row also gives, in brackets, the product with B packed
beforehand, as compiled models read their weights.
%peak is model FLOPs (`hodu --inspect`) / hodu time / (T x 1-thread peak).

options:
  --threads T    threads for hodu and onnxruntime (default 1); hodu must
                 accept --threads, otherwise the bench stops
  --models a,b   comma-separated subset of the set (default all)
  --repeat N     timed runs per measurement (default 50; use >= 50 for figures
                 you keep)
  --rounds R     measurements per side, alternating hodu and onnxruntime
                 (default 1; 3 or more on a shared or noisy machine)
  --json FILE    results file (default WORK/bench-<T>t.json)
  --hodu PATH    the hodu binary (default build/hodu)
  --work DIR     cache and scratch folder (default build/bench; keep it under
                 build*/ so git ignores it)
  --warmup W     onnxruntime warm-up runs (default 3)
  --tol X        largest max relative error that counts as agreement
                 (default 1e-3)
  --seed S       seed of the inputs (default 0; weights always use seed 0)
  -h, --help     this text

The last line is `geomean speedup vs onnxruntime: X.XX (T threads)`, speedup
being onnxruntime ms / hodu ms (above 1: hodu faster).  Exit status: 0 when
every model ran and agreed, 1 when some failed or disagreed, 2 when the bench
could not start.

Build hodu first (tools/setup.sh --models makes build/hodu and .venv).
"""


class Stop(Exception):
    """The bench cannot go on; the message says why."""


def log(msg=""):
    print(msg, flush=True)


def first_line(text, limit=160):
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""


def mib(kib):
    return None if kib is None else kib / 1024.0


# --- child processes ---------------------------------------------------------

def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)  # the launcher and the measured command
    except ProcessLookupError:
        pass


def run_measured(cmd, env=None, timeout=3600):
    """Runs cmd as a child and returns (rc, stdout, stderr, peak_rss_kib, wall_s).

    The child runs under bench/rss_exec, which reports its ru_maxrss: every
    measurement is a fresh process, and none of this process is counted
    (see rss_exec.c for why a launcher is needed at all).
    """
    fd, report = tempfile.mkstemp(prefix="rss-", dir=RSS_EXEC["dir"])
    os.close(fd)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([RSS_EXEC["path"], report] + cmd, stdout=out, stderr=err, env=env,
                             start_new_session=True)
        timer = threading.Timer(timeout, kill_group, (p.pid,))
        timer.start()
        try:
            p.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    try:
        with open(report) as f:
            rss_kib = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        rss_kib = None  # killed before it could write
    finally:
        os.unlink(report)
    if wall >= timeout:
        stderr = f"timed out after {timeout} s\n" + stderr
    return p.returncode, stdout, stderr, rss_kib, wall


def capture(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# --- setup -------------------------------------------------------------------

def check_hodu(hodu, threads):
    if not (os.path.isfile(hodu) and os.access(hodu, os.X_OK)):
        raise Stop(f"no hodu binary at {hodu}; build it with tools/setup.sh --models, or pass --hodu PATH")
    v = capture([hodu, "--version"])
    if v.returncode != 0:
        raise Stop(f"{hodu} --version failed: {first_line(v.stderr)}")
    h = capture([hodu, "--help"])
    # Never drop --threads quietly: a bench at T threads that ran hodu on one
    # would report a wrong speedup.
    if not re.search(r"^\s*--threads\b", h.stdout, re.M):
        raise Stop(f"{hodu} does not accept --threads (its --help does not list it), so it cannot be run at "
                   f"{threads} thread(s) as asked; rebuild hodu from a tree that has --threads")
    return first_line(v.stdout)


def machine_info():
    cpu, flags, physical = "unknown", [], set()
    phys_id = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and cpu == "unknown":
                    cpu = value
                elif key in ("flags", "Features") and not flags:
                    flags = value.split()
                elif key == "physical id":
                    phys_id = value
                elif key == "core id":
                    physical.add((phys_id, value))
    except OSError:
        pass
    wanted = re.compile(r"^(sse\d?|ssse3|sse4_[12]|avx|avx2|fma|f16c|avx512\w*|avx_vnni|amx\w*|asimd\w*|fphp|sve\w*)$")
    return {
        "cpu_model": cpu,
        "cpu_flags_simd": [f for f in flags if wanted.match(f)],
        "logical_cpus": os.cpu_count(),
        "physical_cores": len(physical) or None,
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_at_start": list(os.getloadavg()),
        "kernel": platform.platform(),
    }


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


RSS_EXEC = {}


def compile_helpers(work):
    """Builds bench/peak.c and bench/rss_exec.c with the system compiler."""
    cc = os.environ.get("CC", "cc")
    helpers = os.path.join(work, "helpers")
    os.makedirs(helpers, exist_ok=True)
    # peak.c runs SGEMM at T threads on the runtime's own thread pool (pool.c).
    runtime = os.path.join(REPO, "src", "runtime")
    for name, flags in (("peak", ["-O2", "-march=native", "-pthread", "-I", os.path.join(REPO, "include"),
                                  "-I", os.path.join(REPO, "src", "kernels"), "-I", runtime,
                                  os.path.join(runtime, "pool.c"), os.path.join(runtime, "common.c")]),
                        ("rss_exec", ["-O2"])):
        b = capture([cc] + flags + [os.path.join(BENCH, name + ".c"), "-o", os.path.join(helpers, name), "-lm"])
        if b.returncode != 0:
            raise Stop(f"cannot compile bench/{name}.c with {cc}: {first_line(b.stderr)}")
    RSS_EXEC.update(path=os.path.join(helpers, "rss_exec"), dir=helpers)
    return helpers, first_line(capture([cc, "--version"]).stdout)


def measure_peak(helpers, threads):
    """The FMA peak and SGEMM figures from bench/peak.c (one JSON object)."""
    r = capture([os.path.join(helpers, "peak"), "--threads", str(threads)])
    if r.returncode != 0:
        raise Stop(f"bench/peak failed: {first_line(r.stderr)}")
    return json.loads(r.stdout)


# --- models ------------------------------------------------------------------

def export_stamp():
    """What the exported files depend on: a change re-exports them."""
    h = hashlib.sha256()
    for path in (os.path.join(BENCH, "export_models.py"), os.path.join(REPO, "tools", "export_models.py")):
        with open(path, "rb") as f:
            h.update(f.read())
    for pkg in ("torch", "torchvision", "transformers", "onnx"):
        h.update(f"{pkg}={package_version(pkg)}".encode())
    return h.hexdigest()


def export_models(names, model_dir):
    """Exports the models whose cached file is missing or stale.

    Returns {name: error line} for the ones that could not be exported.
    """
    os.makedirs(model_dir, exist_ok=True)
    stamp = export_stamp()

    def fresh(n):
        try:
            with open(os.path.join(model_dir, n + ".stamp")) as f:
                return f.read() == stamp and os.path.isfile(os.path.join(model_dir, n + ".onnx"))
        except OSError:
            return False

    todo = [n for n in names if not fresh(n)]
    if not todo:
        return {}
    log(f"exporting {', '.join(todo)} (cached in {os.path.relpath(model_dir, REPO)})")
    log_path = os.path.join(model_dir, "export.log")
    with open(log_path, "w") as lf:
        # The exporter prints whole graphs on some failures: keep that in the log.
        r = subprocess.run([sys.executable, os.path.join(BENCH, "export_models.py"), "--out", model_dir] + todo,
                           stdout=subprocess.PIPE, stderr=lf, text=True)
    for line in r.stdout.splitlines():
        log("  " + line)
    errors = {}
    with open(log_path, errors="replace") as lf:
        for line in lf:
            m = re.match(r"export_models: error: (\w+): (.*)", line)
            if m:
                errors[m.group(1)] = m.group(2).strip()
    for n in todo:
        if n in errors or not os.path.isfile(os.path.join(model_dir, n + ".onnx")):
            errors.setdefault(n, f"export failed (see {os.path.relpath(log_path, REPO)})")
        else:
            with open(os.path.join(model_dir, n + ".stamp"), "w") as f:
                f.write(stamp)
    return errors


def graph_io(path, strict=False):
    """(inputs, outputs) of an ONNX file as [(name, numpy dtype, dims)]; a
    symbolic dim is 1, or with strict (inputs only) a ValueError naming the
    input."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}

    def desc(v, check=False):
        t = v.type.tensor_type
        if check and any(not d.HasField("dim_value") for d in t.shape.dim):
            raise ValueError(f"input {v.name!r} has a symbolic dim; the test needs static shapes")
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
        return v.name, np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)), dims

    ins = [desc(v, strict) for v in m.graph.input if v.name not in inits]
    return ins, [desc(v) for v in m.graph.output]


def make_inputs(name, inputs, seed, in_dir):
    """Seeded random inputs saved as .npy; returns ['NAME=PATH', ...]."""
    # One stream per model, so a model's inputs do not depend on the subset run.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    os.makedirs(in_dir, exist_ok=True)
    args = []
    for i, (iname, dtype, dims) in enumerate(inputs):
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(dims).astype(dtype)
        elif "mask" in iname:
            value = np.ones(dims, dtype)  # attend to every token
        elif np.issubdtype(dtype, np.integer):
            value = rng.integers(0, 1000, dims).astype(dtype)  # token ids: below every vocab size here
        elif dtype == np.bool_:
            value = rng.integers(0, 2, dims).astype(bool)
        else:
            raise ValueError(f"no random input for {iname} of type {dtype}")
        path = os.path.join(in_dir, f"in{i}.npy")
        np.save(path, value)
        args.append(f"{iname}={path}")
    return args


def output_file(name):
    # The file name `hodu --run --output-dir` gives an output.
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]
    if s in ("", ".", ".."):
        s += "_"
    return s + ".npy"


def compare(out_names, hodu_dir, ort_dir):
    """max |hodu - ort| / max |ort| over every output (plain max |diff| for an all-zero reference)."""
    worst, per = 0.0, {}
    for n in out_names:
        h = np.load(os.path.join(hodu_dir, output_file(n)))
        o = np.load(os.path.join(ort_dir, output_file(n)))
        if h.shape != o.shape:
            raise ValueError(f"output {n}: hodu shape {list(h.shape)}, onnxruntime {list(o.shape)}")
        h64, o64 = h.astype(np.float64), o.astype(np.float64)
        if h.size == 0:
            err = 0.0
        elif not np.array_equal(np.isnan(h64), np.isnan(o64)):
            err = math.inf
        else:
            ok = ~np.isnan(o64)
            diff = np.abs(h64[ok] - o64[ok])
            scale = np.max(np.abs(o64[ok])) if ok.any() else 0.0
            err = float(np.max(diff) / scale) if scale > 0 else float(np.max(diff, initial=0.0))
        per[n] = err
        worst = max(worst, err)
    return worst, per


def hodu_flops(hodu, onnx_path):
    r = capture([hodu, "--inspect", onnx_path])
    m = re.search(r"^flops: (\d+)", r.stdout, re.M)
    return int(m.group(1)) if m else None


def bench_model(name, a, ctx):
    """Measures one model; returns its result dict (status 'ok' or why not)."""
    res = {"model": name, "status": "ok"}
    onnx_path = os.path.join(ctx["model_dir"], name + ".onnx")
    if name in ctx["export_errors"]:
        return dict(res, status="export failed", error=ctx["export_errors"][name])
    mdir = os.path.join(a.work, "runs", name)
    shutil.rmtree(mdir, ignore_errors=True)
    os.makedirs(mdir)

    ins, outs = graph_io(onnx_path)
    res["inputs"] = [{"name": n, "dtype": str(d), "dims": s} for n, d, s in ins]
    feeds = make_inputs(name, ins, a.seed, os.path.join(mdir, "inputs"))

    lib = os.path.join(mdir, name + ".so")
    t0 = time.perf_counter()
    b = capture([a.hodu, "--build", onnx_path, "-o", lib])
    res["build_s"] = time.perf_counter() - t0
    if b.returncode != 0:
        return dict(res, status="build failed", error=first_line(b.stderr) or f"exit status {b.returncode}")
    res["flops"] = hodu_flops(a.hodu, onnx_path)

    env = dict(os.environ, HODU_NUM_THREADS=str(a.threads))
    hodu_cmd = [a.hodu, "--run", lib, "--repeat", str(a.repeat), "--threads", str(a.threads),
                "--output-dir", os.path.join(mdir, "hodu")]
    ort_cmd = [sys.executable, os.path.join(BENCH, "ort_worker.py"), "--model", onnx_path,
               "--threads", str(a.threads), "--repeat", str(a.repeat), "--warmup", str(a.warmup),
               "--out-dir", os.path.join(mdir, "ort")]
    for f in feeds:
        hodu_cmd += ["--input", f]
        ort_cmd += ["--input", f]
    # Rounds alternate hodu and onnxruntime, so that a busy spell of the
    # machine does not fall on one side only; each side's figure is the
    # median of its rounds' medians.
    hodu_r, ort_r = [], []
    for _ in range(a.rounds):
        rc, out, err, rss, _ = run_measured(hodu_cmd, env=env)
        if rc != 0 and "--threads" in err and ("unknown option" in err or "unexpected" in err):
            raise Stop(f"{a.hodu} rejected --threads: {first_line(err)}")
        m = re.search(r"time: median ([0-9.]+) ms, best ([0-9.]+) ms", out)
        if rc != 0 or not m:
            return dict(res, status="run failed", error=first_line(err) or f"exit status {rc}")
        hodu_r.append((float(m.group(1)), float(m.group(2)), rss))

        rc, out, err, rss, _ = run_measured(ort_cmd, env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
        if rc != 0:
            return dict(res, status="onnxruntime failed",
                        error=first_line(err.splitlines()[-1] if err.strip() else "") or f"exit status {rc}")
        ort_r.append((json.loads(out.strip().splitlines()[-1]), rss))
    rss_h = max((r[2] for r in hodu_r if r[2] is not None), default=None)
    res.update(hodu_ms=statistics.median(r[0] for r in hodu_r), hodu_best_ms=min(r[1] for r in hodu_r),
               hodu_rss_mib=mib(rss_h))
    o = ort_r[-1][0]
    rss_o = max((r[1] for r in ort_r if r[1] is not None), default=None)
    res.update(ort_ms=statistics.median(r[0]["median_ms"] for r in ort_r),
               ort_best_ms=min(r[0]["best_ms"] for r in ort_r), ort_session_s=o["session_s"],
               ort_timing=o.get("timing"), ort_rss_mib=mib(rss_o),
               ort_rss_above_baseline_mib=None if rss_o is None else mib(rss_o - ctx["baseline_kib"]))
    if a.rounds > 1:
        res.update(hodu_ms_rounds=[r[0] for r in hodu_r], ort_ms_rounds=[r[0]["median_ms"] for r in ort_r])
    res["speedup"] = res["ort_ms"] / res["hodu_ms"]

    try:
        res["max_rel_err"], res["rel_err_per_output"] = compare(o["outputs"], os.path.join(mdir, "hodu"),
                                                                 os.path.join(mdir, "ort"))
    except (OSError, ValueError) as exc:
        res["max_rel_err"], res["compare_error"] = math.inf, first_line(str(exc))
    res["agrees"] = res["max_rel_err"] <= a.tol

    peak = ctx["peak"]["fma_gflops_1t"] * 1e9 * a.threads
    if res["flops"] and peak > 0:
        res["hodu_fraction_of_peak"] = res["flops"] / (res["hodu_ms"] * 1e-3) / peak
        res["ort_fraction_of_peak"] = res["flops"] / (res["ort_ms"] * 1e-3) / peak
    return res


# --- report ------------------------------------------------------------------

COLUMNS = [("model", 18), ("hodu ms", 9), ("ort ms", 9), ("speedup", 7), ("hodu MiB", 8), ("ort MiB", 7),
           ("ort-base", 8), ("build s", 7), ("%peak", 6), ("max rel err", 11)]


def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def table_row(r):
    if r["status"] != "ok":
        return f"{r['model']:<18} {r['status']}: {r.get('error', '')}"
    frac = r.get("hodu_fraction_of_peak")
    err = r.get("max_rel_err")
    err_s = "inf" if err is not None and math.isinf(err) else fmt(err, ".1e")
    cells = [
        f"{r['model']:<18}",
        f"{r['hodu_ms']:>9.3f}",
        f"{r['ort_ms']:>9.3f}",
        f"{r['speedup']:>7.2f}",
        f"{fmt(r.get('hodu_rss_mib'), '.1f'):>8}",
        f"{fmt(r.get('ort_rss_mib'), '.1f'):>7}",
        f"{fmt(r.get('ort_rss_above_baseline_mib'), '.1f'):>8}",
        f"{r['build_s']:>7.1f}",
        f"{fmt(None if frac is None else 100 * frac, '.1f'):>6}",
        f"{err_s:>10}" + ("!" if not r["agrees"] else " "),
    ]
    return " ".join(cells)


def json_safe(v):
    """inf and NaN are not JSON: they become null (an error too large to measure)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return v


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run", add_help=False, usage=HELP.splitlines()[0][len("usage: "):])
    ap.add_argument("-h", "--help", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
    ap.add_argument("--work", default=os.path.join(REPO, "build", "bench"))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.help:
        print(HELP.format(models=", ".join(MODELS)), end="")
        sys.exit(0)
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    unknown = [m for m in a.models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; the set is {', '.join(MODELS)}")
    if a.threads < 1 or a.repeat < 1 or a.rounds < 1 or a.warmup < 0:
        ap.error("--threads, --repeat and --rounds must be at least 1, --warmup at least 0")
    a.hodu = os.path.abspath(a.hodu)
    a.work = os.path.abspath(a.work)
    a.json = os.path.abspath(a.json or os.path.join(a.work, f"bench-{a.threads}t.json"))
    return a


def main(argv):
    a = parse_args(argv)
    t_start = time.perf_counter()
    os.makedirs(a.work, exist_ok=True)
    try:
        hodu_version = check_hodu(a.hodu, a.threads)
        machine = machine_info()
        log(f"machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, "
            f"load {machine['loadavg_at_start'][0]:.2f}; {hodu_version}; onnxruntime {package_version('onnxruntime')}")
        if a.repeat < 50:
            log(f"note: --repeat {a.repeat} is below 50: a quick look, not figures to keep")
        helpers, cc_version = compile_helpers(a.work)
        peak = measure_peak(helpers, a.threads)
        for t in sorted({s["threads"] for s in peak["sgemm"]}):
            rows = [s for s in peak["sgemm"] if s["threads"] == t]
            # with B packed beforehand, as a model's weights are, in brackets
            sg = ", ".join(f"{s['m']}x{s['k']}x{s['n']} {s['gflops']:.1f} ({s['fraction_of_peak']:.2f})"
                           + (f" [packed B {s['gflops_packed_b']:.1f} ({s['gflops_packed_b'] / s['peak_gflops']:.2f})]"
                              if s.get("gflops_packed_b") and s.get("peak_gflops") else "")
                           for s in rows)
            if t == 1:
                log(f"FMA peak ({peak['isa']}, 1 thread): {peak['fma_gflops_1t']:.1f} GFLOP/s; "
                    f"{rows[0]['entry']} 1 thread, MxKxN GFLOP/s (of peak): {sg}")
            else:
                each = "/".join(f"{g:.0f}" for g in peak.get("fma_gflops_per_thread", []))
                log(f"FMA peak ({peak['isa']}, {t} threads at once): {peak['fma_gflops_threads']:.1f} GFLOP/s "
                    f"(per thread {each}); {rows[0]['entry']} {t} threads, MxKxN GFLOP/s (of the {t}-thread "
                    f"peak): {sg}")
                scale = peak["fma_gflops_threads"] / peak["fma_gflops_1t"] if peak["fma_gflops_1t"] > 0 else 0
                if scale < 0.8 * t:
                    log(f"  note: {t} threads at once reach only {scale:.2f} times the 1-thread peak (fewer free "
                        f"cores than threads: other work on the machine, or SMT siblings)")

        model_dir = os.path.join(a.work, "models")
        ctx = {"model_dir": model_dir, "peak": peak, "export_errors": export_models(a.models, model_dir)}
        rc, out, err, base_kib, _ = run_measured([sys.executable, os.path.join(BENCH, "ort_worker.py"), "--baseline"])
        if rc != 0:
            raise Stop(f"cannot import onnxruntime: {first_line(err.splitlines()[-1] if err else '')}")
        ctx["baseline_kib"] = base_kib
        log(f"onnxruntime baseline process (python + numpy + onnxruntime, no session): {mib(base_kib):.1f} MiB")
        log("")
        header = " ".join(f"{t:<{w}}" if i == 0 else f"{t:>{w}}" for i, (t, w) in enumerate(COLUMNS))
        log(header)
        log("-" * len(header))
        results = []
        for name in a.models:
            try:
                r = bench_model(name, a, ctx)
            except Stop:
                raise
            except Exception as exc:  # one broken model must not lose the others' figures
                r = {"model": name, "status": "bench error", "error": first_line(f"{type(exc).__name__}: {exc}")}
            results.append(r)
            log(table_row(r))
    except Stop as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2

    ok = [r for r in results if r["status"] == "ok"]
    left_out = [r["model"] for r in results if r["status"] != "ok"]
    mismatched = [r["model"] for r in ok if not r["agrees"]]
    geo = math.exp(sum(math.log(r["speedup"]) for r in ok) / len(ok)) if ok else None
    wall = time.perf_counter() - t_start
    log("")
    log("speedup = onnxruntime ms / hodu ms; MiB = peak RSS; ort-base = onnxruntime's peak above the baseline "
        "process; %peak = model FLOPs / hodu time / FMA peak")
    if left_out:
        log(f"{len(left_out)} of {len(results)} models left out of the geomean (failed): {', '.join(left_out)}")
    else:
        log(f"all {len(results)} models ran")
    if mismatched:
        log(f"outputs disagree with onnxruntime beyond {a.tol:g} (flagged !): {', '.join(mismatched)}")
    shown = os.path.relpath(a.json)
    log(f"wall time {wall:.0f} s; results in {a.json if shown.startswith('..') else shown}")

    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": argv, "threads": a.threads, "repeat": a.repeat, "rounds": a.rounds, "ort_warmup": a.warmup,
        "tol": a.tol, "seed": a.seed, "wall_s": wall,
        "machine": dict(machine, isa_used=peak["isa"]),
        "versions": {"hodu": hodu_version, "hodu_path": a.hodu, "cc": cc_version,
                     "python": platform.python_version(),
                     **{p: package_version(p) for p in ("onnxruntime", "torch", "torchvision", "transformers",
                                                         "onnx", "numpy")}},
        "peak": {k: v for k, v in peak.items() if k != "sgemm"},
        "sgemm": peak["sgemm"],
        "ort_baseline_rss_mib": mib(ctx["baseline_kib"]),
        "models": results,
        "geomean_speedup": geo, "left_out": left_out, "mismatched": mismatched,
    }
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(json_safe(report), f, indent=1, allow_nan=False)
        f.write("\n")
    os.replace(tmp, a.json)

    log(f"geomean speedup vs onnxruntime: {'n/a' if geo is None else f'{geo:.2f}'} ({a.threads} threads)")
    return 1 if left_out or mismatched else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
