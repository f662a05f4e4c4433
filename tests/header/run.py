"""`hodu --build --emit-header`: C hosts written against the generated
header, compiled and run, agree with onnxruntime; a wrong shape or dtype
does not compile.

Models (onnx.helper, random weights): a static one with a float32 and an
int64 output (also through the named-struct form), one with a run-time
batch (--dim N=1..4, run at a smaller batch), a KV-cache concatenation
(a dim derived from two run-time dims, and an output with a run-time dim
after a 2, which stays a hodu_tensor), a NonZero whose output size
is known after the run only (a hodu_tensor in the header), one with names
no C identifier can be (dots, slashes, a leading digit, `int`, `inst`),
and a HoduScript model compared with `hodu --run` of the same library.
Hosts compile with -std=c11 -Wall -Wextra -Werror -pedantic; the negative
ones (another shape, another element type, a wrong static dim next to a
run-time one) must fail to compile with -Werror=incompatible-pointer-types
and name the argument.  Errors: a header to a path that cannot be written
and an invalid --header-prefix fail cleanly and leave no file behind.

    run.py --hodu build/hodu --rt build/libhodu_rt.so
"""
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from clitest import REPO, CliTest  # noqa: E402

t = CliTest("header", __doc__, options=[("--rt", "libhodu_rt.so of the same build"),
                                        ("--host-cflags", "more flags for compiling and linking the hosts (the "
                                                          "build's sanitizers)", "")])
try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
except ImportError as exc:
    print(f"header: cannot start: {exc}", file=sys.stderr)
    sys.exit(2)

rng = np.random.default_rng(7)
errors = []
RT = os.path.abspath(t.options["rt"])
CC = os.environ.get("CC", "cc")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Werror=incompatible-pointer-types"]
# a sanitizer build's libhodu_rt needs its runtime in the host too
HOST_FLAGS = shlex.split(t.options.get("host_cflags") or "")


def check(cond, what):
    print(f"{'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        errors.append(what)


def save_model(graph, path, opset=17):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def close(got, want, rtol=1e-5):
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= rtol * np.abs(want) + 1e-6))


# The part of every host: files in and out, the model opened.
PROLOGUE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int load(const char *path, void *p, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(p, 1, n, f) : 0;
    if (f)
        fclose(f);
    return got == n ? 0 : -1;
}

static inline int save(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    size_t put = f ? fwrite(p, 1, n, f) : 0;
    if (f)
        fclose(f);
    return put == n ? 0 : -1;
}

static hodu_model *model;
static hodu_instance *inst;
static hodu_error err;

