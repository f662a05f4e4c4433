#!/usr/bin/env python3
"""Sequences of tensors against onnxruntime, built and run by the real `hodu`.

    run.py --hodu PATH [--work DIR]

Hodu lowers a sequence whose length and positions are known at build time
to the tensors it holds (passes/seqlower.c).  Models made with onnx.helper
(opset 17), each built once and run on two seeded random inputs given at
run time; every output must agree with onnxruntime's to 1e-5 relative:

  static_ops    SplitToSequence (split sizes, and keepdims=0 without
                split), SequenceInsert at a negative position and at the
                end, SequenceErase, SequenceAt, SequenceLength,
                ConcatFromSequence along an axis and along a new axis
  loop_append2  the torch.jit.script pattern: a Loop whose body appends one
  loop_append5  tensor per iteration to a carried sequence (SequenceEmpty
  loop_append20 before it), then ConcatFromSequence and SequenceAt after
                it; trip counts 2 and 5 (build-time constants: unrolled)
                and 20 (kept a loop, the appended tensors a scan output),
                a second carried tensor beside the sequence
  loop_erase2   a Loop of 2 iterations erasing from a carried sequence
                (unrolled)
  rt_batch      SplitToSequence along a fixed axis of an input whose batch
                is a run-time dim (--dim B=1..4; runs at B=1 and B=3), with
                and without split sizes, SequenceAt, and ConcatFromSequence
                on a new axis
  if_then       an If whose condition folds at build time (x has 6
  if_else       elements or not): the then branch builds a sequence, the
                else branch appends to one made outside it (a capture);
                ConcatFromSequence of the If's result
  torch_append  a torch.jit.script'ed function appending x[i] * 2 + i to a
                list in a for loop, then torch.stack and torch.cat of the
                list, exported by torch.onnx (SequenceEmpty, a Loop with
                SequenceInsert, ConcatFromSequence); left out only when the
                exporter writes no such Loop, a failing export fails

and a model whose inputs and outputs are sequences and optionals
(seq_io): a sequence input of three tensors of different row counts
(--input-shape xs=[2x3,1x3,4x3], passed as three .npy files), an optional
tensor input, present, and then absent (--input-shape o=none); outputs: a
sequence (the input with a tensor inserted), tensors computed from the
sequence and the optional, and OptionalHasElement; built once per case
and run on two seeded random inputs against onnxruntime fed the same
list, array or None.

and what must be refused with a clear error, never a crash:

  SequenceAt past the end (a constant position, and a graph input bound
  with --const-input), a position that is a run-time input (named so the
  caller can bind it), a sequence read by an op that takes tensors, a
  subgraph's sequence result that never reaches the model's graph, a Loop
  of more than 16 iterations whose body does more than append, operands left out where the op needs
  them; a sequence input built without its length, or whose tensors'
  dims disagree with the model's; at run time, a sequence input given
  the wrong number of tensors or a tensor of the wrong shape, and an
  input given for an optional the build made absent; an absent optional's
  element read (OptionalGetElement), also of an empty Optional op (and
  Optional of a tensor as an output, with an empty one reported absent,
  against onnxruntime); a sequence's tensor named like another input or
  output.

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
    from onnx import TensorProto as TP, helper as h
    import onnxruntime as ort
    from onnxcase import vi, const, model, output_file
except ImportError as exc:
    print(f"sequences: cannot start: {exc} (needs numpy, onnx and onnxruntime: .venv/bin/python)")
    sys.exit(1)

F, I64, B = TP.FLOAT, TP.INT64, TP.BOOL


def m_static():
    nodes = [const("sizes", [1, 2, 3], np.int64), const("minus1", -1, np.int64), const("zero", 0, np.int64),
             const("one", 1, np.int32),
             h.make_node("SplitToSequence", ["x", "sizes"], ["parts"], axis=0),
             h.make_node("SequenceInsert", ["parts", "y", "minus1"], ["ins"]),
             h.make_node("SequenceInsert", ["ins", "y"], ["ins2"]),
             h.make_node("SequenceErase", ["ins2", "zero"], ["er"]),
             h.make_node("SequenceAt", ["er", "one"], ["at"]),
             h.make_node("SequenceLength", ["er"], ["len"]),
             h.make_node("ConcatFromSequence", ["er"], ["cat"], axis=0),
             h.make_node("SplitToSequence", ["x"], ["cols"], axis=1, keepdims=0),
             h.make_node("ConcatFromSequence", ["cols"], ["stack"], axis=-1, new_axis=1),
             h.make_node("Relu", ["stack"], ["stack_relu"])]
    return model("static_ops", nodes, [vi("x", F, [6, 4]), vi("y", F, [2, 4])],
                 [vi("at", F, [2, 4]), vi("len", I64, []), vi("cat", F, [9, 4]), vi("stack_relu", F, [6, 4])])


def m_rt_batch():
    nodes = [const("sizes", [2, 4], np.int64), const("one", 1, np.int64), const("two", 2, np.int64),
             h.make_node("SplitToSequence", ["x"], ["cols"], axis=1, keepdims=0),
             h.make_node("SequenceAt", ["cols", "two"], ["col2"]),
             h.make_node("ConcatFromSequence", ["cols"], ["back"], axis=1, new_axis=1),
             h.make_node("SplitToSequence", ["x", "sizes"], ["parts"], axis=1),
             h.make_node("SequenceAt", ["parts", "one"], ["right"])]
    return model("rt_batch", nodes, [vi("x", F, ["B", 6])],
                 [vi("col2", F, ["B"]), vi("back", F, ["B", 6]), vi("right", F, ["B", 4])])


def m_if_known(shape):
    then_g = h.make_graph([h.make_node("SequenceConstruct", ["x", "x"], ["ts"])], "then", [],
                          [h.make_tensor_sequence_value_info("ts", F, None)])
    else_g = h.make_graph([h.make_node("SequenceInsert", ["s0", "x"], ["es"])], "else", [],
                          [h.make_tensor_sequence_value_info("es", F, None)])
    nodes = [h.make_node("Size", ["x"], ["n"]), const("six", 6, np.int64), h.make_node("Equal", ["n", "six"], ["c"]),
             h.make_node("SequenceConstruct", ["x"], ["s0"]),
             h.make_node("If", ["c"], ["s"], then_branch=then_g, else_branch=else_g),
             h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)]
    return model("if_known", nodes, [vi("x", F, shape)], [vi("y", F, [2 * shape[0], shape[1]])])


def m_loop_append(trip):
    body = h.make_graph(
        [const("half", 0.5),
         h.make_node("Cast", ["i"], ["fi"], to=F),
         h.make_node("Mul", ["fi", "half"], ["scale"]),
         h.make_node("Mul", ["acc_in", "scale"], ["row"]),
         h.make_node("Add", ["acc_in", "x"], ["acc_out"]),
         h.make_node("SequenceInsert", ["seq_in", "row"], ["seq_out"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), h.make_tensor_sequence_value_info("seq_in", F, None),
                 vi("acc_in", F, [3])],
        [vi("cond_out", B, []), h.make_tensor_sequence_value_info("seq_out", F, None), vi("acc_out", F, [3])])
    nodes = [const("trip", trip, np.int64), const("t", True, np.bool_), const("last", -1, np.int64),
             h.make_node("SequenceConstruct", ["x"], ["seq0"]),
             h.make_node("Loop", ["trip", "t", "seq0", "x"], ["seq_final", "acc_final"], body=body),
             h.make_node("ConcatFromSequence", ["seq_final"], ["rows"], axis=0, new_axis=1),
             h.make_node("ConcatFromSequence", ["seq_final"], ["flat"], axis=0),
             h.make_node("SequenceAt", ["seq_final", "last"], ["last_row"]),
             h.make_node("SequenceLength", ["seq_final"], ["count"])]
    return model(f"loop_append{trip}", nodes, [vi("x", F, [3])],
                 [vi("rows", F, [trip + 1, 3]), vi("flat", F, [3 * (trip + 1)]), vi("last_row", F, [3]),
                  vi("acc_final", F, [3]), vi("count", I64, [])])


def m_at(pos_node, pos_input=False):
    nodes = [h.make_node("SequenceConstruct", ["x", "x", "x"], ["s"]),
             h.make_node("SequenceAt", ["s", "pos"], ["y"])]
    inputs = [vi("x", F, [2])]
    if pos_input:
        inputs.append(vi("pos", I64, []))
    else:
        nodes.insert(0, pos_node)
    return model("seq_at", nodes, inputs, [vi("y", F, [2])])


def m_seq_to_relu():
    nodes = [h.make_node("SequenceConstruct", ["x"], ["s"]), h.make_node("Relu", ["s"], ["y"])]
    return model("seq_relu", nodes, [vi("x", F, [2])], [vi("y", F, [2])], check=False)


def m_loop_erase(trip):
    body = h.make_graph(
        [const("zero", 0, np.int64), h.make_node("SequenceErase", ["seq_in", "zero"], ["seq_out"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), h.make_tensor_sequence_value_info("seq_in", F, None)],
        [vi("cond_out", B, []), h.make_tensor_sequence_value_info("seq_out", F, None)])
    nodes = [const("trip", trip, np.int64), const("t", True, np.bool_),
             h.make_node("SequenceConstruct", ["x"] * (trip + 1), ["s0"]),
             h.make_node("Loop", ["trip", "t", "s0"], ["s1"], body=body),
             h.make_node("ConcatFromSequence", ["s1"], ["y"], axis=0)]
    return model("loop_erase", nodes, [vi("x", F, [2])], [vi("y", F, [2])])



def m_torch_append(work):
    import torch
    from typing import List

    @torch.jit.script
    def f(x):
        out: List[torch.Tensor] = []
        for i in range(x.size(0)):
            out.append(x[i] * 2.0 + float(i))
        return torch.stack(out, 0), torch.cat(out, 0)

    class M(torch.nn.Module):
        def forward(self, x):
            return f(x)

    path = os.path.join(work, "torch_append.onnx")
    torch.onnx.export(torch.jit.script(M()), (torch.ones(4, 3),), path, input_names=["x"],
                      output_names=["stacked", "joined"], opset_version=17, dynamo=False)
    m = onnx.load(path)
    if not any(n.op_type == "Loop" for n in m.graph.node):
        return None
    # The exporter names the outputs' dims; hodu builds static shapes.
    for o in m.graph.output:
        o.type.tensor_type.ClearField("shape")
    return m


def m_seq_io(read_opt=True):
    """xs: a sequence input, o: an optional tensor input."""
    nodes = [const("zero", 0, np.int64),
             h.make_node("SequenceInsert", ["xs", "y", "zero"], ["ys"]),
             h.make_node("ConcatFromSequence", ["xs"], ["cat"], axis=0),
             h.make_node("SequenceAt", ["xs", "zero"], ["first"]),
             h.make_node("OptionalHasElement", ["o"], ["has"])]
    outputs = [h.make_tensor_sequence_value_info("ys", F, None), vi("cat", F, [7, 3]), vi("has", B, [])]
    if read_opt:
        nodes += [h.make_node("OptionalGetElement", ["o"], ["oe"]), h.make_node("Add", ["first", "oe"], ["z"])]
        outputs.append(vi("z", F, [2, 3]))
    else:
        nodes.append(h.make_node("Relu", ["first"], ["z"]))
        outputs.append(vi("z", F, [2, 3]))
    opt_t = h.make_optional_type_proto(h.make_tensor_type_proto(F, [3]))
    seq_t = h.make_sequence_type_proto(h.make_tensor_type_proto(F, [None, 3]))
    inputs = [h.make_value_info("xs", seq_t), vi("y", F, [5, 3]), h.make_value_info("o", opt_t)]
    return model("seq_io" if read_opt else "seq_io_noread", nodes, inputs, outputs, opset=18)


def seq_io_cases(t, rng, errors):
    """seq_io against onnxruntime, with o present and absent; then the
    refusals that only such a model can meet."""
    rows = [2, 1, 4]
    xs_shape = "xs=[" + ",".join(f"{r}x3" for r in rows) + "]"
    for name, m, absent in [("seq_io", m_seq_io(), False), ("seq_io_absent", m_seq_io(False), True)]:
        path = t.path(f"{name}.onnx")
        onnx.save(m, path)
        so = t.path(f"{name}.so")
        flags = ["--input-shape", xs_shape] + (["--input-shape", "o=none"] if absent else [])
        try:
            t.run([t.hodu, "--build", path, "-o", so] + flags)
        except RuntimeError as exc:
            errors.append(f"{name}: build failed: {exc}")
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in m.graph.output]
        for k in range(2):
            xs = [rng.standard_normal((r, 3)).astype(np.float32) for r in rows]
            y = rng.standard_normal((5, 3)).astype(np.float32)
            o = None if absent else rng.standard_normal(3).astype(np.float32)
            files = []
            for i, x in enumerate(xs):
                files.append(t.path(f"{name}_{k}_xs{i}.npy"))
                np.save(files[-1], x)
            np.save(t.path(f"{name}_{k}_y.npy"), y)
            args = ["--input", "xs=" + ",".join(files), "--input", f"y={t.path(f'{name}_{k}_y.npy')}"]
            if o is not None:
                np.save(t.path(f"{name}_{k}_o.npy"), o)
                args += ["--input", f"o={t.path(f'{name}_{k}_o.npy')}"]
            out_dir = t.path(f"{name}_{k}_out")
            try:
                said = t.run([t.hodu, "--run", so, "--output-dir", out_dir] + args).stdout
            except RuntimeError as exc:
                errors.append(f"{name} run {k}: {exc}")
                continue
            want = dict(zip(names, sess.run(names, {"xs": xs, "y": y, "o": o})))
            if f"ys: sequence of {len(want['ys'])} tensors" not in said:
                errors.append(f"{name} run {k}: --run did not report ys as a sequence of {len(want['ys'])}")
            pairs = [(f"ys[{i}]", w) for i, w in enumerate(want["ys"])] + [(n, want[n]) for n in names[1:]]
            for o_name, ref in pairs:
                got = np.load(os.path.join(out_dir, output_file(o_name)))
                ref = np.asarray(ref)
                if got.shape != ref.shape or got.dtype != ref.dtype or not np.allclose(got, ref, rtol=1e-5, atol=1e-6):
                    errors.append(f"{name} run {k} {o_name}: {got.shape} {got.dtype} differs from onnxruntime's "
                                  f"{ref.shape} {ref.dtype}")
        print(f"sequences: {name}: 2 runs checked")

    def run_fails(what, args, want):
        p = subprocess.run([t.hodu, "--run", t.path("seq_io.so")] + args, capture_output=True, text=True)
        if p.returncode == 0 or want not in p.stderr or p.returncode < 0:
            errors.append(f"{what}: want a refusal saying {want!r}; exit {p.returncode}, stderr {p.stderr.strip()!r}")

    f = [t.path(f"seq_io_0_xs{i}.npy") for i in range(3)]
    rest = ["--input", f"y={t.path('seq_io_0_y.npy')}", "--input", f"o={t.path('seq_io_0_o.npy')}"]
    run_fails("seq_io wrong count", ["--input", f"xs={f[0]},{f[1]}"] + rest,
              "input 'xs' is a sequence of 3 tensors in this library")
    run_fails("seq_io wrong item shape", ["--input", f"xs={f[0]},{f[2]},{f[1]}"] + rest,
              "input 'xs[1]': shape [4,3] but the model expects [1,3]")
    p = subprocess.run([t.hodu, "--run", t.path("seq_io_absent.so"), "--input", f"xs={f[0]},{f[1]},{f[2]}"] + rest,
                       capture_output=True, text=True)
    if p.returncode == 0 or "is an optional this library was built without" not in p.stderr:
        errors.append(f"seq_io_absent given o: want a refusal; exit {p.returncode}, stderr {p.stderr.strip()!r}")
    build_fails(t, m_seq_io(), "seq_io_no_len", "give its length and its tensors' dims with --input-shape xs=[",
                errors=errors)
    build_fails(t, m_seq_io(), "seq_io_bad_dims", "'xs[1]' dim 1 is 4, but the model declares 3",
                extra=["--input-shape", "xs=[2x3,1x4]"], errors=errors)
    build_fails(t, m_seq_io(), "seq_io_read_absent", "reads the element of optional 'o', which this build makes absent",
                extra=["--input-shape", xs_shape, "--input-shape", "o=none"], errors=errors)
    build_fails(t, m_seq_io(), "seq_io_tensor_as_seq", "the model has no sequence or optional input 'y'",
                extra=["--input-shape", xs_shape, "--input-shape", "y=[5x3]"], errors=errors)
    # a sequence's tensor names must not clash with another input's or output's
    seq2 = h.make_sequence_type_proto(h.make_tensor_type_proto(F, [2]))
    clash_in = model("clash_in", [h.make_node("ConcatFromSequence", ["x"], ["y"], axis=0),
                                  h.make_node("Identity", ["x[0]"], ["z"])],
                     [h.make_value_info("x", seq2), vi("x[0]", F, [2])], [vi("y", F, [4]), vi("z", F, [2])])
    build_fails(t, clash_in, "clash_in", "graph input 'x[0]' is listed twice", extra=["--input-shape", "x=[2,2]"],
                errors=errors)
    clash_out = model("clash_out", [h.make_node("SequenceConstruct", ["a", "a"], ["s"]),
                                    h.make_node("Identity", ["a"], ["s[1]"])],
                      [vi("a", F, [2])], [h.make_value_info("s", seq2), vi("s[1]", F, [2])])
    build_fails(t, clash_out, "clash_out", "its tensor 's[1]' has the name of another output", errors=errors)
    # the Optional op: empty (a type, no input) is absent; its element cannot be read
    opt_t = h.make_optional_type_proto(h.make_tensor_type_proto(F, [2]))
    empty = model("optional_empty", [h.make_node("Optional", [], ["e"], type=h.make_tensor_type_proto(F, [2])),
                                      h.make_node("OptionalGetElement", ["e"], ["y"])],
                  [vi("x", F, [2])], [vi("y", F, [2])], opset=18, check=False)
    build_fails(t, empty, "optional_empty_get", "input 'e' is an optional that is empty in this build; there is no "
                "element to get", errors=errors)
    wrapped = model("optional_wrapped", [h.make_node("Optional", ["x"], ["o"]),
                                          h.make_node("Optional", [], ["e"], type=h.make_tensor_type_proto(F, [2]))],
                    [vi("x", F, [2])], [h.make_value_info("o", opt_t), h.make_value_info("e", opt_t)], opset=18)
    path = t.path("optional_wrapped.onnx")
    onnx.save(wrapped, path)
    try:
        t.run([t.hodu, "--build", path, "-o", t.path("optional_wrapped.so")])
        x = rng.standard_normal(2).astype(np.float32)
        np.save(t.path("ow_x.npy"), x)
        said = t.run([t.hodu, "--run", t.path("optional_wrapped.so"), "--input", f"x={t.path('ow_x.npy')}",
                      "--output-dir", t.path("ow_out")]).stdout
        want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})
        got = np.load(os.path.join(t.path("ow_out"), "o.npy"))
        if want[1] is not None or "e: absent (optional tensor)" not in said or not np.array_equal(got, want[0]):
            errors.append(f"optional_wrapped: o {got} (onnxruntime {want[0]}), e reported as {said!r}")
    except RuntimeError as exc:
        errors.append(f"optional_wrapped: {exc}")
    print("sequences: seq_io: 9 refusals checked; Optional: 1 run, 1 refusal checked")


def build_fails(t, m, name, want, extra=(), errors=None):
    path = t.path(f"{name}.onnx")
    onnx.save(m, path)
    p = subprocess.run([t.hodu, "--build", path, "-o", t.path(f"{name}.so")] + list(extra), capture_output=True,
                       text=True)
    if p.returncode == 0 or want not in p.stderr or "Sanitizer" in p.stderr or p.returncode < 0:
        errors.append(f"{name}: want a refusal saying {want!r}; exit {p.returncode}, stderr {p.stderr.strip()!r}")
    elif os.path.exists(t.path(f"{name}.so")):
        errors.append(f"{name}: a refused build left {name}.so behind")


def main():
    t = CliTest("sequences", __doc__)
    rng = np.random.default_rng(5)
    errors = []
    cases = [("static_ops", m_static()), ("loop_append2", m_loop_append(2)), ("loop_append5", m_loop_append(5)),
             ("loop_append20", m_loop_append(20)), ("loop_erase2", m_loop_erase(2)),
             ("rt_batch", m_rt_batch()), ("if_then", m_if_known([2, 3])), ("if_else", m_if_known([2, 2]))]
    flags = {"rt_batch": ["--dim", "B=1..4"]}
    batches = {"rt_batch": [1, 3]}
    try:
        tm = m_torch_append(t.work)
        if tm is None:
            print("sequences: torch.onnx wrote no Loop for the list-appending loop; that case is left out")
        else:
            cases.append(("torch_append", tm))
    except Exception as exc:  # a missing torch or a failing export fails the test
        errors.append(f"torch_append: export failed: {type(exc).__name__}: {str(exc)[:300]}")
    for name, m in cases:
        path = t.path(f"{name}.onnx")
        onnx.save(m, path)
        so = t.path(f"{name}.so")
        try:
            t.run([t.hodu, "--build", path, "-o", so] + flags.get(name, []))
        except RuntimeError as exc:
            errors.append(f"{name}: build failed: {exc}")
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        for k in range(2):
            feeds, args = {}, []
            for inp in m.graph.input:
                shape = [batches[name][k] if d.dim_param else d.dim_value for d in inp.type.tensor_type.shape.dim]
                feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
                f = t.path(f"{name}_{k}_{inp.name}.npy")
                np.save(f, feeds[inp.name])
                args += ["--input", f"{inp.name}={f}"]
            out_dir = t.path(f"{name}_{k}_out")
            try:
                t.run([t.hodu, "--run", so, "--output-dir", out_dir] + args)
            except RuntimeError as exc:
                errors.append(f"{name} run {k}: {exc}")
                continue
            names = [o.name for o in m.graph.output]
            for o, ref in zip(names, sess.run(names, feeds)):
                got = np.load(os.path.join(out_dir, output_file(o)))
                if got.shape != ref.shape or got.dtype != ref.dtype:
                    errors.append(f"{name} run {k} {o}: {got.shape} {got.dtype}, onnxruntime {ref.shape} {ref.dtype}")
                    continue
                err = float(np.max(np.abs(got.astype(np.float64) - ref), initial=0.0))
                if err > 1e-5 * float(np.max(np.abs(ref), initial=0.0)) + 1e-6:
                    errors.append(f"{name} run {k} {o}: max error {err:.3g}")
        print(f"sequences: {name}: 2 runs checked")

    build_fails(t, m_at(const("pos", 3, np.int64)), "at_past_end",
                "position 3 is out of range for a sequence of 3 tensors", errors=errors)
    build_fails(t, m_at(const("pos", -4, np.int64)), "at_before_start", "position -4 is out of range", errors=errors)
    build_fails(t, m_at(None, pos_input=True), "at_runtime_pos", "needs the value of graph input 'pos'",
                errors=errors)
    pos = t.path("pos7.npy")
    np.save(pos, np.array(7, np.int64))
    build_fails(t, m_at(None, pos_input=True), "at_bound_pos", "position 7 is out of range",
                extra=["--const-input", f"pos={pos}"], errors=errors)
    build_fails(t, m_seq_to_relu(), "seq_relu", "input 's' is a sequence; Relu does not take one", errors=errors)
    # a Loop whose body's sequence result is only carried: never lowered
    sub_out = model("seq_sub", [const("trip", 2, np.int64), const("t", True, np.bool_),
                                h.make_node("Loop", ["trip", "t"], ["s"], body=h.make_graph(
                                    [h.make_node("SequenceConstruct", ["x"], ["s_out"]),
                                     h.make_node("Identity", ["cond_in"], ["cond_out"])],
                                    "body", [vi("i", I64, []), vi("cond_in", B, [])],
                                    [vi("cond_out", B, []), h.make_tensor_sequence_value_info("s_out", F, None)])),
                                h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)],
                    [vi("x", F, [2])], [vi("y", F, [4])], check=False)
    build_fails(t, sub_out, "seq_sub", "is a sequence", errors=errors)
    build_fails(t, m_loop_erase(20), "loop_erase", "the body must only append to it", errors=errors)
    # malformed: omitted operands where the op needs them
    no_pos = model("at_no_pos", [h.make_node("SequenceConstruct", ["x"], ["s"]),
                                 h.make_node("SequenceAt", ["s", ""], ["y"])], [vi("x", F, [2])], [vi("y", F, [2])],
                   check=False)
    build_fails(t, no_pos, "at_no_pos", "SequenceAt takes 2", errors=errors)
    no_elem = model("construct_gap", [h.make_node("SequenceConstruct", ["x", ""], ["s"]),
                                      h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)],
                    [vi("x", F, [2])], [vi("y", F, [4])], check=False)
    build_fails(t, no_elem, "construct_gap", "input 1 must be a tensor", errors=errors)
    print("sequences: 9 refusals checked")
    seq_io_cases(t, rng, errors)
    return t.finish(errors)


if __name__ == "__main__":
    sys.exit(main())
