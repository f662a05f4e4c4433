#!/usr/bin/env python3
"""If, Loop and Scan against onnxruntime, built and run by the real `hodu`.

    run.py --hodu PATH [--work DIR]

Models made with onnx.helper (opset 17), each built once and run on
seeded random inputs given at run time; every output must agree with
onnxruntime's to 1e-5 relative (plus 1e-6):

  if_runtime     an If whose condition is a run-time input (run both ways);
                 the then branch reads an initializer of the main graph,
                 the else branch a graph input (captures)
  if_const       an If whose condition folds at build time: it becomes the
                 taken branch's nodes (the other branch has another shape)
  loop_nested    a Loop (constant trip count) whose body holds an If: the If
                 branches read a main-graph input (captured two levels up)
                 and a value the Loop body computes (one level up); one
                 loop-carried value and one scan output
  loop_while     trip count, start condition and limit all run-time inputs;
                 the body's condition ends the loop early (no scan outputs);
                 run with several trip counts and limits
  loop_scan_rt   a run-time trip count with scan outputs whose length the
                 model declares: the declared count runs, another count
                 makes `hodu --run` fail with an error, never a wrong result
  scan_dirs      Scan (opset 17) with a state and two scan inputs, one along
                 axis 0 forwards and one along axis 1 backwards, and scan
                 outputs along axis 0 backwards and axis 1 forwards
  scan8          Scan at opset 8 (batch axis first)
  loop_rt_batch  a Loop over a run-time batch (--dim batch=1..8): the
                 carried state [batch, 3] keeps its size of the run; the body
                 mixes rows (a mean over the batch, a sum to a scalar carried
                 value) and reads a captured [batch, 3] input; run-time trip
                 count, run at several batches, trip count 0 included
  loop_rt_scan   a constant trip count with a scan output [3, batch, 2] over
                 a run-time batch; loop_rt_scan0 the same with trip count 0
                 ([0, batch, 2]: the declared shape; onnxruntime writes
                 [0, 0, 2], so only emptiness is compared there)
  scan_rt        Scan over a run-time sequence length (--dim seq=0..9), run
                 at several lengths; length 0 (onnxruntime refuses it) is
                 checked against the spec: the state unchanged, no rows
  scan_rt2       Scan over a run-time batch and sequence: one input along
                 axis 1 forwards, one along axis 0 backwards, outputs the
                 same ways; the body mixes the batch's rows
  scan8_rt       Scan of opset 8 over run-time dims: refused with a message
  torch_loop     a torch.jit.script'ed function with a data-dependent while
                 loop, exported by torch.onnx (skipped only when the exporter
                 writes no Loop)

Exit status 0 when all agree, 1 on any disagreement or failure; a missing
numpy, onnx or onnxruntime fails the test.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from clitest import CliTest  # noqa: E402

try:
    import numpy as np
    import onnx
    from onnx import TensorProto as TP, helper as h, numpy_helper
    import onnxruntime as ort
    from onnxcase import vi, const, model, output_file
except ImportError as exc:
    print(f"control_flow: cannot start: {exc} (needs numpy, onnx and onnxruntime: .venv/bin/python)")
    sys.exit(1)

F, I64, B = TP.FLOAT, TP.INT64, TP.BOOL


def m_if_runtime():
    w = numpy_helper.from_array(np.linspace(-1, 1, 4).astype(np.float32), "w")
    then_g = h.make_graph([h.make_node("Mul", ["x", "w"], ["t"])], "then", [], [vi("t", F, [3, 4])])
    else_g = h.make_graph([const("one", 1.0), h.make_node("Sub", ["x", "one"], ["e"]),
                           h.make_node("Add", ["e", "z"], ["e2"])], "else", [], [vi("e2", F, [3, 4])])
    node = h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    return model("if_runtime", [node], [vi("c", B, []), vi("x", F, [3, 4]), vi("z", F, [4])],
                 [vi("y", F, [3, 4])], [w])


def m_if_const():
    # The condition folds at build time (x has 12 elements): the If becomes
    # its then branch, and the else branch, of another shape, is dropped.
    shape = numpy_helper.from_array(np.array([12], np.int64), "flat")
    then_g = h.make_graph([h.make_node("Reshape", ["x", "flat"], ["t"]), h.make_node("Mul", ["t", "w"], ["t2"])],
                          "then", [], [vi("t2", F, [12])])
    else_g = h.make_graph([h.make_node("ReduceSum", ["x"], ["e"], keepdims=0)], "else", [], [vi("e", F, [])])
    nodes = [h.make_node("Size", ["x"], ["n"]), const("twelve", 12, np.int64), h.make_node("Equal", ["n", "twelve"], ["c"]),
             h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)]
    return model("if_const", nodes, [vi("x", F, [3, 4]), vi("w", F, [12])], [vi("y", F, [12])], [shape])


def m_loop_nested():
    # body(i, cond, s): k = s * 0.5; if i % 2 == 0: s + x (x from the main graph) else s * k
    then_g = h.make_graph([h.make_node("Add", ["s_in", "x"], ["ta"])], "then", [], [vi("ta", F, [2, 3])])
    else_g = h.make_graph([h.make_node("Mul", ["s_in", "k"], ["ea"])], "else", [], [vi("ea", F, [2, 3])])
    body = h.make_graph(
        [const("two", 2, np.int64), const("zero", 0, np.int64), const("half", 0.5),
         h.make_node("Mul", ["s_in", "half"], ["k"]),
         h.make_node("Mod", ["i", "two"], ["r"]),
         h.make_node("Equal", ["r", "zero"], ["even"]),
         h.make_node("If", ["even"], ["s_out"], then_branch=then_g, else_branch=else_g),
         h.make_node("Identity", ["cond_in"], ["cond_out"]),
         h.make_node("Tanh", ["s_out"], ["scan_o"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s_in", F, [2, 3])],
        [vi("cond_out", B, []), vi("s_out", F, [2, 3]), vi("scan_o", F, [2, 3])])
    nodes = [const("trip", 6, np.int64), const("t", True, np.bool_),
             h.make_node("Loop", ["trip", "t", "s0"], ["s_final", "scans"], body=body)]
    return model("loop_nested", nodes, [vi("s0", F, [2, 3]), vi("x", F, [2, 3])],
                 [vi("s_final", F, [2, 3]), vi("scans", F, [6, 2, 3])])


def m_loop_while():
    body = h.make_graph(
        [h.make_node("Add", ["s_in", "x"], ["s_out"]),
         h.make_node("ReduceSum", ["s_out"], ["tot"], keepdims=0),
         h.make_node("Less", ["tot", "limit"], ["cond_out"]),
         h.make_node("Cast", ["i"], ["fi"], to=F),
         h.make_node("Add", ["n_in", "fi"], ["n_out"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s_in", F, [4]), vi("n_in", F, [])],
        [vi("cond_out", B, []), vi("s_out", F, [4]), vi("n_out", F, [])])
    node = h.make_node("Loop", ["trip", "c0", "s0", "n0"], ["s_final", "n_final"], body=body)
    return model("loop_while", [node],
                 [vi("trip", I64, []), vi("c0", B, []), vi("s0", F, [4]), vi("n0", F, []), vi("x", F, [4]),
                  vi("limit", F, [])],
                 [vi("s_final", F, [4]), vi("n_final", F, [])])


def m_loop_scan_rt():
    body = h.make_graph(
        [h.make_node("Mul", ["s_in", "x"], ["s_out"]), h.make_node("Identity", ["cond_in"], ["cond_out"]),
         h.make_node("Neg", ["s_out"], ["sc"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s_in", F, [3])],
        [vi("cond_out", B, []), vi("s_out", F, [3]), vi("sc", F, [3])])
    nodes = [const("t", True, np.bool_), h.make_node("Loop", ["trip", "t", "s0"], ["s_final", "scans"], body=body)]
    return model("loop_scan_rt", nodes, [vi("trip", I64, []), vi("s0", F, [3]), vi("x", F, [3])],
                 [vi("s_final", F, [3]), vi("scans", F, [4, 3])])


def m_loop_rt_batch():
    w = numpy_helper.from_array(np.linspace(-0.8, 0.9, 9).reshape(3, 3).astype(np.float32), "w")
    body = h.make_graph(
        [h.make_node("ReduceMean", ["s_in"], ["m"], axes=[0], keepdims=1),  # across the batch
         h.make_node("MatMul", ["s_in", "w"], ["y"]),
         h.make_node("Add", ["y", "m"], ["ym"]),
         h.make_node("Add", ["ym", "z"], ["ymz"]),  # z: captured, [batch, 3]
         h.make_node("Tanh", ["ymz"], ["s_out"]),
         h.make_node("ReduceSum", ["s_out"], ["tot"], keepdims=0),
         h.make_node("Add", ["n_in", "tot"], ["n_out"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s_in", F, ["batch", 3]), vi("n_in", F, [])],
        [vi("cond_out", B, []), vi("s_out", F, ["batch", 3]), vi("n_out", F, [])])
    nodes = [const("t", True, np.bool_),
             h.make_node("Loop", ["trip", "t", "s0", "n0"], ["s_final", "n_final"], body=body)]
    return model("loop_rt_batch", nodes,
                 [vi("trip", I64, []), vi("s0", F, ["batch", 3]), vi("n0", F, []), vi("z", F, ["batch", 3])],
                 [vi("s_final", F, ["batch", 3]), vi("n_final", F, [])], [w])


def m_loop_rt_scan(trip):
    body = h.make_graph(
        [const("two", 2.0),
         h.make_node("Cast", ["i"], ["fi"], to=F),
         h.make_node("ReduceMax", ["s_in"], ["mx"], axes=[0], keepdims=1),
         h.make_node("Sub", ["s_in", "mx"], ["d"]),
         h.make_node("Add", ["d", "fi"], ["s_out"]),
         h.make_node("Mul", ["s_out", "two"], ["sc"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s_in", F, ["batch", 2])],
        [vi("cond_out", B, []), vi("s_out", F, ["batch", 2]), vi("sc", F, ["batch", 2])])
    nodes = [const("trip", trip, np.int64), const("t", True, np.bool_),
             h.make_node("Loop", ["trip", "t", "s0"], ["s_final", "scans"], body=body)]
    return model(f"loop_rt_scan{trip}", nodes, [vi("s0", F, ["batch", 2])],
                 [vi("s_final", F, ["batch", 2]), vi("scans", F, [trip, "batch", 2])])


def m_scan_rt():
    body = h.make_graph([h.make_node("Add", ["s_in", "x_t"], ["s_out"]), h.make_node("Tanh", ["s_out"], ["y_t"])],
                        "body", [vi("s_in", F, [2]), vi("x_t", F, [2])], [vi("s_out", F, [2]), vi("y_t", F, [2])])
    node = h.make_node("Scan", ["s0", "xs"], ["s_final", "ys"], body=body, num_scan_inputs=1)
    return model("scan_rt", [node], [vi("s0", F, [2]), vi("xs", F, ["seq", 2])],
                 [vi("s_final", F, [2]), vi("ys", F, ["seq", 2])])


def m_scan_rt2():
    w = numpy_helper.from_array(np.linspace(-1, 1, 9).reshape(3, 3).astype(np.float32), "w")
    body = h.make_graph(
        [h.make_node("MatMul", ["s_in", "w"], ["sw"]),
         h.make_node("Add", ["sw", "a_t"], ["u"]), h.make_node("Sub", ["u", "b_t"], ["u2"]),
         h.make_node("ReduceMean", ["u2"], ["mu"], axes=[0], keepdims=1),  # across the batch
         h.make_node("Sub", ["u2", "mu"], ["u3"]),
         h.make_node("Tanh", ["u3"], ["s_out"]),
         h.make_node("Mul", ["s_out", "a_t"], ["y1"]), h.make_node("Neg", ["s_out"], ["y2"])],
        "body", [vi("s_in", F, ["batch", 3]), vi("a_t", F, ["batch", 3]), vi("b_t", F, ["batch", 3])],
        [vi("s_out", F, ["batch", 3]), vi("y1", F, ["batch", 3]), vi("y2", F, ["batch", 3])])
    node = h.make_node("Scan", ["s0", "a", "b"], ["s_final", "y1s", "y2s"], body=body, num_scan_inputs=2,
                       scan_input_axes=[1, 0], scan_input_directions=[0, 1], scan_output_axes=[1, 0],
                       scan_output_directions=[0, 1])
    return model("scan_rt2", [node],
                 [vi("s0", F, ["batch", 3]), vi("a", F, ["batch", "seq", 3]), vi("b", F, ["seq", "batch", 3])],
                 [vi("s_final", F, ["batch", 3]), vi("y1s", F, ["batch", "seq", 3]), vi("y2s", F, ["seq", "batch", 3])],
                 [w])


def m_scan8_rt():
    body = h.make_graph([h.make_node("Add", ["st_in", "a_t"], ["st_out"]), h.make_node("Mul", ["st_out", "a_t"], ["o"])],
                        "body", [vi("st_in", F, [2]), vi("a_t", F, [2])], [vi("st_out", F, [2]), vi("o", F, [2])])
    node = h.make_node("Scan", ["", "st0", "a"], ["st", "y"], body=body, num_scan_inputs=1)
    return model("scan8_rt", [node], [vi("st0", F, ["batch", 2]), vi("a", F, ["batch", 4, 2])],
                 [vi("st", F, ["batch", 2]), vi("y", F, ["batch", 4, 2])], opset=8)


def m_scan_dirs():
    body = h.make_graph(
        [h.make_node("Mul", ["a_t", "b_t"], ["ab"]), h.make_node("Add", ["st_in", "ab"], ["st_out"]),
         h.make_node("Identity", ["st_out"], ["o1"]), h.make_node("Sub", ["a_t", "b_t"], ["o2"])],
        "body", [vi("st_in", F, [3]), vi("a_t", F, [3]), vi("b_t", F, [3])],
        [vi("st_out", F, [3]), vi("o1", F, [3]), vi("o2", F, [3])])
    node = h.make_node("Scan", ["st0", "a", "b"], ["st", "y1", "y2"], body=body, num_scan_inputs=2,
                       scan_input_axes=[0, 1], scan_input_directions=[0, 1], scan_output_axes=[0, -1],
                       scan_output_directions=[1, 0])
    return model("scan_dirs", [node], [vi("st0", F, [3]), vi("a", F, [5, 3]), vi("b", F, [3, 5])],
                 [vi("st", F, [3]), vi("y1", F, [5, 3]), vi("y2", F, [3, 5])])


def m_scan8():
    body = h.make_graph(
        [h.make_node("Add", ["st_in", "a_t"], ["st_out"]), h.make_node("Mul", ["st_out", "a_t"], ["o"])],
        "body", [vi("st_in", F, [2]), vi("a_t", F, [2])], [vi("st_out", F, [2]), vi("o", F, [2])])
    node = h.make_node("Scan", ["", "st0", "a"], ["st", "y"], body=body, num_scan_inputs=1, directions=[1])
    m = model("scan8", [node], [vi("st0", F, [3, 2]), vi("a", F, [3, 4, 2])],
              [vi("st", F, [3, 2]), vi("y", F, [3, 4, 2])], opset=8)
    return m


def m_torch_loop(work):
    import torch

    @torch.jit.script
    def f(x, n: int):
        y = x
        i = 0
        while i < n and bool(y.sum() < 100.0):
            y = y * 1.5 + 1.0
            i += 1
        return y

    class M(torch.nn.Module):
        def forward(self, x):
            return f(x, 7)

    path = os.path.join(work, "torch_loop.onnx")
    torch.onnx.export(torch.jit.script(M()), (torch.ones(2, 3),), path, input_names=["x"], output_names=["y"],
                      opset_version=17, dynamo=False)
    m = onnx.load(path)
    if not any(n.op_type == "Loop" for n in m.graph.node):
        return None
    # The exporter leaves the output's shape open; hodu builds static shapes.
    m.graph.output[0].type.tensor_type.ClearField("shape")
    return m



def main():
    t = CliTest("control_flow", __doc__)
    rng = np.random.default_rng(11)
    errors = []
    cases = [("if_runtime", m_if_runtime(), [{"c": np.array(True)}, {"c": np.array(False)}]),
             ("if_const", m_if_const(), [{}]),
             ("loop_nested", m_loop_nested(), [{}]),
             ("loop_while", m_loop_while(),
              [{"trip": np.array(t_, np.int64), "c0": np.array(c_), "limit": np.array(l_, np.float32)}
               for t_, c_, l_ in ((10, True, 6.0), (3, True, 100.0), (10, False, 6.0), (0, True, 6.0),
                                  (-2, True, 6.0), (10, True, -50.0))]),
             ("loop_scan_rt", m_loop_scan_rt(), [{"trip": np.array(4, np.int64)}]),
             ("scan_dirs", m_scan_dirs(), [{}]),
             ("scan8", m_scan8(), [{}])]
    # built once with a run-time batch; "sizes" gives each run's
    cases += [("loop_rt_batch", m_loop_rt_batch(),
               [{"trip": np.array(t_, np.int64), "n0": np.array(0.5, np.float32), "sizes": {"batch": b_}}
                for b_, t_ in ((1, 3), (5, 0), (8, 4), (3, 1))]),
              ("loop_rt_scan", m_loop_rt_scan(3), [{"sizes": {"batch": b_}} for b_ in (1, 4, 8)]),
              ("loop_rt_scan0", m_loop_rt_scan(0), [{"sizes": {"batch": b_}} for b_ in (1, 6)]),
              ("scan_rt", m_scan_rt(), [{"sizes": {"seq": t_}} for t_ in (1, 5, 9, 0)]),
              ("scan_rt2", m_scan_rt2(), [{"sizes": {"batch": b_, "seq": t_}} for b_, t_ in ((1, 3), (5, 7), (3, 1))])]
    rt_flags = {"loop_rt_batch": ["--dim", "batch=1..8"], "loop_rt_scan": ["--dim", "batch=1..8"],
                "loop_rt_scan0": ["--dim", "batch=1..8"], "scan_rt": ["--dim", "seq=0..9"],
                "scan_rt2": ["--dim", "batch=1..5", "--dim", "seq=1..7"]}
    try:
        tm = m_torch_loop(t.work)
        if tm is None:
            print("control_flow: torch.onnx wrote no Loop for the scripted while loop; that case is left out")
        else:
            cases.append(("torch_loop", tm, [{}]))
    except Exception as exc:  # the exporter, not hodu
        print(f"control_flow: torch export failed ({type(exc).__name__}: {str(exc)[:200]}); that case is left out")
    for name, m, runs in cases:
        path = t.path(f"{name}.onnx")
        onnx.save(m, path)
        so = t.path(f"{name}.so")
        try:
            t.run([t.hodu, "--build", path, "-o", so] + rt_flags.get(name, []))
        except RuntimeError as exc:
            errors.append(f"{name}: build failed: {exc}")
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        for k, fixed in enumerate(runs):
            feeds, args = {}, []
            for inp in m.graph.input:
                tt = inp.type.tensor_type
                if inp.name in fixed:
                    v = fixed[inp.name]
                else:
                    shape = [fixed["sizes"][d.dim_param] if d.dim_param else d.dim_value for d in tt.shape.dim]
                    v = rng.standard_normal(shape).astype(np.float32)
                feeds[inp.name] = v
                f = t.path(f"{name}_{k}_{inp.name}.npy")
                np.save(f, v)
                args += ["--input", f"{inp.name}={f}"]
            out_dir = t.path(f"{name}_{k}_out")
            try:
                t.run([t.hodu, "--run", so, "--output-dir", out_dir] + args)
            except RuntimeError as exc:
                errors.append(f"{name} run {k}: {exc}")
                continue
            names = [o.name for o in m.graph.output]
            if name == "scan_rt" and fixed["sizes"]["seq"] == 0:
                # no steps: the state as it came in, no rows (onnxruntime
                # refuses a zero-length scan input)
                refs = [feeds["s0"], np.zeros((0, 2), np.float32)]
            else:
                refs = sess.run(names, feeds)
            for o, ref in zip(names, refs):
                got = np.load(os.path.join(out_dir, output_file(o)))
                if ref.size == 0 and got.size == 0 and name == "loop_rt_scan0":
                    # onnxruntime's zero-iteration scan output is [0, 0, 2]
                    want = (0, fixed["sizes"]["batch"], 2)
                    if got.shape != want:
                        errors.append(f"{name} run {k} {o}: shape {got.shape}, declared {want}")
                    continue
                if got.shape != ref.shape or got.dtype != ref.dtype:
                    errors.append(f"{name} run {k} {o}: {got.shape} {got.dtype}, onnxruntime {ref.shape} {ref.dtype}")
                    continue
                err = float(np.max(np.abs(got.astype(np.float64) - ref), initial=0.0))
                if err > 1e-5 * float(np.max(np.abs(ref), initial=0.0)) + 1e-6:
                    errors.append(f"{name} run {k} {o}: max error {err:.3g}")
        print(f"control_flow: {name}: {len(runs)} run(s) checked")

    # Scan of opset 8 over a run-time batch: refused, saying why.
    path = t.path("scan8_rt.onnx")
    onnx.save(m_scan8_rt(), path)
    p = subprocess.run([t.hodu, "--build", path, "-o", t.path("scan8_rt.so"), "--dim", "batch=1..4"],
                       capture_output=True, text=True)
    if p.returncode == 0 or "Scan of opset 8 does not take them yet" not in p.stderr:
        errors.append(f"scan8_rt with --dim batch=1..4: exit {p.returncode}, stderr {p.stderr!r}")

    # A trip count other than the declared scan length: an error, not a result.
    so = t.path("loop_scan_rt.so")
    args = []
    for nm, v in (("trip", np.array(5, np.int64)), ("s0", np.ones(3, np.float32)), ("x", np.ones(3, np.float32))):
        f = t.path(f"bad_{nm}.npy")
        np.save(f, v)
        args += ["--input", f"{nm}={f}"]
    p = subprocess.run([t.hodu, "--run", so, "--output-dir", t.path("bad_out")] + args, capture_output=True,
                       text=True)
    if p.returncode == 0 or "error" not in p.stderr:
        errors.append(f"loop_scan_rt with trip count 5 (declared 4): exit {p.returncode}, stderr {p.stderr!r}")
    return t.finish(errors)


if __name__ == "__main__":
    sys.exit(main())
