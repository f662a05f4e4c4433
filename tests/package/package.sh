#!/usr/bin/env bash
# .hodupkg packages (ctest package; docs/packages.md).
#
#   tests/package/package.sh HODU PYTHON
#
#   1. hodu --package digits.onnx for x86_64-linux-gnu and aarch64-linux-gnu,
#      signed: unzip lists it, every entry is stored and each library's data
#      starts on a 4096-byte boundary; --inspect shows the manifest and
#      verifies the signature
#   2. --run of the package matches the plain build and onnxruntime; the
#      aarch64 entry, taken out with unzip, runs under qemu-aarch64 (the
#      cross-built runner) and matches too
#   3. a model with a run-time dim: the manifest names it, and runs of two
#      sizes match numpy; built for x86-64-v3 its entry lists the CPU
#      features, and this machine takes it only with all of them
#   4. signatures: a wrong key, a tampered library byte, a tampered manifest
#      byte and an unsigned package where one is required are each refused
#      with their exact message
#   5. hostile packages (tests/package/hostile.py), each with its exact error
#
# A missing tool is a failure naming its Debian package, never a skip.
set -euo pipefail

hodu=${1:?usage: package.sh HODU PYTHON}
python=${2:?usage: package.sh HODU PYTHON}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/tests/package
triple=aarch64-linux-gnu
sysroot=/usr/$triple