static inline int open_model(const char *lib)
{
    if (hodu_model_open(lib, &model, &err) != HODU_OK || hodu_instance_create(model, &inst, &err) != HODU_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    return 0;
}

static inline int done(hodu_status st)
{
    if (st != HODU_OK)
        fprintf(stderr, "run: %s\n", err.message);
    hodu_instance_destroy(inst);
    hodu_model_close(model);
    return st == HODU_OK ? 0 : 1;
}
"""


def host_source(header, body):
    main = "\nint main(int argc, char **argv)\n{\n    (void)argc;\n"
    return f'#include "{header}"\n' + PROLOGUE + main + body + "}\n"


def compile_host(name, header, body):
    """Compiles a host in the work folder; returns (exit status, stderr)."""
    src = t.path(name + ".c")
    with open(src, "w") as f:
        f.write(host_source(header, body))
    cmd = [CC, *CFLAGS, *HOST_FLAGS, "-I", os.path.join(REPO, "include"), "-I", t.work, src, "-o", t.path(name),
           "-L", os.path.dirname(RT), "-l:" + os.path.basename(RT), "-Wl,-rpath," + os.path.dirname(RT)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr


def build_and_run(name, header, body, args):
    rc, msg = compile_host(name, header, body)
    check(rc == 0, f"{name}: the host compiles against {header} with {' '.join(CFLAGS)}" + (f": {msg}" if rc else ""))
    if rc:
        return False
    p = subprocess.run([t.path(name), *args], capture_output=True, text=True, cwd=t.work, timeout=120)
    check(p.returncode == 0, f"{name}: the host runs" + (f": {p.stderr.strip()}" if p.returncode else ""))
    return p.returncode == 0


def must_not_compile(name, header, body, arg):
    rc, msg = compile_host(name, header, body)
    check(rc != 0 and "incompatible pointer type" in msg and f"argument {arg}" in msg,
          f"{name}: does not compile, naming argument {arg}" + ("" if rc else " (it compiled)"))


def ort_run(path, feeds):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)


def hodu(*args):
    return subprocess.run([t.hodu, *args], capture_output=True, text=True, timeout=300)


try:
    # --- static: x f32[2,8] -> y = relu(x W + b) f32[2,5], am = argmax(y) i64[2]
    w = numpy_helper.from_array(rng.standard_normal((8, 5)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "b")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["a"]),
         helper.make_node("Relu", ["a"], ["y"]), helper.make_node("ArgMax", ["y"], ["am"], axis=1, keepdims=0)],
        "static", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5]),
         helper.make_tensor_value_info("am", TensorProto.INT64, [2])], [w, b])
    static = save_model(g, t.path("plain.onnx"))
    t.run([t.hodu, "--build", static, "-o", t.path("plain.so"), "--emit-header", t.path("plain.h")])
    text = open(t.path("plain.h")).read()
    check("#ifndef PLAIN_H" in text and "float (*x)[2][8]" in text and "int64_t (*am)[2]" in text
          and "plain_inputs" in text, "plain.h declares typed pointers to the whole arrays and the structs")
    x = rng.standard_normal((2, 8)).astype(np.float32)
    x.tofile(t.path("x.bin"))
    ok = build_and_run("plain_host", "plain.h", r"""
    static float x[2][8], y[2][5], y2[2][5];
    static int64_t am[2], am2[2];
    if (load("x.bin", x, sizeof x) || open_model(argv[1]))
        return 1;
    hodu_status st = plain_run(inst, &x, &y, &am, &err);
    plain_inputs in = {.x = &x};
    plain_outputs out = {.y = &y2, .am = &am2};
    if (st == HODU_OK)
        st = plain_run_io(inst, &in, &out, &err);
    if (save("y.bin", y, sizeof y) || save("am.bin", am, sizeof am) || save("y2.bin", y2, sizeof y2) ||
        save("am2.bin", am2, sizeof am2))
        return 1;
    return done(st);
""", [t.path("plain.so")])
    if ok:
        want_y, want_am = ort_run(static, {"x": x})
        for suffix, form in (("", "plain_run"), ("2", "plain_run_io")):
            got_y = np.fromfile(t.path(f"y{suffix}.bin"), np.float32).reshape(2, 5)
            got_am = np.fromfile(t.path(f"am{suffix}.bin"), np.int64)
            check(close(got_y, want_y) and (got_am == want_am).all(), f"{form} agrees with onnxruntime")
    must_not_compile("wrong_shape", "plain.h", r"""
    static float x[2][9], y[2][5];
    static int64_t am[2];
    return plain_run(inst, &x, &y, &am, &err) != HODU_OK || argv[1] == NULL;
""", 2)
    must_not_compile("wrong_dtype", "plain.h", r"""
    static double x[2][8];
    static float y[2][5];
    static int64_t am[2];
    return plain_run(inst, &x, &y, &am, &err) != HODU_OK || argv[1] == NULL;
""", 2)
    must_not_compile("wrong_output", "plain.h", r"""
    static float x[2][8], y[2][5];
    static int32_t am[2];
    return plain_run(inst, &x, &y, &am, &err) != HODU_OK || argv[1] == NULL;
""", 4)

    # --- a run-time batch: x f32[N,6] -> y = tanh(x W) f32[N,3], N in 1..4
    w = numpy_helper.from_array(rng.standard_normal((6, 3)).astype(np.float32), "W")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])], "batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [w])
    batch = save_model(g, t.path("batch.onnx"))
    t.run([t.hodu, "--build", batch, "--dim", "N=1..4", "-o", t.path("batch.so"), "--emit-header",
           t.path("batch.h"), "--header-prefix", "mlp"])
    text = open(t.path("batch.h")).read()
    signature = "    int64_t N,\n    float (*x)[N][6],\n    float (*y)[MLP_N_MAX][3],"
    check(signature in text and "#define MLP_N_MAX 4" in text,
          "batch.h takes the run-time dim, a variably modified input and the largest output")
    x = rng.standard_normal((3, 6)).astype(np.float32)
    x.tofile(t.path("xb.bin"))
    ok = build_and_run("batch_host", "batch.h", r"""
    int64_t n = atoi(argv[2]);
    float (*x)[n][6] = malloc(sizeof *x);
    static float y[MLP_N_MAX][3];
    if (!x || load("xb.bin", x, sizeof *x) || open_model(argv[1]))
        return 1;
    hodu_status st = mlp_run(inst, n, x, &y, &err);
    if (save("yb.bin", y, (size_t)n * sizeof y[0]))
        return 1;
    free(x);
    return done(st);
""", [t.path("batch.so"), "3"])
    if ok:
        want = ort_run(batch, {"x": x})[0]
        got = np.fromfile(t.path("yb.bin"), np.float32).reshape(3, 3)
        check(close(got, want), "mlp_run at batch 3 of 1..4 agrees with onnxruntime")
    must_not_compile("batch_wrong_dim", "batch.h", r"""
    int64_t n = atoi(argv[1]);
    float (*x)[n][7] = malloc(sizeof *x);
    static float y[MLP_N_MAX][3];
    return mlp_run(inst, n, x, &y, &err) != HODU_OK;
""", 3)

    # --- a dim derived from run-time dims (T = P + S, a KV cache's length) and
    # an output whose layout the largest array would index wrongly (a
    # run-time dim after a 2): its expression in the header, a hodu_tensor
    g = helper.make_graph(
        [helper.make_node("Concat", ["past", "cur"], ["cat"], axis=0), helper.make_node("Add", ["cat", "mask"], ["y"]),
         helper.make_node("Unsqueeze", ["cur", "ax"], ["u"]), helper.make_node("Expand", ["u", "shp"], ["e"])], "kv",
        [helper.make_tensor_value_info("past", TensorProto.FLOAT, ["P", 4]),
         helper.make_tensor_value_info("cur", TensorProto.FLOAT, ["S", 4]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["T", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", 4]),
         helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, "S", 4])],
        [numpy_helper.from_array(np.array([0], np.int64), "ax"), numpy_helper.from_array(np.array([2, 1, 1]), "shp")])
    kv = save_model(g, t.path("kv.onnx"))
    t.run([t.hodu, "--build", kv, "--dim", "P=0..4", "--dim", "S=1..3", "--dim", "T=P+S", "-o", t.path("kv.so"),
           "--emit-header", t.path("kv.h")])
    text = open(t.path("kv.h")).read()
    check("float (*mask)[(P + S)][1]" in text and "hodu_tensor *e" in text,
          "kv.h writes the derived dim as P + S and hands [2,S,4] over as a hodu_tensor")
    feeds = {n: rng.standard_normal(shape).astype(np.float32)
             for n, shape in (("past", (2, 4)), ("cur", (1, 4)), ("mask", (3, 1)))}
    for n, v in feeds.items():
        v.tofile(t.path(f"{n}.bin"))
    ok = build_and_run("kv_host", "kv.h", r"""
    int64_t p = 2, s = 1;
    float past[2][4], cur[1][4], mask[3][1], y[7][4];
    hodu_tensor e;
    if (load("past.bin", past, sizeof past) || load("cur.bin", cur, sizeof cur) ||
        load("mask.bin", mask, sizeof mask) || open_model(argv[1]) ||
        hodu_tensor_alloc(&e, HODU_DTYPE_F32, 3, (const int64_t[]){2, 3, 4}, &err) != HODU_OK)
        return 1;
    hodu_status st = kv_run(inst, p, s, &past, &cur, &mask, &y, &e, &err);
    if (st == HODU_OK && (save("y.bin", y, 3 * sizeof y[0]) || save("e.bin", e.data, 2 * 1 * 4 * sizeof(float)) ||
                          e.dims[0] != 2 || e.dims[1] != 1 || e.dims[2] != 4))
        return 1;
    hodu_tensor_free(&e);
    return done(st);
""", [t.path("kv.so")])
    if ok:
        want_y, want_e = ort_run(kv, feeds)
        got_y = np.fromfile(t.path("y.bin"), np.float32).reshape(3, 4)
        got_e = np.fromfile(t.path("e.bin"), np.float32).reshape(2, 1, 4)
        check(close(got_y, want_y) and close(got_e, want_e), "kv_run at P=2, S=1 agrees with onnxruntime")

    # --- data-dependent: NonZero's output is a hodu_tensor the run sizes
    g = helper.make_graph([helper.make_node("NonZero", ["x"], ["nz"])], "nonzero",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [7])],
                          [helper.make_tensor_value_info("nz", TensorProto.INT64, [1, None])])
    nonzero = save_model(g, t.path("nonzero.onnx"))
    t.run([t.hodu, "--build", nonzero, "-o", t.path("nonzero.so"), "--emit-header", t.path("nonzero.h")])
    check("hodu_tensor *nz" in open(t.path("nonzero.h")).read(),
          "nonzero.h hands the data-dependent output over as a hodu_tensor")
    x = np.array([0, 1.5, 0, -2, 3, 0, 0.25], np.float32)
    x.tofile(t.path("xn.bin"))
    ok = build_and_run("nonzero_host", "nonzero.h", r"""
    static float x[7];
    hodu_tensor nz;
    if (load("xn.bin", x, sizeof x) || open_model(argv[1]) ||
        hodu_tensor_alloc(&nz, HODU_DTYPE_I64, 2, (const int64_t[]){1, 7}, &err) != HODU_OK)
        return 1;
    hodu_status st = nonzero_run(inst, &x, &nz, &err);
    if (st == HODU_OK && save("nz.bin", nz.data, (size_t)hodu_shape_numel(nz.rank, nz.dims) * sizeof(int64_t)))
        return 1;
    hodu_tensor_free(&nz);
    return done(st);
""", [t.path("nonzero.so")])
    if ok:
        got = np.fromfile(t.path("nz.bin"), np.int64)
        check(got.tolist() == ort_run(nonzero, {"x": x})[0].reshape(-1).tolist(),
              "nonzero_run sets the output's size and agrees with onnxruntime")

    # --- names no C identifier can be, in a file whose name starts with a digit
    names = ["input.1", "a/b", "9lives", "int"]
    g = helper.make_graph(
        [helper.make_node("Add", ["input.1", "a/b"], ["out:0"]), helper.make_node("Mul", ["9lives", "int"], ["inst"]),
         helper.make_node("Sub", ["out:0", "inst"], ["int_"])], "awkward",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in names],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in ["out:0", "inst", "int_"]])
    awkward = save_model(g, t.path("2awkward.onnx"))
    t.run([t.hodu, "--build", awkward, "-o", t.path("awk.so"), "--emit-header", t.path("2awk-ward.h")])
    text = open(t.path("2awk-ward.h")).read()
    print(text)
    feeds = {n: rng.standard_normal(3).astype(np.float32) for n in names}
    for i, n in enumerate(names):
        feeds[n].tofile(t.path(f"a{i}.bin"))
    ok = build_and_run("awkward_host", "2awk-ward.h", r"""
    static float a[4][3], o[3][3];
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "a%d.bin", i);
        if (load(name, a[i], sizeof a[i]))
            return 1;
    }
    if (open_model(argv[1]))
        return 1;
    t_2awk_ward_inputs in = {.input_1 = &a[0], .a_b = &a[1], .t_9lives = &a[2], .int_ = &a[3]};
    t_2awk_ward_outputs out = {.out_0 = &o[0], .inst_ = &o[1], .int__2 = &o[2]};
    hodu_status st = t_2awk_ward_run_io(inst, &in, &out, &err);
    if (save("o.bin", o, sizeof o))
        return 1;
    return done(st);
