#!/usr/bin/env bash
# hodu --build --target aarch64-linux-gnu, run under qemu-user (ctest
# target_aarch64; docs/targets.md).
#
#   tests/targets/aarch64.sh HODU PYTHON
#
#   1. cross-builds libhodu_rt and the run_model runner (tools/cross_runtime.sh)
#   2. builds examples/digits/digits.onnx and a MobileNetV2 (random weights,
#      tools/export_models.py, batch 1) for aarch64 and for this machine;
#      both must be AArch64 ELF, and the generated code must use NEON
#      (vector-register fmla/fadd in the disassembly)
#   3. runs the aarch64 libraries under qemu-aarch64 and compares every
#      output with the x86-64 build's and onnxruntime's, within 1e-4
#      relative to the output's largest magnitude
#   4. every 8th ONNX node test (221 of them) on aarch64 through the qemu
#      runner: each one tests/conformance/expected_pass.txt lists (those that
#      pass on x86-64) must pass, ImageDecoder's excepted, and at least 200
#
# A missing tool is a failure naming its Debian package, never a skip.
# About 4-5 minutes on two cores, most of it the node tests under qemu.
set -euo pipefail

hodu=${1:?usage: aarch64.sh HODU PYTHON}
python=${2:?usage: aarch64.sh HODU PYTHON}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
triple=aarch64-linux-gnu
sysroot=/usr/$triple

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "target_aarch64: FAIL: $1 is missing (Debian package $2; tools/setup.sh installs it)"
        exit 1
    fi
}
need $triple-gcc gcc-aarch64-linux-gnu
need $triple-objdump binutils-aarch64-linux-gnu
need qemu-aarch64 qemu-user
need file file
if [ ! -e $sysroot/lib/ld-linux-aarch64.so.1 ]; then
    echo "target_aarch64: FAIL: no aarch64 C library in $sysroot (Debian package libc6-arm64-cross)"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() {
    echo "FAIL $1"
    fails=$((fails + 1))
}

"$repo/tools/cross_runtime.sh" $triple "$work/rt"
runner=(qemu-aarch64 -L $sysroot "$work/rt/run_model")

# is_aarch64 NAME LIB: the ELF machine is AArch64 and the code uses NEON vectors.
is_aarch64() {
    if file -b "$2" | grep -q 'ARM aarch64'; then ok "$1: the library is AArch64"; else bad "$1: $(file -b "$2")"; fi
    local n
    n=$($triple-objdump -d "$2" | grep -cE '\s(fmla|fadd|fmul|fmax)\s+v[0-9]+\.4s' || true)
    if [ "$n" -gt 0 ]; then ok "$1: $n NEON float vector instructions"; else bad "$1: no NEON float vector instruction"; fi
}

# model NAME MODEL.onnx INPUT.npy: builds for both, runs both and onnxruntime, compares.
model() {
    local name=$1 onnx=$2 input=$3
    local d=$work/$name
    mkdir -p "$d"
    if ! "$hodu" --build "$onnx" --target $triple -o "$d/a64.so" 2>"$d/err"; then
        bad "$name: build for $triple"; cat "$d/err"; return
    fi
    "$hodu" --build "$onnx" -o "$d/x86.so"
    is_aarch64 "$name" "$d/a64.so"
    local in_name
    in_name=$("$python" -c 'import onnx,sys; m=onnx.load(sys.argv[1]); init={i.name for i in m.graph.initializer}; print([i.name for i in m.graph.input if i.name not in init][0])' "$onnx")
    if ! "${runner[@]}" "$d/a64.so" "$d/a64_" "$input" >"$d/run.out" 2>&1; then
        bad "$name: run under qemu"; cat "$d/run.out"; return
    fi
    "$hodu" --run "$d/x86.so" --input "$in_name=$input" --output-dir "$d/x86" >/dev/null
    if "$python" - "$onnx" "$input" "$d" <<'PY'
import os, sys
import numpy as np
import onnx
import onnxruntime as ort
onnx_path, inp, d = sys.argv[1:]
m = onnx.load(onnx_path)
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
feed = {sess.get_inputs()[0].name: np.load(inp)}
want = sess.run(None, feed)
bad = 0
for k, out in enumerate(m.graph.output):
    a64 = np.load(os.path.join(d, f"a64_{k}.npy"))
    x86 = np.load(os.path.join(d, "x86", out.name + ".npy"))
    for what, ref in (("x86-64", x86), ("onnxruntime", want[k])):
        ref = np.asarray(ref)
        if a64.shape != ref.shape:
            print(f"  {out.name}: shape {a64.shape} vs {what}'s {ref.shape}"); bad += 1; continue
        if ref.dtype.kind in "iub":
            err = 0.0 if np.array_equal(a64, ref) else 1.0
        else:
            err = float(np.max(np.abs(a64.astype(np.float64) - ref))) / max(float(np.max(np.abs(ref))), 1e-30)
        print(f"  {out.name} vs {what}: max error {err:.2e} relative to the largest magnitude")
        bad += err > 1e-4
sys.exit(1 if bad else 0)
PY
    then ok "$name: aarch64 outputs match x86-64 and onnxruntime"; else bad "$name: outputs differ"; fi
}

# digits: the example's first eight images, as the example feeds them.
"$python" -c 'import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1])[:8].astype(np.float32))' \
    "$repo/examples/digits/images.npy" "$work/digits_in.npy"
model digits "$repo/examples/digits/digits.onnx" "$work/digits_in.npy"

# MobileNetV2, one 224x224 image (about 20 s under qemu).
if "$python" "$repo/tools/export_models.py" --out "$work/models" mobilenet_v2 >"$work/export.log" 2>&1; then
    "$python" -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))' "$work/mnv2_in.npy"
    model mobilenet_v2 "$(ls "$work"/models/*mobilenet_v2*.onnx | head -n 1)" "$work/mnv2_in.npy"
else
    bad "mobilenet_v2: tools/export_models.py failed (needs torch and torchvision: tools/setup.sh --models)"
    tail -n 5 "$work/export.log"
fi

# The node-test sample: every test expected to pass on x86-64 must pass
# here, but ImageDecoder's: the cross-built runtime has no image decoding.
grep -v '^test_image_decoder' "$repo/tests/conformance/expected_pass.txt" >"$work/expected_pass.txt"
if "$python" "$repo/tests/conformance/run_node_tests.py" --hodu "$hodu" --sample 8 -j 2 --no-ort \
    --target $triple --runner "${runner[*]}" --expect-pass "$work/expected_pass.txt" \
    --min-pass 200 >"$work/node.log" 2>&1; then
    ok "node tests on aarch64: $(tail -n 1 "$work/node.log")"
else
    bad "node tests on aarch64: $(tail -n 1 "$work/node.log")"
    grep -E '^(FAIL|REGRESS|  )' "$work/node.log" | head -n 30 || true
    tail -n 15 "$work/node.log"
fi

if [ $fails -gt 0 ]; then
    echo "target_aarch64: $fails failed"
    exit 1
fi
echo "target_aarch64: all passed"
