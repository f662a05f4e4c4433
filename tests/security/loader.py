"""Writes the hostile models that loader.sh feeds to `hodu`: the compiler's
internal domain, an unknown domain, very long chains, external data that is
huge or not a regular file, loader limits, and names holding terminal escape
sequences.  Usage: loader.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
f32 = TensorProto.FLOAT


def save(model, name, folder=out):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(model.SerializeToString())


def model(nodes, inputs=None, outputs=None, inits=(), extra_opsets=()):
    inputs = inputs or [helper.make_tensor_value_info("x", f32, [4])]
    outputs = outputs or [helper.make_tensor_value_info("y", f32, [4])]
    graph = helper.make_graph(nodes, "t", inputs, outputs, list(inits))
    opsets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in extra_opsets]
    return helper.make_model(graph, opset_imports=opsets)


def chain(n):
    """x -> Relu -> ... -> y, n nodes, built on the message directly (the
    helpers are slow at a million nodes)."""
    m = model([])
    nodes = m.graph.node
    prev = "x"
    for i in range(n):
        nd = nodes.add()
        nd.op_type = "Relu"
        nd.input.append(prev)
        prev = "y" if i == n - 1 else "v%d" % i
        nd.output.append(prev)
    return m


# The fusion pass's internal op, with node indices that point nowhere.
save(model([helper.make_node("FusedElementwise", ["x"], ["y"], name="fused", domain="hodu",
                             nodes=[999999, -5])], extra_opsets=["hodu"]), "hodu_domain.onnx")
save(model([helper.make_node("Relu", ["x"], ["y"], name="sub", domain="hodu.extra")],
           extra_opsets=["hodu.extra"]), "hodu_subdomain.onnx")
# A domain hodu does not compile.
save(model([helper.make_node("Frob", ["x"], ["y"], domain="com.example.evil")],
           extra_opsets=["com.example.evil"]), "custom_domain.onnx")
# Importing an unknown domain that no node uses is harmless.
save(model([helper.make_node("Relu", ["x"], ["y"])], extra_opsets=["com.unused"]),
     "unused_domain.onnx")

save(chain(20000), "chain_20k.onnx")
# The same kind of chain listed consumers first: every pass must still be
# linear (dead-code elimination once walked it once per node).
rev = chain(200000)
rev.graph.node.reverse()
save(rev, "chain_200k_reversed.onnx")
save(chain(1000000), "chain_1m.onnx")
np.save(os.path.join(out, "x.npy"), np.array([-1.5, 0.0, 2.0, -3.0], np.float32))


def external(name, location, dims):
    t = TensorProto(name=name, data_type=f32, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0")):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


# A weight claiming 20 GiB of external data; the file really is that long
# (sparse) where the file system allows it, so only the cap stops the read.
big = os.path.join(out, "ext_big")
os.makedirs(big, exist_ok=True)
w = external("w", "big.bin", [5, 1024, 1024, 1024])
save(model([helper.make_node("Add", ["x", "w"], ["y"])], inits=[w]), "model.onnx", big)
with open(os.path.join(big, "big.bin"), "wb") as f:
    try:
        f.truncate(20 << 30)
    except OSError:
        pass

# External data that is a FIFO (a read would block) and a link to /dev/zero.
for folder, target in (("ext_fifo", None), ("ext_zero", "/dev/zero")):
    d = os.path.join(out, folder)
    os.makedirs(d, exist_ok=True)
    w = external("w", "data.bin", [4])
    save(model([helper.make_node("Add", ["x", "w"], ["y"])], inits=[w]), "model.onnx", d)
    if target:
        os.symlink(target, os.path.join(d, "data.bin"))
    else:
        os.mkfifo(os.path.join(d, "data.bin"))

# Per-node limits.
save(model([helper.make_node("Relu", ["x"], ["y"], **{"a%d" % i: i for i in range(65)})]),
     "many_attrs.onnx")
save(model([helper.make_node("Relu", ["x"], ["y"], mode="s" * 70000)]), "long_string.onnx")
save(model([helper.make_node("Relu", ["x"], ["y"], name="n" * 5000)]), "long_name.onnx")
# A required operand with an empty name (found by fuzz_compile: Range read a
# missing input): refused before any op looks at its operands.
save(model([helper.make_node("Range", ["x", "", "x"], ["y"], name="r")]), "empty_required.onnx")
save(model([helper.make_node("Relu", ["x"], [""], name="e"), helper.make_node("Neg", ["x"], ["y"])]),
     "empty_output.onnx")

# Names that would move the cursor, colour the terminal or start a new line
# (ESC, CSI as a C1 control, newline, bidi override).
evil = "\x1b[31mred\x1b[0m\nhodu: error: forged line \u009b2J \u202e"
save(model([helper.make_node("FusedElementwise", ["x"], ["y"], name=evil, domain="hodu")],
           extra_opsets=["hodu"]), "escape_name.onnx")
save(model([helper.make_node("Relu", [evil], ["y"])],
           inputs=[helper.make_tensor_value_info(evil, f32, [4])]), "escape_input.onnx")


# Control flow: If nested 17 levels deep (the limit is 16), each branch
# passing the outer x through.
def nested_if(depth):
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    inner = None
    for level in range(depth):
        out_name = "y" if level == depth - 1 else "l%d" % level
        if inner is None:
            then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t%d" % level])], "t%d" % level, [],
                                       [helper.make_tensor_value_info("t%d" % level, f32, [4])])
        else:
            then_g = helper.make_graph([inner], "t%d" % level, [],
                                       [helper.make_tensor_value_info(inner.output[0], f32, [4])])
        else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e%d" % level])], "e%d" % level, [],
                                   [helper.make_tensor_value_info("e%d" % level, f32, [4])])
        inner = helper.make_node("If", ["c"], [out_name], then_branch=then_g, else_branch=else_g)
    return model([inner], inputs=[helper.make_tensor_value_info("x", f32, [4]), c])


save(nested_if(17), "nested_if_17.onnx")
save(nested_if(16), "nested_if_16.onnx")


# Nodes in subgraphs count towards the node limit: a main graph of 300,000
# nodes whose If holds 300,000 more.
def big_if():
    m = chain(300000)
    sub = chain(300000).graph
    sub.ClearField("input")
    sub.name = "big"
    last = m.graph.node[-1]
    last.output[0] = "z"
    nd = m.graph.node.add()
    nd.op_type = "If"
    nd.input.append("z_cond")
    nd.output.append("y")
    for name in ("then_branch", "else_branch"):
        a = nd.attribute.add()
        a.name = name
        a.type = onnx.AttributeProto.GRAPH
        a.g.CopyFrom(sub)
    m.graph.input.append(helper.make_tensor_value_info("z_cond", TensorProto.BOOL, []))
    return m


save(big_if(), "subgraph_nodes.onnx")
