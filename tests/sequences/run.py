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
                before it), then ConcatFromSequence and SequenceAt after
                it; trip counts 2 and 5 (build-time constants), a second
                carried tensor beside the sequence
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

and what must be refused with a clear error, never a crash:

  SequenceAt past the end (a constant position, and a graph input bound
  with --const-input), a position that is a run-time input (named so the
  caller can bind it), a sequence read by an op that takes tensors, a
  sequence as the model's output, a Loop whose body does more than append,
  operands left out where the op needs them.

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


def m_loop_not_append():
    body = h.make_graph(
        [const("zero", 0, np.int64), h.make_node("SequenceErase", ["seq_in", "zero"], ["seq_out"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond_in", B, []), h.make_tensor_sequence_value_info("seq_in", F, None)],
        [vi("cond_out", B, []), h.make_tensor_sequence_value_info("seq_out", F, None)])
    nodes = [const("trip", 2, np.int64), const("t", True, np.bool_),
             h.make_node("SequenceConstruct", ["x", "x", "x"], ["s0"]),
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
    out_seq = model("seq_out", [h.make_node("SequenceConstruct", ["x"], ["s"])], [vi("x", F, [2])],
                    [h.make_tensor_sequence_value_info("s", F, None)])
    build_fails(t, out_seq, "seq_out", "is a sequence", errors=errors)
    build_fails(t, m_loop_not_append(), "loop_erase", "the body must only append to it", errors=errors)
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
    return t.finish(errors)


if __name__ == "__main__":
    sys.exit(main())
