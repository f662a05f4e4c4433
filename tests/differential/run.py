#!/usr/bin/env python3
"""The differential test: graph optimizations must not change what a model computes.

    run.py [--hodu PATH] [--all] [--tol X] [--seed S] [--work DIR] [--model-dir DIR]
           [--timeout SEC] [MODEL ...]

Each model is built twice by the real `hodu`:

  reference  hodu --build M.onnx -o M.O0.so -O0 --cflags -O1
             (graph optimizations off; -O1 only so that the C builds fast)
  optimized  hodu --build M.onnx -o M.opt.so          (the defaults: -O3)

both run on the same seeded random inputs (`hodu --run --input NAME=FILE.npy
--output-dir DIR`), and every output must agree:

  rel = max|opt - ref| / max(max|ref|, tiny)   over each output, <= --tol

(tiny: the smallest normal float32; NaN and infinities must sit in the same
places, shapes and dtypes must be equal, bool outputs must be equal).  Each
build also prints its IR (--dump-ir): the reference must hold none of the
compiler's own nodes (hodu.FusedElementwise, ...: only graph optimizations
make them), which checks that -O0 does turn them off; their count in the
optimized build is reported.

Lanes:
  default  the threads test's models (cnn, transformer, mlp:
           tests/threads/make_models.py), eltwise and gpt_mlp
           (tests/differential/make_models.py: fusion corner cases).
           Needs numpy and onnx only; ctest runs this lane (well under a
           minute on two cores).
  --all    the default lane plus every bench model (bench/export_models.py:
           mlp_b1, mlp_b64, lenet5, resnet18, resnet50, mobilenet_v2,
           mobilenet_v3_large, efficientnet_b0, bert_base, gpt2_prefill),
           exported with torch into --model-dir (default build/bench/models,
           the cache bench/run uses; an up-to-date export is reused).  The
           slow lane (minutes: the export, and the big models at -O3), not
           run by ctest.
  MODEL    names from either lane, or paths to .onnx files with static
           input shapes, run instead of the lane.

Prints one line per model (the figure, the number of hodu.* nodes in the
optimized build, build times) and a summary.  Exit status: 0 when every model built, ran and
agreed; 1 on any disagreement or failure; 2 when the test cannot start
(missing hodu, missing Python package).  Nothing is ever skipped.
"""
import argparse
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LANE = ["cnn", "transformer", "mlp", "eltwise", "gpt_mlp"]
GENERATORS = {  # model -> the script that writes it (into its OUTDIR argument)
    "cnn": os.path.join(REPO, "tests", "threads", "make_models.py"),
    "transformer": os.path.join(REPO, "tests", "threads", "make_models.py"),
    "mlp": os.path.join(REPO, "tests", "threads", "make_models.py"),
    "eltwise": os.path.join(HERE, "make_models.py"),
    "gpt_mlp": os.path.join(HERE, "make_models.py"),
}
REF_FLAGS = ["-O0", "--cflags", "-O1"]
OPT_FLAGS = []


def log(msg=""):
    print(msg, flush=True)


def die(msg):
    log(f"differential: error: {msg}")
    sys.exit(2)


try:
    import numpy as np
    import onnx  # noqa: F401 (checked up front: the generators and the graph reader need it)
except ImportError as exc:
    die(f"{exc}; run tools/setup.sh (the test needs numpy and onnx: .venv/bin/python)")

TINY = float(np.finfo(np.float32).tiny)


