"""Writes the seed corpora for the fuzz targets (tests/fuzz/run.sh).

    make_corpus.py OUT_DIR

OUT_DIR/compile/ gets the model.onnx of every ONNX backend node test that
ships in the installed onnx wheel (small, valid models of every op), the
digits example, and a few hand-made hostile models (names that try to leave
a comment or a string literal, hodu's internal domain, huge shapes).
OUT_DIR/npy/ gets .npy files of every dtype hodu reads, in both byte orders
and both memory orders.  OUT_DIR/script/ gets the HoduScript examples, std/
and the error corpus (tests/script/errors); OUT_DIR/safetensors/ a few
weight files, good and bad; OUT_DIR/package/ the packages of
tests/package/hostile.py.  Nothing here is committed: the seeds come from the
pinned packages each time.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
compile_dir = os.path.join(out, "compile")
npy_dir = os.path.join(out, "npy")
os.makedirs(compile_dir, exist_ok=True)
os.makedirs(npy_dir, exist_ok=True)

node_root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
count = 0
for case in sorted(os.listdir(node_root)):
    src = os.path.join(node_root, case, "model.onnx")
    if os.path.isfile(src):
        shutil.copyfile(src, os.path.join(compile_dir, case + ".onnx"))
        count += 1
shutil.copyfile(os.path.join(repo, "examples", "digits", "digits.onnx"), os.path.join(compile_dir, "digits.onnx"))

f32 = TensorProto.FLOAT


def save(nodes, name, inputs=None, outputs=None, inits=(), domains=(("", 17),), graph_name="g"):
    x = helper.make_tensor_value_info("x", f32, [2, 3])
    y = helper.make_tensor_value_info("y", f32, None)
    graph = helper.make_graph(nodes, graph_name, inputs or [x], outputs or [y], list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in domains])
    with open(os.path.join(compile_dir, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


evil = 'e*/ __attribute__((constructor)) static void evil(void) { } /*"\\\n#include "/etc/passwd"'
save([helper.make_node("Relu", ["x"], ["t"], name=evil), helper.make_node("Neg", ["t"], ["y"])], "evil_node")
save([helper.make_node("Relu", ["x"], [evil])], "evil_value",
     outputs=[helper.make_tensor_value_info(evil, f32, None)])
save([helper.make_node("Relu", ["x"], ["y"])], "evil_graph", graph_name=evil)
save([helper.make_node("FusedElementwise", ["x"], ["y"], domain="hodu", nodes=[7, 9])], "internal_domain",
     domains=(("", 17), ("hodu", 1)))
shape = helper.make_tensor("s", TensorProto.INT64, [3], [1 << 20, 1 << 20, 1 << 20])
save([helper.make_node("Expand", ["x", "s"], ["y"])], "huge_expand", inits=[shape])
xs = helper.make_tensor_value_info("x", f32, ["batch", 3])
save([helper.make_node("Softmax", ["x"], ["y"])], "symbolic", inputs=[xs])
# a batch that reaches a Reshape through Shape, Gather and Concat (run-time
# dims when the fuzzer leaves it open)
idx = helper.make_tensor("i", TensorProto.INT64, [], [0])
minus1 = helper.make_tensor("m", TensorProto.INT64, [1], [-1])
ax0 = helper.make_tensor("a", TensorProto.INT64, [1], [0])
save([helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "i"], ["b"]),
      helper.make_node("Unsqueeze", ["b", "a"], ["b1"]), helper.make_node("Concat", ["b1", "m"], ["t"], axis=0),
      helper.make_node("Reshape", ["x", "t"], ["r"]), helper.make_node("Relu", ["r"], ["y"])], "symbolic_reshape",
     inputs=[xs], inits=[idx, minus1, ax0])
# a required input left out (Slice's starts) while the others come at run time
sl_in = [helper.make_tensor_value_info(n, TensorProto.INT64, [1]) for n in ("ends", "axes")]
save([helper.make_node("Slice", ["x", "", "ends", "axes"], ["y"])], "omitted_required",
     inputs=[helper.make_tensor_value_info("x", f32, [2, 3])] + sl_in,
     outputs=[helper.make_tensor_value_info("y", f32, [2, 1])])
# convolutions the layout pass blocks: 24 channels (padded to 32), a
# strided depthwise one, a squeeze-and-excite branch
xc = helper.make_tensor_value_info("x", f32, [1, 24, 6, 5])
cw = [helper.make_tensor(nm, TensorProto.FLOAT, sh, ((np.arange(int(np.prod(sh))) % 7 - 3) / 8).tolist())
      for nm, sh in (("w1", [32, 24, 3, 3]), ("w2", [32, 1, 3, 3]), ("w3", [8, 32, 1, 1]), ("w4", [32, 8, 1, 1]),
                     ("w5", [24, 32, 1, 1]))]
save([helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c1"], ["r1"]),
      helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=32, strides=[2, 1]),
      helper.make_node("GlobalAveragePool", ["c2"], ["g"]), helper.make_node("Conv", ["g", "w3"], ["e1"]),
      helper.make_node("Relu", ["e1"], ["e2"]), helper.make_node("Conv", ["e2", "w4"], ["e3"]),
      helper.make_node("Sigmoid", ["e3"], ["e4"]), helper.make_node("Mul", ["c2", "e4"], ["m"]),
      helper.make_node("Conv", ["m", "w5"], ["y"])],
     "blocked_convs", inputs=[xc], inits=cw)

for dt in (np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64, np.bool_):
    a = (np.arange(24) % 5).astype(dt).reshape(2, 3, 4)
    name = np.dtype(dt).name
    np.save(os.path.join(npy_dir, name + ".npy"), a)
    np.save(os.path.join(npy_dir, name + "_fortran.npy"), np.asfortranarray(a))
    np.save(os.path.join(npy_dir, name + "_swapped.npy"), a.astype(np.dtype(dt).newbyteorder(">")))
# raw-byte files, as numpy writes ml_dtypes' types (bfloat16 '<V2',
# float8 '|V1', float8_e5m2 'f1')
np.save(os.path.join(npy_dir, "raw2.npy"), np.arange(12, dtype=np.uint16).reshape(3, 4).view("V2"))
np.save(os.path.join(npy_dir, "raw1.npy"), np.arange(12, dtype=np.uint8).reshape(3, 4).view("V1"))
np.save(os.path.join(npy_dir, "scalar.npy"), np.float32(3.5))
# strings: numpy unicode ('<U<n>', UTF-32), both byte orders, a scalar, an
# empty one, and text outside the BMP
np.save(os.path.join(npy_dir, "unicode.npy"), np.array([["ab", "\u4e2d\u6587"], ["", "\U0001F600x"]]))
np.save(os.path.join(npy_dir, "unicode_swapped.npy"), np.array(["abc", "d"]).astype(">U3"))
np.save(os.path.join(npy_dir, "unicode_scalar.npy"), np.array("word"))
np.save(os.path.join(npy_dir, "unicode_empty.npy"), np.zeros((0, 2), "<U4"))
np.save(os.path.join(npy_dir, "empty.npy"), np.zeros((0, 4), np.float32))

# fuzz_image: the encoded images of the ImageDecoder node tests (one of
# each format the decoder reads).
image_dir = os.path.join(out, "image")
os.makedirs(image_dir, exist_ok=True)
for case in sorted(os.listdir(node_root)):
    pb = os.path.join(node_root, case, "test_data_set_0", "input_0.pb")
    if case.startswith("test_image_decoder") and os.path.isfile(pb):
        t = onnx.TensorProto()
        with open(pb, "rb") as f:
            t.ParseFromString(f.read())
        with open(os.path.join(image_dir, case), "wb") as f:
            f.write(numpy_helper.to_array(t).tobytes())
print(f"make_corpus: {count + 10} models, {len(os.listdir(npy_dir))} .npy files, "
      f"{len(os.listdir(image_dir))} images in {out}")


# HoduScript: every .hodu in the tree (examples, std, the error corpus).
import glob  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402

script_dir = os.path.join(out, "script")
os.makedirs(script_dir, exist_ok=True)
for i, src in enumerate(sorted(glob.glob(os.path.join(repo, "examples", "*.hodu")) +
                               glob.glob(os.path.join(repo, "std", "*.hodu")) +
                               glob.glob(os.path.join(repo, "tests", "script", "**", "*.hodu"), recursive=True))):
    shutil.copyfile(src, os.path.join(script_dir, "%03d_%s" % (i, os.path.basename(src))))

st_dir = os.path.join(out, "safetensors")
os.makedirs(st_dir, exist_ok=True)


def safetensors(name, tensors, meta=True):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = {"format": "pt"}
    for k, a in tensors.items():
        b = a.tobytes()
        dt = {np.float32: "F32", np.float16: "F16", np.int64: "I64", np.uint8: "U8"}[a.dtype.type]
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(os.path.join(st_dir, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


safetensors("mlp", {"fc1.weight": np.ones((4, 3), np.float32), "fc1.bias": np.zeros(4, np.float32)})
safetensors("types", {"a": np.ones(3, np.float16), "b": np.arange(4, dtype=np.int64), "c": np.ones((2, 2), np.uint8)},
            meta=False)
safetensors("scalar", {"s": np.array(1.5, np.float32)})
safetensors("empty", {})
# A zero-size tensor with a dim past the tensor limits: the file is valid,
# but the compiler must refuse it (a fuzz_safetensors finding).
_h = json.dumps({"z": {"dtype": "F16", "shape": [3148, 111111103148, 0], "data_offsets": [0, 0]}}).encode()
with open(os.path.join(st_dir, "huge_zero.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(_h)) + _h)

# fuzz_package: tests/package/hostile.py's packages, the well-formed one and
# one of each hostile kind (unsigned: the seeds need no key).
sys.path.insert(0, os.path.join(repo, "tests", "package"))
import hostile  # noqa: E402

pkg_dir = os.path.join(out, "package")
os.makedirs(pkg_dir, exist_ok=True)
with open(os.path.join(pkg_dir, "good.hodupkg"), "wb") as f:
    f.write(hostile.package())
for name, data, _, _ in hostile.cases():
    with open(os.path.join(pkg_dir, name + ".hodupkg"), "wb") as f:
        f.write(data)
print(f"{len(os.listdir(pkg_dir))} packages in {pkg_dir}")