""", [t.path("awk.so")])
    if ok:
        got = np.fromfile(t.path("o.bin"), np.float32).reshape(3, 3)
        want = ort_run(awkward, feeds)
        check(all(close(got[i], want[i]) for i in range(3)),
              "awkward names: sanitized, deduplicated, and the run agrees with onnxruntime")
    check('"a/b"' in text and '"input.1"' in text, "awkward names: the model's names stay in comments")

    # --- HoduScript: the same header, compared with `hodu --run`
    shutil.copy(os.path.join(REPO, "examples", "mlp.hodu"), t.path("mlp.hodu"))
    t.run([t.hodu, "--build", t.path("mlp.hodu"), "--dim", "B=2", "--seed", "3", "-o", t.path("mlp.so"),
           "--emit-header", t.path("digits.h")])
    x = rng.standard_normal((2, 784)).astype(np.float32)
    x.tofile(t.path("xs.bin"))
    np.save(t.path("xs.npy"), x)
    ok = build_and_run("script_host", "digits.h", r"""
    static float x[2][784], y[2][10];
    if (load("xs.bin", x, sizeof x) || open_model(argv[1]))
        return 1;
    hodu_status st = digits_run(inst, &x, &y, &err);
    if (save("ys.bin", y, sizeof y))
        return 1;
    return done(st);