@functools.lru_cache(maxsize=None)
def load_bench():
    """bench/bench.py as a module (loaded once): its model list, export cache,
    graph reader, input maker and output file names."""
    path = os.path.join(REPO, "bench", "bench.py")
    spec = importlib.util.spec_from_file_location("hodu_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compare(opt, ref):
    """max|opt - ref| / max(max|ref|, TINY); inf when they cannot be compared. Returns (rel, note)."""
    if opt.shape != ref.shape:
        return float("inf"), f"shape {list(opt.shape)} vs reference {list(ref.shape)}"
    if opt.dtype != ref.dtype:
        return float("inf"), f"dtype {opt.dtype} vs reference {ref.dtype}"
    if ref.size == 0:
        return 0.0, ""
    if ref.dtype == np.bool_:
        bad = int(np.count_nonzero(opt != ref))
        return (float("inf"), f"{bad} values differ") if bad else (0.0, "")
    o = opt.astype(np.float64)
    r = ref.astype(np.float64)
    if not np.array_equal(np.isnan(o), np.isnan(r)):
        return float("inf"), "NaN in different places"
    inf_r, inf_o = np.isinf(r), np.isinf(o)
    if not np.array_equal(inf_r, inf_o) or not np.array_equal(r[inf_r], o[inf_o]):
        return float("inf"), "infinities differ"
    ok = np.isfinite(r)
    if not ok.any():
        return 0.0, ""
    diff = float(np.max(np.abs(o[ok] - r[ok])))
    return diff / max(float(np.max(np.abs(r[ok]))), TINY), ""


def run_cmd(argv, timeout):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0, f"timed out after {timeout} s"
    except OSError as exc:
        return None, time.perf_counter() - t0, f"cannot run {argv[0]}: {exc}"
    if p.returncode != 0:
        lines = [l for l in (p.stderr + p.stdout).splitlines() if l.strip()]
        return p, time.perf_counter() - t0, f"exit {p.returncode}: " + ("; ".join(lines[:3]) or "no output")
    return p, time.perf_counter() - t0, None


def check_model(name, path, a, work):
    """Builds, runs and compares one model; returns (ok, line)."""
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    try:
        inputs, outputs = load_bench().graph_io(path, strict=True)
    except Exception as exc:  # an unreadable model is a failure, not a skip
        return False, f"cannot read {path}: {exc}"
    try:  # the bench's seeded inputs: one stream per model
        in_args = [x for f in load_bench().make_inputs(name, inputs, a.seed, d) for x in ("--input", f)]
    except ValueError as exc:
        return False, str(exc)

    results, times, fused = {}, {}, {}
    for variant, flags in (("ref", REF_FLAGS), ("opt", OPT_FLAGS)):
        so = os.path.join(d, f"{name}.{variant}.so")
        p, secs, err = run_cmd([a.hodu, "--build", path, "-o", so, "--dump-ir"] + flags, a.timeout)
        if err:
            return False, f"{variant} build ({' '.join(flags) or 'defaults'}) failed: {err}"
        times[variant] = secs
        # the compiler's own ops (hodu.FusedElementwise, ...) come only from graph optimizations
        fused[variant] = len(re.findall(r"= hodu\.\w+\(", p.stdout))
        out_dir = os.path.join(d, f"out.{variant}")
        p, _, err = run_cmd([a.hodu, "--run", so, "--output-dir", out_dir] + in_args, a.timeout)
        if err:
            return False, f"{variant} run failed: {err}"
        results[variant] = out_dir
    if fused["ref"]:
        return False, f"the -O0 build still has {fused['ref']} hodu.* nodes: the graph optimizations are not off"

    worst, notes = 0.0, []
    for out, _, _ in outputs:
        files = [os.path.join(results[v], load_bench().output_file(out)) for v in ("opt", "ref")]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            return False, f"output {out!r}: no {missing[0]}"
        rel, note = compare(np.load(files[0]), np.load(files[1]))
        if rel > a.tol:
            notes.append(f"{out}: {rel:.3g}" + (f" ({note})" if note else ""))
        worst = max(worst, rel)
    line = (f"rel {worst:.3g}  hodu.* nodes {fused['opt']}  build -O0 {times['ref']:.1f} s, "
            f"default {times['opt']:.1f} s")
    if notes:
        return False, line + "  DISAGREE: " + "; ".join(notes)
    return True, line


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"), help="the hodu binary (default build/hodu)")
    ap.add_argument("--all", action="store_true", help="the slow lane: also every bench model")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest relative difference allowed (default 1e-4)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    ap.add_argument("--work", help="keep the models, libraries and outputs here (default: a temporary folder)")
    ap.add_argument("--model-dir", default=os.path.join(REPO, "build", "bench", "models"),
                    help="bench model cache for --all and bench model names (default build/bench/models)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds one build or run may take (default 1800)")
    ap.add_argument("models", nargs="*", metavar="MODEL", help="lane or bench model names, or .onnx paths")
    a = ap.parse_args(argv)

    if not (os.path.isfile(a.hodu) and os.access(a.hodu, os.X_OK)):
        die(f"no hodu binary at {a.hodu} (build it, or pass --hodu)")
    a.hodu = os.path.abspath(a.hodu)
    names = a.models or LANE[:]
    bench = None
    if a.all or any(n not in LANE and not n.endswith(".onnx") for n in names):
        bench = load_bench()
        if a.all and not a.models:
            names += bench.MODELS
        unknown = [n for n in names if n not in LANE and n not in bench.MODELS and not n.endswith(".onnx")]
        if unknown:
            die(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(LANE + bench.MODELS)} "
                "or give .onnx paths")

    work = os.path.abspath(a.work) if a.work else tempfile.mkdtemp(prefix="hodu-differential.")
    os.makedirs(work, exist_ok=True)
    t_start = time.perf_counter()
    try:
        paths, failures = {}, {}
        gen_dir = os.path.join(work, "models")
        for gen in sorted({GENERATORS[n] for n in names if n in GENERATORS}):
            r = subprocess.run([sys.executable, gen, gen_dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace")
            if r.returncode != 0:
                tail = " | ".join(r.stdout.strip().splitlines()[-3:])
                for n in names:
                    if GENERATORS.get(n) == gen:
                        failures[n] = f"{os.path.relpath(gen, REPO)} failed: {tail}"
        for n in names:
            if n in GENERATORS:
                paths[n] = os.path.join(gen_dir, n + ".onnx")
            elif n.endswith(".onnx"):
                paths[n] = os.path.abspath(n)
        wanted = [n for n in names if bench and n in bench.MODELS]
        if wanted:
            log(f"bench models from {os.path.abspath(a.model_dir)} (exported when missing or stale)")
            try:
                errors = bench.export_models(wanted, os.path.abspath(a.model_dir))
            except Exception as exc:  # e.g. no torch: every bench model fails
                errors = {n: f"export failed: {type(exc).__name__}: {exc}" for n in wanted}
            for n in wanted:
                if n in errors:
                    failures[n] = errors[n]
                else:
                    paths[n] = os.path.join(os.path.abspath(a.model_dir), n + ".onnx")

        log(f"differential: {len(names)} models, -O0 ({' '.join(REF_FLAGS)}) against the defaults, "
            f"tol {a.tol:g}, hodu {a.hodu}")
        n_bad = 0
        width = max(len(os.path.basename(n)) for n in names)
        for n in names:
            label = os.path.basename(n)
            if n in failures:
                ok, line = False, failures[n]
            else:
                ok, line = check_model(re.sub(r"\.onnx$", "", label), paths[n], a, work)
            n_bad += not ok
            log(f"{'ok  ' if ok else 'FAIL'} {label:<{width}}  {line}")
        log(f"differential: {len(names) - n_bad} agreed, {n_bad} failed "
            f"({time.perf_counter() - t_start:.0f} s)")
        return 1 if n_bad else 0
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