# each tool the test runs, and the Debian package that has it
for tool in openssl:openssl unzip:unzip $triple-gcc:gcc-aarch64-linux-gnu qemu-aarch64:qemu-user; do
    command -v "${tool%%:*}" >/dev/null 2>&1 && continue
    echo "package: FAIL: ${tool%%:*} is missing (Debian package ${tool#*:}; tools/setup.sh installs it)"
    exit 1
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# ok / bad: count a case and print its line (tests/lib.sh)
. "$repo/tests/lib.sh"
pass=0 fail=0
# expect_error WHAT MESSAGE COMMAND...: the command fails with exactly MESSAGE on stderr.
expect_error() {
    local what=$1 want=$2
    shift 2
    local got rc=0
    got=$("$@" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" -ne 0 ] && [ "$got" = "$want" ]; then ok "$what: $want"; else bad "$what: rc $rc, got '$got', want '$want'"; fi
}

# the signing key from hodu --keygen (hostile.py signs with it through
# openssl, so the two agree on the format), the other one from openssl
"$hodu" --keygen "$work/key.pem" >/dev/null
mv "$work/key.pub.pem" "$work/pub.pem"
if [ "$(stat -c %a "$work/key.pem")" = 600 ] && grep -q ED25519 <<<"$(openssl pkey -in "$work/key.pem" -noout -text)"; then
    ok "hodu --keygen: an Ed25519 private key only its owner reads"
else
    bad "hodu --keygen: $(stat -c %a "$work/key.pem") $(openssl pkey -in "$work/key.pem" -noout -text 2>&1 | head -n 1)"
fi
expect_error "hodu --keygen over an existing key" \
    "hodu: error: cannot create '$work/key.pem': File exists (a key is never overwritten)" \
    "$hodu" --keygen "$work/key.pem"
openssl genpkey -algorithm ed25519 -out "$work/other.pem" 2>/dev/null
openssl pkey -in "$work/other.pem" -pubout -out "$work/other_pub.pem"

# --- 1. the package -----------------------------------------------------------
digits=$repo/examples/digits/digits.onnx
pkg=$work/digits.hodupkg
if ! "$hodu" --package "$digits" --target x86_64-linux-gnu,$triple -o "$pkg" --sign "$work/key.pem" \
    --pkg-version 1.0 --license MIT 2>"$work/err"; then
    bad "hodu --package"; cat "$work/err"; exit 1
fi
ok "hodu --package digits.onnx --target x86_64-linux-gnu,$triple --sign"
if unzip -l "$pkg" >"$work/list" && grep -q "lib/$triple.so" "$work/list" && grep -q "4 files" "$work/list"; then
    ok "unzip -l lists manifest.json, manifest.sig and the two libraries"
else
    bad "unzip -l"; cat "$work/list"
fi
if "$python" - "$pkg" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None, "a CRC fails"
    for i in z.infolist():
        assert i.compress_type == zipfile.ZIP_STORED, i.filename
        if i.filename.startswith("lib/"):
            with open(sys.argv[1], "rb") as f:
                f.seek(i.header_offset + 26)
                n, e = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
            start = i.header_offset + 30 + n + e
            assert start % 4096 == 0, f"{i.filename} starts at {start}"
            print(f"  {i.filename}: {i.file_size} bytes at {start}")
PY
then ok "entries stored, CRCs right, libraries 4096-aligned"; else bad "layout"; fi
if "$hodu" --inspect "$pkg" --verify-key "$work/pub.pem" >"$work/inspect" &&
    grep -q 'signature: signed, verified with the given key' "$work/inspect" &&
    grep -q 'for this machine: lib/x86_64-linux-gnu.so' "$work/inspect" && grep -q '"license":  "MIT"' "$work/inspect" &&
    grep -q '"features":  \[\]' "$work/inspect"; then
    ok "--inspect --verify-key: verified, the host's entry, the manifest"
else
    bad "--inspect"; cat "$work/inspect"
fi

# --- 2. runs ------------------------------------------------------------------
"$python" -c 'import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1])[:8].astype(np.float32))' \
    "$repo/examples/digits/images.npy" "$work/in.npy"
"$hodu" --build "$digits" -o "$work/plain.so"
"$hodu" --run "$work/plain.so" --input image="$work/in.npy" --output-dir "$work/plain" >/dev/null
"$hodu" --run "$pkg" --verify-key "$work/pub.pem" --input image="$work/in.npy" --output-dir "$work/pkg" >/dev/null
"$repo/tools/cross_runtime.sh" $triple "$work/rt"
unzip -p "$pkg" lib/$triple.so >"$work/a64.so"
if qemu-aarch64 -L $sysroot "$work/rt/run_model" "$work/a64.so" "$work/a64_" "$work/in.npy" >"$work/qemu.out" 2>&1; then
    ok "the package's aarch64 library runs under qemu-aarch64"
else
    bad "aarch64 run under qemu"; cat "$work/qemu.out"
fi
if PYTHONPATH=$repo/tests/pylib "$python" - "$digits" "$work" <<'PY'
import os, sys
import numpy as np
import onnxruntime as ort
from compare import relative_error
onnx_path, d = sys.argv[1:]
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
want = sess.run(None, {sess.get_inputs()[0].name: np.load(os.path.join(d, "in.npy"))})
worst = 0.0
for k, o in enumerate(sess.get_outputs()):
    runs = {"package (x86-64)": os.path.join(d, "pkg", o.name + ".npy"),
            "package (aarch64, qemu)": os.path.join(d, f"a64_{k}.npy")}
    refs = {"plain build": np.load(os.path.join(d, "plain", o.name + ".npy")), "onnxruntime": want[k]}
    for run, path in runs.items():
        for ref_name, ref in refs.items():
            e = relative_error(np.load(path), ref)
            worst = max(worst, e)
            print(f"  {o.name}: {run} vs {ref_name}: error {e:.2e} (relative to the largest magnitude)")
sys.exit(worst > 1e-4)
PY
then ok "package outputs (x86-64 and aarch64) match the plain build and onnxruntime"; else bad "outputs differ"; fi

# --- 3. a run-time dim -----------------------------------------------------------
"$python" - "$work/dyn.onnx" <<'PY'
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 7 - 0.5, "w")
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Relu", ["t"], ["y"])], "dyn",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [w])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
PY
if "$hodu" --package "$work/dyn.onnx" --dim N=1..8 -o "$work/dyn.hodupkg" --name dyn 2>"$work/err" &&
    "$hodu" --inspect "$work/dyn.hodupkg" >"$work/dyn_inspect" &&
    grep -q '"shape":\[{"dim":"N","min":1,"max":8},4\]' <<<"$(tr -d ' \n' <"$work/dyn_inspect")" &&
    grep -q 'signature: unsigned' "$work/dyn_inspect"; then
    ok "a run-time dim: the manifest names N with its range 1..8"
else
    bad "run-time dim manifest"; cat "$work/err" "$work/dyn_inspect" 2>/dev/null || true
fi
for n in 1 5; do
    "$python" -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(int(sys.argv[2])).standard_normal((int(sys.argv[2]), 4)).astype(np.float32))' "$work/x$n.npy" $n
    if "$hodu" --run "$work/dyn.hodupkg" --input x="$work/x$n.npy" --output-dir "$work/dyn$n" >/dev/null &&
        "$python" -c '
import sys, numpy as np
x = np.load(sys.argv[1]); y = np.load(sys.argv[2])
w = np.arange(12, dtype=np.float32).reshape(4, 3) / 7 - 0.5
ref = np.maximum(x @ w, 0)
err = float(np.max(np.abs(y - ref))) if y.shape == ref.shape else 1e9
print(f"  N={x.shape[0]}: max error {err:.2e} vs numpy"); sys.exit(err > 1e-5)' "$work/x$n.npy" "$work/dyn$n/y.npy"; then
        ok "a run-time dim: N=$n matches numpy"
    else
        bad "a run-time dim: N=$n"
    fi
done

