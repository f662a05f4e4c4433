#!/usr/bin/env python3
"""The random ops through the real `hodu`: RandomUniform, RandomNormal,
RandomUniformLike, RandomNormalLike, Bernoulli and Multinomial.

    run.py [--hodu PATH] [--work DIR]

No other implementation draws the same values (the streams are Hodu's own
Philox4x32-10, ops/random.h), so the oracle is statistics: with n = 10^5
draws, each sample mean and variance lies within 6 standard errors of the
distribution's, Bernoulli's hit rate of p (p from a run-time input), and
Multinomial's class counts of the softmax of its log-probabilities
(binomial bounds); uniform and normal draws pass a Kolmogorov-Smirnov test
and the uniform ones a chi-square test on 100 bins (both at about 1e-6
false-alarm rates).  Output shapes and dtypes are checked against the
spec, bytes against themselves: two runs, and 1 and 4 threads, give
identical outputs; other seeds, and other nodes without a seed, give other
streams; the same seed the same one.

Exit status: 0 when every check held, 1 when one failed, 2 when the test
cannot start.  Nothing is skipped.
"""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from clitest import CliTest  # noqa: E402

try:
    import numpy as np
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper
except ImportError as exc:
    print(f"random: cannot start: {exc}", file=sys.stderr)
    sys.exit(2)

N = 100_000
SIG = 6.0
t = CliTest("random", __doc__)
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
    return cond