""", [t.path("mlp.so")])
    if ok:
        t.run([t.hodu, "--run", t.path("mlp.so"), "--input", "x=" + t.path("xs.npy"), "--output-dir", t.path("out")])
        outs = [f for f in os.listdir(t.path("out")) if f.endswith(".npy")]
        want = np.load(t.path("out", outs[0])) if len(outs) == 1 else None
        got = np.fromfile(t.path("ys.bin"), np.float32).reshape(2, 10)
        check(want is not None and np.array_equal(got, want), "HoduScript: digits_run gives hodu --run's bytes")

    # --- errors: no file left behind
    p = hodu("--build", static, "-o", t.path("err.so"), "--emit-header", t.path("no-such-dir", "e.h"))
    check(p.returncode != 0 and p.stderr.startswith("hodu: error:") and "no-such-dir" in p.stderr
          and not os.path.exists(t.path("err.so")), "a header that cannot be written: an error, and no library")
    with open(t.path("plain"), "w") as f:
        f.write("a file, not a folder\n")
    p = hodu("--build", static, "--emit-header", t.path("plain", "e.h"))
    check(p.returncode != 0 and "hodu: error:" in p.stderr, "a header under a regular file: an error")
    p = hodu("--build", static, "-o", t.path("err2.so"), "--emit-header", t.path("err2.h"), "--header-prefix", "9x")
    check(p.returncode != 0 and "--header-prefix" in p.stderr and not os.path.exists(t.path("err2.so"))
          and not os.path.exists(t.path("err2.h")), "an invalid --header-prefix: an error, and no file")
    p = hodu("--build", static, "-o", t.path("same.so"), "--emit-header", t.path("same.so"))
    check(p.returncode != 0 and not os.path.exists(t.path("same.so")), "a header over the library: refused")
    left = [f for f in os.listdir(t.work) if f.startswith((".", "err", "e.h")) or "tmp" in f]
    check(not left, f"no temporary or partial files left ({left})")
except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
    errors.append(str(exc))

sys.exit(t.finish(errors))