# CPU features: built for x86-64-v3 the entry lists avx2 and fma (the
# compiler's macros), and --inspect picks it exactly when /proc/cpuinfo
# has every feature listed
if "$hodu" --package "$work/dyn.onnx" --dim N=1..8 --march x86-64-v3 -o "$work/v3.hodupkg" 2>"$work/err" &&
    "$hodu" --inspect "$work/v3.hodupkg" >"$work/v3_inspect" &&
    "$python" - "$work/v3_inspect" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
manifest = json.loads(text[text.index("manifest.json:\n") + len("manifest.json:\n"):])
features = manifest["entries"][0]["features"]
flags = set()
for line in open("/proc/cpuinfo"):
    if line.startswith("flags"):
        flags = set(line.split(":", 1)[1].split())
        break
have = all({"sse4.2": "sse4_2"}.get(f, f) in flags for f in features)
want = "for this machine: " + ("lib/x86_64-linux-gnu.so" if have else "none")
print(f"  features {features}; this CPU has them all: {have}")
sys.exit(not ({"avx2", "fma"} <= set(features) and want in text))
PY
then
    ok "x86-64-v3: the manifest lists the build's CPU features and the host choice follows /proc/cpuinfo"
else
    bad "x86-64-v3 features"; cat "$work/err" "$work/v3_inspect" 2>/dev/null || true
fi

# --- 4. signatures ------------------------------------------------------------------
expect_error "wrong key" \
    "hodu: error: package '$pkg': the signature of manifest.json does not verify with the given public key" \
    "$hodu" --inspect "$pkg" --verify-key "$work/other_pub.pem"
expect_error "unsigned, signature required" \
    "hodu: error: package '$work/dyn.hodupkg' is unsigned, but a signature is required" \
    "$hodu" --run "$work/dyn.hodupkg" --verify-key "$work/pub.pem" --input x="$work/x1.npy"
# tamper: one byte of an entry changed, its CRC-32 fixed so that only the
# hash (or the signature) can tell
tamper() { # tamper IN OUT ENTRY
    "$python" - "$@" <<'PY'
import struct, sys, zipfile, zlib
src, dst, name = sys.argv[1:]
b = bytearray(open(src, "rb").read())
with zipfile.ZipFile(src) as z:
    info = z.getinfo(name)
n, e = struct.unpack_from("<HH", b, info.header_offset + 26)
start = info.header_offset + 30 + n + e
b[start + info.file_size // 2] ^= 0x01
crc = zlib.crc32(b[start:start + info.file_size])
struct.pack_into("<I", b, info.header_offset + 14, crc)
pos = 0
while True:
    pos = b.index(b"PK\x01\x02", pos)
    ln = struct.unpack_from("<H", b, pos + 28)[0]
    if bytes(b[pos + 46:pos + 46 + ln]) == name.encode():
        struct.pack_into("<I", b, pos + 16, crc)
        break
    pos += 4
open(dst, "wb").write(b)
PY
}
tamper "$pkg" "$work/lib_tampered.hodupkg" lib/x86_64-linux-gnu.so
msg=$("$hodu" --inspect "$work/lib_tampered.hodupkg" 2>&1 >/dev/null || true)
case $msg in
"hodu: error: package '$work/lib_tampered.hodupkg': hash mismatch: 'lib/x86_64-linux-gnu.so' has SHA-256 "*", the manifest says "*)
    ok "a tampered library byte: $msg" ;;
*) bad "a tampered library byte: $msg" ;;
esac
expect_error "a tampered library byte, --run" "$msg" "$hodu" --run "$work/lib_tampered.hodupkg" --input image="$work/in.npy"
tamper "$pkg" "$work/manifest_tampered.hodupkg" manifest.json
expect_error "a tampered manifest byte" \
    "hodu: error: package '$work/manifest_tampered.hodupkg': the signature of manifest.json does not verify with the given public key" \
    "$hodu" --inspect "$work/manifest_tampered.hodupkg" --verify-key "$work/pub.pem"
expect_error "--package --march native" \
    "hodu: error: --march native names this machine's CPU, and a package runs on others: name a CPU or leave it out (each target's baseline)" \
    "$hodu" --package "$digits" --march native -o "$work/x.hodupkg"

# --- 5. hostile packages -------------------------------------------------------------
mkdir -p "$work/hostile"
if "$python" "$here/hostile.py" "$hodu" "$work/hostile" "$work/key.pem" "$work/pub.pem" >"$work/hostile.log" 2>&1; then
    ok "hostile packages: $(tail -n 1 "$work/hostile.log")"
else
    bad "hostile packages:"; cat "$work/hostile.log"
fi

echo "package: $pass passed, $fail failed"
[ $fail -eq 0 ]