def build_run(name, nodes, inputs, outputs, feeds, threads=None, opset=22):
    """Builds one model and runs it; returns {output name: array}."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info(n, dt, s) for n, dt, s in inputs],
                          [helper.make_tensor_value_info(n, dt, None) for n, dt in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    path, so = t.path(name + ".onnx"), t.path(name + ".so")
    if not os.path.exists(so):
        onnx.save(m, path)
        t.run([t.hodu, "--build", path, "-o", so, "--cflags", "-Wall -Wextra -Werror"])
    cmd = [t.hodu, "--run", so]
    for k, v in feeds.items():
        f = t.path(f"{name}_{k}.npy")
        np.save(f, v)
        cmd += ["--input", f"{k}={f}"]
    out = t.path(f"{name}_out{threads or 0}")
    cmd += ["--output-dir", out]
    if threads:
        cmd += ["--threads", str(threads)]
    t.run(cmd)
    return {n: np.load(os.path.join(out, n + ".npy")) for n, _ in outputs}


def mean_var_ok(what, x, mean, var, mu4):
    """Sample mean and variance within SIG standard errors; mu4 is the
    fourth central moment (the variance of the sample variance is
    (mu4 - var^2) / n)."""
    x = x.astype(np.float64).ravel()
    n = x.size
    m, v = x.mean(), x.var()
    check(abs(m - mean) <= SIG * math.sqrt(var / n) + 1e-12, f"{what}: mean {m:.6g}, expected {mean:.6g}")
    check(abs(v - var) <= SIG * math.sqrt((mu4 - var * var) / n) + 1e-12,
          f"{what}: variance {v:.6g}, expected {var:.6g}")


def ks_ok(what, x, cdf):
    """Kolmogorov-Smirnov: sqrt(n) D below 2.6 (P ~ 1e-6 under the null)."""
    x = np.sort(x.astype(np.float64).ravel())
    n = x.size
    f = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    check(math.sqrt(n) * d < 2.6, f"{what}: Kolmogorov-Smirnov sqrt(n) D = {math.sqrt(n) * d:.3f}")


norm_cdf = np.vectorize(lambda z: 0.5 * math.erfc(-z / math.sqrt(2.0)))

# --- RandomUniform / RandomNormal: shapes, dtypes, moments ----------------
ops = []
for dt, tag in ((TP.FLOAT, "f32"), (TP.DOUBLE, "f64"), (TP.FLOAT16, "f16")):
    ops.append((helper.make_node("RandomUniform", [], [f"u_{tag}"], shape=[N // 100, 100], low=-2.0, high=3.0,
                                 dtype=dt, seed=11.0), f"u_{tag}", dt))
    ops.append((helper.make_node("RandomNormal", [], [f"n_{tag}"], shape=[N // 10, 10], mean=1.5, scale=2.0,
                                 dtype=dt, seed=11.0), f"n_{tag}", dt))
nodes = [o[0] for o in ops]
outs = [(o[1], o[2]) for o in ops]
# default dtype float, default low/high and mean/scale, an unseeded pair
nodes += [helper.make_node("RandomUniform", [], ["u_def"], shape=[N]),
          helper.make_node("RandomNormal", [], ["n_def"], shape=[N]),
          helper.make_node("RandomUniform", [], ["u_def2"], shape=[N]),
          helper.make_node("RandomUniform", [], ["u_s12"], shape=[N], seed=12.0),
          helper.make_node("RandomUniform", [], ["u_s11d"], shape=[N], seed=11.0),
          helper.make_node("RandomUniform", [], ["u_s11"], shape=[N // 100, 100], low=-2.0, high=3.0, seed=11.0),
          helper.make_node("RandomUniform", [], ["u_scalar"]),
          helper.make_node("RandomNormal", [], ["n_empty"], shape=[3, 0], dtype=TP.DOUBLE)]
outs += [("u_def", TP.FLOAT), ("n_def", TP.FLOAT), ("u_def2", TP.FLOAT), ("u_s12", TP.FLOAT), ("u_s11d", TP.FLOAT),
         ("u_s11", TP.FLOAT),
         ("u_scalar", TP.FLOAT), ("n_empty", TP.DOUBLE)]
nodes[-2].attribute.append(helper.make_attribute("shape", [], attr_type=onnx.AttributeProto.INTS))
r1 = build_run("gen", nodes, [], outs, {})
npdt = {TP.FLOAT: np.float32, TP.DOUBLE: np.float64, TP.FLOAT16: np.float16}
for _, name, dt in ops:
    a = r1[name]
    shape = (N // 100, 100) if name.startswith("u_") else (N // 10, 10)
    check(a.dtype == npdt[dt] and a.shape == shape, f"{name}: {a.dtype}{list(a.shape)}, expected {shape}")
    if name.startswith("u_"):
        check(a.min() >= -2.0 and a.max() <= 3.0, f"{name}: values outside [-2, 3]")
        mean_var_ok(name, a, 0.5, 25 / 12, 625 / 80)
        if dt != TP.FLOAT16:
            ks_ok(name, a, lambda x: (x + 2.0) / 5.0)
    else:
        mean_var_ok(name, a, 1.5, 4.0, 3 * 16.0)
        if dt != TP.FLOAT16:
            ks_ok(name, a, lambda x: norm_cdf((x - 1.5) / 2.0))
check(r1["u_def"].dtype == np.float32 and r1["u_def"].shape == (N,), "u_def: dtype or shape")
check(r1["u_def"].min() >= 0.0 and r1["u_def"].max() < 1.0, "u_def: values outside [0, 1)")
mean_var_ok("u_def", r1["u_def"], 0.5, 1 / 12, 1 / 80)
mean_var_ok("n_def", r1["n_def"], 0.0, 1.0, 3.0)
check(r1["u_scalar"].shape == () and 0.0 <= float(r1["u_scalar"]) < 1.0, "u_scalar: a scalar in [0, 1)")
check(r1["n_empty"].shape == (3, 0) and r1["n_empty"].dtype == np.float64, "n_empty: dtype or shape")
# chi-square on 100 equal bins: 99 degrees of freedom, mean 99, sd 14
counts = np.histogram(r1["u_def"].astype(np.float64), bins=100, range=(0.0, 1.0))[0]
chi2 = float(((counts - N / 100) ** 2 / (N / 100)).sum())
check(chi2 < 99 + 6 * 14, f"u_def: chi-square {chi2:.1f} on 99 degrees of freedom")
# the normal's tails: about 2.7e-3 of draws beyond 3 sigma
tail = float(np.mean(np.abs(r1["n_f64"].astype(np.float64) - 1.5) > 6.0))
check(abs(tail - 2.6998e-3) <= SIG * math.sqrt(2.6998e-3 / N), f"n_f64: {tail:.5f} beyond 3 sigma, expected 0.0027")
# streams: other seeds and other unseeded nodes differ; the same seed agrees
check(not np.array_equal(r1["u_def"], r1["u_def2"]), "two unseeded nodes drew the same values")
check(not np.array_equal(r1["u_def"], r1["u_s12"]), "seed 12 drew the unseeded node's values")
check(not np.array_equal(r1["u_s11d"], r1["u_s12"]), "seeds 11 and 12 drew the same values")
check(np.array_equal(r1["u_s11"], r1["u_f32"]), "two nodes with seed 11 drew different values")
check(abs(np.corrcoef(r1["u_def"], r1["u_def2"])[0, 1]) < SIG / math.sqrt(N), "two unseeded streams correlate")
# reproducible: a second run, and 4 threads
r2 = build_run("gen", nodes, [], outs, {})
r4 = build_run("gen", nodes, [], outs, {}, threads=4)
for name, _ in outs:
    check(r1[name].tobytes() == r2[name].tobytes(), f"{name}: two runs differ")
    check(r1[name].tobytes() == r4[name].tobytes(), f"{name}: 1 and 4 threads differ")

# --- the *Like ops: shape from the input, dtype from it or the attribute ---
like = [helper.make_node("RandomUniformLike", ["xh"], ["ul_h"], low=1.0, high=2.0),
        helper.make_node("RandomNormalLike", ["xh"], ["nl_d"], dtype=TP.DOUBLE, mean=-1.0, scale=0.5),
        helper.make_node("RandomUniformLike", ["xi"], ["ul_f"], dtype=TP.FLOAT, seed=5.0),
        helper.make_node("RandomNormalLike", ["xi"], ["nl_b"], dtype=TP.BFLOAT16)]
louts = [("ul_h", TP.FLOAT16), ("nl_d", TP.DOUBLE), ("ul_f", TP.FLOAT), ("nl_b", TP.BFLOAT16)]
feeds = {"xh": np.zeros((N // 50, 50), np.float16), "xi": np.arange(N, dtype=np.int64).reshape(10, -1)}
rl = build_run("like", like, [("xh", TP.FLOAT16, [N // 50, 50]), ("xi", TP.INT64, [10, N // 10])], louts, feeds)
check(rl["ul_h"].dtype == np.float16 and rl["ul_h"].shape == (N // 50, 50), "ul_h: dtype or shape")
check(rl["nl_d"].dtype == np.float64 and rl["nl_d"].shape == (N // 50, 50), "nl_d: dtype or shape")
check(rl["ul_f"].dtype == np.float32 and rl["ul_f"].shape == (10, N // 10), "ul_f: dtype or shape")
check(rl["nl_b"].shape == (10, N // 10) and rl["nl_b"].dtype.itemsize == 2, "nl_b: dtype or shape")
mean_var_ok("ul_h", rl["ul_h"], 1.5, 1 / 12, 1 / 80)
mean_var_ok("nl_d", rl["nl_d"], -1.0, 0.25, 3 * 0.0625)
mean_var_ok("ul_f", rl["ul_f"], 0.5, 1 / 12, 1 / 80)
rl4 = build_run("like", like, [("xh", TP.FLOAT16, [N // 50, 50]), ("xi", TP.INT64, [10, N // 10])], louts, feeds,
                threads=4)
for name, _ in louts:
    check(rl[name].tobytes() == rl4[name].tobytes(), f"{name}: 1 and 4 threads differ")

# --- Bernoulli: p from a run-time input ------------------------------------
probs = np.array([0.0, 0.05, 0.5, 0.9, 1.0])
pf = np.repeat(probs, N // len(probs))
bern = [helper.make_node("Bernoulli", ["p"], ["b_f"], seed=3.0),
        helper.make_node("Bernoulli", ["p"], ["b_i64"], dtype=TP.INT64),
        helper.make_node("Bernoulli", ["p"], ["b_bool"], dtype=TP.BOOL),
        helper.make_node("Bernoulli", ["pd"], ["b_d"]),
        helper.make_node("Bernoulli", ["ph"], ["b_h"], dtype=TP.UINT8)]
bouts = [("b_f", TP.FLOAT), ("b_i64", TP.INT64), ("b_bool", TP.BOOL), ("b_d", TP.DOUBLE), ("b_h", TP.UINT8)]
bfeeds = {"p": pf.astype(np.float32), "pd": pf.astype(np.float64), "ph": pf.astype(np.float16)}
binp = [("p", TP.FLOAT, [N]), ("pd", TP.DOUBLE, [N]), ("ph", TP.FLOAT16, [N])]
rb = build_run("bern", bern, binp, bouts, bfeeds)
expect_dt = {"b_f": np.float32, "b_i64": np.int64, "b_bool": np.bool_, "b_d": np.float64, "b_h": np.uint8}
seg = N // len(probs)
for name, _ in bouts:
    a = rb[name]
    check(a.dtype == expect_dt[name] and a.shape == (N,), f"{name}: {a.dtype}{list(a.shape)}")
    check(set(np.unique(a.astype(np.float64))) <= {0.0, 1.0}, f"{name}: values other than 0 and 1")
    for k, p in enumerate(probs):
        hits = float(a[k * seg:(k + 1) * seg].astype(np.float64).mean())
        check(abs(hits - p) <= SIG * math.sqrt(p * (1 - p) / seg), f"{name}: rate {hits:.5f} for p = {p}")
rb4 = build_run("bern", bern, binp, bouts, bfeeds, threads=4)
for name, _ in bouts:
    check(rb[name].tobytes() == rb4[name].tobytes(), f"{name}: 1 and 4 threads differ")

# --- Multinomial: class counts against the softmax ------------------------
S = 20_000
logits = np.array([[0.0, 1.0, 2.0, -1.0], [5.0, 5.0, -np.inf, 5.0], [-3.0, 0.0, 0.0, 10.0]], np.float32)
mult = [helper.make_node("Multinomial", ["lg"], ["m32"], sample_size=S, seed=2.0),
        helper.make_node("Multinomial", ["lg"], ["m64"], sample_size=S, dtype=TP.INT64),
        helper.make_node("Multinomial", ["lgd"], ["md"], sample_size=S, dtype=TP.INT32)]
mouts = [("m32", TP.INT32), ("m64", TP.INT64), ("md", TP.INT32)]
minp = [("lg", TP.FLOAT, [3, 4]), ("lgd", TP.DOUBLE, [3, 4])]
mfeeds = {"lg": logits, "lgd": logits.astype(np.float64)}
rm = build_run("mult", mult, minp, mouts, mfeeds, opset=7)
soft = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
soft /= soft.sum(axis=1, keepdims=True)
for name, want in (("m32", np.int32), ("m64", np.int64), ("md", np.int32)):
    a = rm[name]
    if not check(a.dtype == want and a.shape == (3, S), f"{name}: {a.dtype}{list(a.shape)}"):
        continue
    check(a.min() >= 0 and a.max() < 4, f"{name}: a class outside [0, 4)")
    for r in range(3):
        cnt = np.bincount(a[r], minlength=4)
        for k in range(4):
            p = soft[r, k]
            check(abs(cnt[k] - S * p) <= SIG * math.sqrt(S * p * (1 - p)) + 1e-9,
                  f"{name}: row {r} class {k} drawn {cnt[k]} times, expected {S * p:.1f}")
check(not np.array_equal(rm["m32"], rm["m64"]), "Multinomial: seeded and unseeded nodes drew the same classes")
rm2 = build_run("mult", mult, minp, mouts, mfeeds, opset=7)
for name, _ in mouts:
    check(rm[name].tobytes() == rm2[name].tobytes(), f"{name}: two runs differ")

sys.exit(t.finish(errors, f" ({N} draws per check)"))
