"""What tests/runtime_conv's scripts share: models over
[batch, C, height, width] built once with --dim and run at several sizes
against onnxruntime, and refusals checked with their messages.  start()
parses the command line (clitest) and returns the test, a seeded random
generator and the list the checks append their failures to."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from clitest import CliTest  # noqa: E402

DIMS = ["--dim", "batch=1..3", "--dim", "height=7..33", "--dim", "width=6..29"]
SIZES = [(1, 7, 6), (2, 8, 9), (3, 33, 29), (1, 20, 15), (2, 11, 28)]
t = rng = np = onnx = ort = TensorProto = helper = None
errors = []


def start(name, doc):
    global t, rng, np, onnx, ort, TensorProto, helper
    t = CliTest(name, doc)
    try:
        import numpy
        import onnx as onnx_
        import onnxruntime
        import torch  # noqa: F401 (the scripts export with it)
        from onnx import TensorProto as tp, helper as hp
    except ImportError as exc:
        print(f"{name}: cannot start: {exc}", file=sys.stderr)
        sys.exit(2)
    np, onnx, ort, TensorProto, helper = numpy, onnx_, onnxruntime, tp, hp
    rng = np.random.default_rng(0)
    return t, rng, errors


def save(name, nodes, C, inits, elem=None, y_elem=None):
    elem = elem or TensorProto.FLOAT
    m = helper.make_model(
        helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", elem, ["batch", C, "height", "width"])],
                          [helper.make_tensor_value_info("y", y_elem or elem, None)], inits),
        opset_imports=[helper.make_opsetid("", 17)])
    path = t.path(f"{name}.onnx")
    onnx.save(m, path)
    return path


def conv(name, C, M, k, s, pads, d=1, g=1, bias=True):
    w = rng.standard_normal((M, C // g, k, k)).astype(np.float32)
    inits = [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten())]
    ins = ["x", "w"]
    if bias:
        inits.append(helper.make_tensor("b", TensorProto.FLOAT, [M], rng.standard_normal(M).astype(np.float32)))
        ins.append("b")
    node = helper.make_node("Conv", ins, ["y"], kernel_shape=[k, k], strides=[s, s], pads=pads, dilations=[d, d],
                            group=g)
    return save(name, [node], C, inits), C


def pool(name, op, C=3, **attrs):
    return save(name, [helper.make_node(op, ["x"], ["y"], **attrs)], C, []), C


def run_hodu(lib, x):
    np.save(t.path("x.npy"), x)
    out = t.path("out")
    os.makedirs(out, exist_ok=True)
    t.run([t.hodu, "--run", lib, "--output-dir", out, "--input", f"x={t.path('x.npy')}"])
    return np.load(os.path.join(out, "y.npy"))


def check(what, path, C, dims=DIMS, sizes=SIZES, tol=1e-4, extra=(), dtype=None, oracle=None):
    """`oracle`: the float32 model onnxruntime runs in place of `path`
    (whose X and Y are `dtype`), on the same inputs cast to float32."""
    lib = t.path(os.path.basename(path).replace(".onnx", ".so"))
    try:
        t.run([t.hodu, "--build", path, "-o", lib] + dims + list(extra))
    except RuntimeError as exc:
        errors.append(f"{what}: build failed: {exc}")
        return None
    sess = ort.InferenceSession(oracle or path, providers=["CPUExecutionProvider"])
    for n, h, w in sizes:
        x = rng.standard_normal((n, C, h, w)).astype(dtype or np.float32)
        want = sess.run(None, {"x": x.astype(np.float32)})[0]
        got = run_hodu(lib, x)
        if got.dtype != want.dtype and got.dtype != x.dtype:
            errors.append(f"{what} at {n}x{C}x{h}x{w}: type {got.dtype}, expected {x.dtype}")
        if np.issubdtype(want.dtype, np.integer):  # indices: exact
            if got.shape != want.shape or not np.array_equal(got, want):
                errors.append(f"{what} at {n}x{C}x{h}x{w}: differs from onnxruntime")
            continue
        got = got.astype(np.float32)
        if got.shape != want.shape:
            errors.append(f"{what} at {n}x{C}x{h}x{w}: shape {got.shape}, onnxruntime {want.shape}")
        elif not np.allclose(got, want, rtol=tol, atol=tol):
            errors.append(f"{what} at {n}x{C}x{h}x{w}: max error {np.abs(got - want).max():.3g}")
    return lib


def expect_fail(what, cmd, needles):
    CliTest.expect_fail(errors, what, cmd, needles)


def weight(name, shape, scale=0.3):
    return helper.make_tensor(name, TensorProto.FLOAT, shape,
                              (rng.standard_normal(shape) * scale).astype(np.float32).flatten())
