#!/usr/bin/env bash
# hodu --build --target TRIPLE, run under emulation (ctests target_aarch64,
# target_riscv64 and target_windows; docs/targets.md).
#
#   tests/targets/cross.sh TRIPLE HODU PYTHON
#
#   aarch64-linux-gnu, riscv64-linux-gnu: run under qemu-user
#   x86_64-w64-mingw32: a Windows DLL, run under wine64
#
#   1. checks that `hodu --target unknown` lists TRIPLE, then cross-builds
#      libhodu_rt and the run_model runner (tools/cross_runtime.sh); for
#      Windows, libhodu_rt.dll, whose exports must be libhodu_rt.so's and
#      which the runner uses
#   2. builds examples/digits/digits.onnx and a MobileNetV2 (random weights,
#      tools/export_models.py, batch 1) for TRIPLE and for this machine;
#      the TRIPLE ones must be that machine's binaries (is_target below:
#      NEON code on aarch64, F-extension float code on riscv64, a PE32+ DLL
#      exporting only hodu_model_get_desc, with SSE code, on Windows)
#   3. runs them under the emulator and compares every output with the
#      x86-64 build's and onnxruntime's, within 1e-4 relative to the
#      output's largest magnitude
#   4. one signed package (hodu --package --sign) of digits.onnx for
#      x86_64-linux-gnu, aarch64-linux-gnu, riscv64-linux-gnu and
#      x86_64-w64-mingw32 runs through hodu --run here and through the
#      cross-built runner under the emulator, which must pick its own
#      entry; the outputs match each other and onnxruntime.  The package
#      with a byte of that entry's library changed (zip CRC redone,
#      tests/package/hostile.py) is refused under the emulator with its
#      hash mismatch, and the same package rebuilt unchanged opens.
#      Signatures (tests/targets/package_key.c, requiring one under a
#      given key): the package verifies with its key and loads its entry,
#      and is refused with another key, and unsigned.  Every hostile
#      package of hostile.py is refused with the host's message (the
#      runner for the keyless ones, package_key for those given a key)
#   5. every 8th ONNX node test (221 of them) on TRIPLE through the same
#      runner: each one tests/conformance/expected_pass.txt lists (those that
#      pass on x86-64) must pass, ImageDecoder's excepted, and at least 200
#
# A missing tool is a failure naming its Debian package, never a skip.
# About 2-3 minutes on two cores each, most of it the node tests.
set -euo pipefail

triple=${1:?usage: cross.sh TRIPLE HODU PYTHON}
hodu=${2:?usage: cross.sh TRIPLE HODU PYTHON}
python=${3:?usage: cross.sh TRIPLE HODU PYTHON}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=target_${triple%%-*}
[ "$triple" = x86_64-w64-mingw32 ] && name=target_windows

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "$name: FAIL: $1 is missing (Debian package $2; tools/setup.sh installs it)"
        exit 1
    fi
}
need_file() {
    if [ ! -e "$1" ]; then
        echo "$name: FAIL: $1 is missing (Debian package $2; tools/setup.sh installs it)"
        exit 1
    fi
}
need file file
case $triple in
aarch64-linux-gnu)
    need $triple-gcc gcc-aarch64-linux-gnu
    need $triple-objdump binutils-aarch64-linux-gnu
    need qemu-aarch64 qemu-user
    need_file /usr/$triple/lib/ld-linux-aarch64.so.1 libc6-dev-arm64-cross
    emulator=(qemu-aarch64 -L /usr/$triple)
    exe=run_model
    ;;
riscv64-linux-gnu)
    need $triple-gcc gcc-riscv64-linux-gnu
    need $triple-objdump binutils-riscv64-linux-gnu
    need qemu-riscv64 qemu-user
    need_file /usr/$triple/lib/ld-linux-riscv64-lp64d.so.1 libc6-dev-riscv64-cross
    emulator=(qemu-riscv64 -L /usr/$triple)
    exe=run_model
    ;;
x86_64-w64-mingw32)
    need $triple-gcc gcc-mingw-w64-x86-64
    need $triple-objdump binutils-mingw-w64-x86-64
    # Debian's wine64 package keeps its loader out of $PATH.
    wine=$(command -v wine64 || true)
    [ -n "$wine" ] || wine=/usr/lib/wine/wine64
    need_file $wine wine64
    wineserver=$(dirname "$wine")/wineserver
    [ -x "$wineserver" ] || wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)
    need_file "$wineserver" wine64
    emulator=("$wine")
    exe=run_model.exe
    ;;
*)
    echo "cross.sh: no emulator known for $triple"
    exit 2
    ;;
esac

work=$(mktemp -d)
cleanup() {
    # wineserver -k stops the private prefix's Wine processes (only they
    # share this WINEPREFIX).
    if [ -n "${WINEPREFIX:-}" ]; then
        "$wineserver" -k >/dev/null 2>&1 || true
        "$wineserver" -w >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fails=0
# Each line ends with the seconds since the start, to see where time goes.
ok() { echo "ok   $1 [${SECONDS} s]"; }
bad() {
    echo "FAIL $1 [${SECONDS} s]"
    fails=$((fails + 1))
}

# An unknown triple's error lists the known ones, this one among them.
if "$hodu" --build "$work/none.onnx" --target unknown-triple -o "$work/none.so" 2>"$work/unknown.err"; then
    bad "--target unknown-triple was accepted"
elif grep -q "known targets are: .*$triple" "$work/unknown.err"; then
    ok "--target unknown-triple lists $triple"
else
    bad "--target unknown-triple: $(cat "$work/unknown.err")"
fi

"$repo/tools/cross_runtime.sh" $triple "$work/rt"
runner=("${emulator[@]}" "$work/rt/$exe")

if [ $triple = x86_64-w64-mingw32 ]; then
    # libhodu_rt.dll exports exactly what the Linux libhodu_rt.so does
    # (the hodu_rt.h functions), and the runner takes them from it.
    dll_exports=$($triple-objdump -p "$work/rt/libhodu_rt.dll" |
        sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | sed -nE 's/^\s*\[\s*[0-9]+\]\s+(\S+)$/\1/p' | sort)
    so_exports=$(nm -D --defined-only --format=just-symbols "$(dirname "$hodu")/libhodu_rt.so" | sort)
    if [ -n "$so_exports" ] && [ "$dll_exports" = "$so_exports" ]; then
        ok "libhodu_rt.dll exports the $(wc -l <<<"$dll_exports") functions libhodu_rt.so does"
    else
        bad "libhodu_rt.dll's exports differ from libhodu_rt.so's:"
        diff <(echo "$dll_exports") <(echo "$so_exports") | head -n 10 || true
    fi
    # grep reads a captured copy: under pipefail, grep -q quitting early
    # would fail the pipeline with objdump's SIGPIPE.
    if grep -q "DLL Name: libhodu_rt.dll" <<<"$($triple-objdump -p "$work/rt/$exe")"; then
        ok "$exe imports libhodu_rt.dll"
    else
        bad "$exe does not import libhodu_rt.dll"
    fi
fi

if [ $triple = x86_64-w64-mingw32 ]; then
    # A private Wine prefix, created by the first run (half a minute or
    # more); the persistent wineserver then makes each later run cost
    # tens of milliseconds.  Wine's helper processes inherit the
    # descriptors of the run that starts them: keep them off our pipes.
    export WINEPREFIX=$work/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    mkdir -p "$WINEPREFIX"
    "$wineserver" -p >/dev/null 2>&1 </dev/null
    start=$SECONDS
    if "${runner[@]}" >"$work/wine_setup.log" 2>&1 </dev/null; [ $? -ne 2 ]; then
        bad "wine: the runner did not start (its usage exit 2 expected)"
        tail -n 5 "$work/wine_setup.log"
    else
        ok "wine: prefix set up and the runner starts ($((SECONDS - start)) s)"
    fi
fi

# is_target NAME LIB: LIB is TRIPLE's kind of binary, with the code expected.
is_target() {
    local desc n
    desc=$(file -b "$2")
    case $triple in
    aarch64-linux-gnu)
        if [[ $desc == *"ARM aarch64"* ]]; then ok "$1: the library is AArch64"; else bad "$1: $desc"; fi
        n=$($triple-objdump -d "$2" | grep -cE '\s(fmla|fadd|fmul|fmax)\s+v[0-9]+\.4s' || true)
        if [ "$n" -gt 0 ]; then ok "$1: $n NEON float vector instructions"; else bad "$1: no NEON float vector instruction"; fi
        ;;
    riscv64-linux-gnu)
        if [[ $desc == *"RISC-V"* && $desc == *"double-float ABI"* ]]; then
            ok "$1: the library is RISC-V (lp64d)"
        else
            bad "$1: $desc"
        fi
        # rv64gc: the F extension's scalar float code (no vector extension).
        n=$($triple-objdump -d "$2" | grep -cE '\s(fmadd|fmul|fadd|fmax)\.s\s' || true)
        if [ "$n" -gt 0 ]; then ok "$1: $n RISC-V float instructions"; else bad "$1: no RISC-V float instruction"; fi
        ;;
    x86_64-w64-mingw32)
        if [[ $desc == *"PE32+ executable (DLL)"* && $desc == *"x86-64"* && $desc == *"MS Windows"* ]]; then
            ok "$1: the library is a Windows x86-64 DLL"
        else
            bad "$1: $desc"
        fi
        # The export table's rows, e.g. "[   0] hodu_model_get_desc".
        local exports
        exports=$($triple-objdump -p "$2" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
            grep -E '^\s*\[\s*[0-9]+\]' || true)
        if [[ $exports =~ ^[[:space:]]*\[[[:space:]]*0\][[:space:]]+hodu_model_get_desc$ ]]; then
            ok "$1: exports hodu_model_get_desc only"
        else
            bad "$1: exports ${exports:-nothing}; hodu_model_get_desc alone expected"
        fi
        n=$($triple-objdump -d "$2" | grep -cE '\s(mulps|addps|maxps)\s' || true)
        if [ "$n" -gt 0 ]; then ok "$1: $n SSE packed float instructions"; else bad "$1: no SSE packed float instruction"; fi
        ;;
    esac
}

# model NAME MODEL.onnx INPUT.npy: builds for both, runs both and onnxruntime, compares.
model() {
    local name=$1 onnx=$2 input=$3
    local d=$work/$name lib=target.so
    [ $triple = x86_64-w64-mingw32 ] && lib=target.dll
    mkdir -p "$d"
    if ! "$hodu" --build "$onnx" --target $triple -o "$d/$lib" 2>"$d/err"; then
        bad "$name: build for $triple"; cat "$d/err"; return
    fi
    "$hodu" --build "$onnx" -o "$d/x86.so"
    is_target "$name" "$d/$lib"
    local in_name
    in_name=$("$python" -c 'import onnx,sys; m=onnx.load(sys.argv[1]); init={i.name for i in m.graph.initializer}; print([i.name for i in m.graph.input if i.name not in init][0])' "$onnx")
    if ! "${runner[@]}" "$d/$lib" "$d/target_" "$input" >"$d/run.out" 2>&1 </dev/null; then
        bad "$name: run under ${emulator[0]##*/}"; cat "$d/run.out"; return
    fi
    "$hodu" --run "$d/x86.so" --input "$in_name=$input" --output-dir "$d/x86" >/dev/null
    if "$python" - "$onnx" "$input" "$d" "$repo/tests/pylib" <<'PY'
import os, sys
import numpy as np
import onnx
import onnxruntime as ort
onnx_path, inp, d, pylib = sys.argv[1:]
sys.path.insert(0, pylib)
from compare import relative_error
m = onnx.load(onnx_path)
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
feed = {sess.get_inputs()[0].name: np.load(inp)}
want = sess.run(None, feed)
bad = 0
for k, out in enumerate(m.graph.output):
    got = np.load(os.path.join(d, f"target_{k}.npy"))
    x86 = np.load(os.path.join(d, "x86", out.name + ".npy"))
    for what, ref in (("x86-64", x86), ("onnxruntime", want[k])):
        ref = np.asarray(ref)
        if got.shape != ref.shape:
            print(f"  {out.name}: shape {got.shape} vs {what}'s {ref.shape}"); bad += 1; continue
        err = relative_error(got, ref)
        print(f"  {out.name} vs {what}: max error {err:.2e} relative to the largest magnitude")
        bad += err > 1e-4
sys.exit(1 if bad else 0)
PY
    then ok "$name: $triple outputs match x86-64 and onnxruntime"; else bad "$name: outputs differ"; fi
}

# digits: the example's first eight images, as the example feeds them.
"$python" -c 'import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1])[:8].astype(np.float32))' \
    "$repo/examples/digits/images.npy" "$work/digits_in.npy"
model digits "$repo/examples/digits/digits.onnx" "$work/digits_in.npy"

# One signed package for four targets, opened by this machine's runtime and
# by TRIPLE's under emulation.
p=$work/pkg
mkdir -p "$p"
start=$SECONDS
# hodu --keygen's keys, the public ones also as the 32 raw bytes that
# package_key reads (the last of the PEM's DER bytes)
"$hodu" --keygen "$p/key.pem" >/dev/null
"$hodu" --keygen "$p/other.pem" >/dev/null
"$python" - "$p/key.pub.pem" "$p/key.raw" "$p/other.pub.pem" "$p/other.raw" <<'PY'
import base64, sys
for pem, raw in zip(sys.argv[1::2], sys.argv[2::2]):
    der = base64.b64decode("".join(l for l in open(pem).read().splitlines() if not l.startswith("-----")))
    open(raw, "wb").write(der[-32:])
PY
if ! "$hodu" --package "$repo/examples/digits/digits.onnx" -o "$p/digits.hodupkg" --sign "$p/key.pem" \
    --target x86_64-linux-gnu,aarch64-linux-gnu,riscv64-linux-gnu,x86_64-w64-mingw32 >"$p/build.log" 2>&1; then
    bad "package: hodu --package for four targets"
    tail -n 5 "$p/build.log"
elif ! "$hodu" --run "$p/digits.hodupkg" --input "image=$work/digits_in.npy" --output-dir "$p/host" \
    >"$p/host.log" 2>&1; then
    bad "package: hodu --run of the package on this machine"
    tail -n 5 "$p/host.log"
elif ! "${runner[@]}" "$p/digits.hodupkg" "$p/target_" "$work/digits_in.npy" >"$p/run.log" 2>&1 </dev/null; then
    bad "package: run under ${emulator[0]##*/}"
    tail -n 5 "$p/run.log"
elif ! grep -q "^run_model: loaded lib/$triple\.[a-z]* ($triple)" "$p/run.log"; then
    bad "package: the $triple runtime did not pick its own entry: $(grep loaded "$p/run.log")"
elif "$python" - "$repo/examples/digits/digits.onnx" "$work/digits_in.npy" "$p" "$repo/tests/pylib" <<'PY'; then
import os, sys
import numpy as np
import onnxruntime as ort
onnx_path, inp, d, pylib = sys.argv[1:]
sys.path.insert(0, pylib)
from compare import relative_error
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
want = sess.run(None, {sess.get_inputs()[0].name: np.load(inp)})
bad = 0
for k, out in enumerate(sess.get_outputs()):
    got = np.load(os.path.join(d, f"target_{k}.npy"))
    host = np.load(os.path.join(d, "host", out.name + ".npy"))
    for what, a, b in (("emulated vs onnxruntime", got, want[k]), ("host vs onnxruntime", host, want[k]),
                       ("emulated vs host", got, host)):
        b = np.asarray(b)
        err = relative_error(a, b) if a.shape == b.shape else float("inf")
        print(f"  {out.name} {what}: max error {err:.2e}")
        bad += not err <= 1e-4
sys.exit(1 if bad else 0)
PY
    ok "package: one package for four targets runs here and under ${emulator[0]##*/} ($triple entry), outputs match onnxruntime ($((SECONDS - start)) s)"
else
    bad "package: outputs differ"
fi
# The same entries repacked unsigned (hostile.py's zip writer), unchanged
# and with one byte of TRIPLE's library flipped.
if "$python" - "$p/digits.hodupkg" "$p" "$triple" "$repo/tests/package" <<'PY'; then
import hashlib, json, os, sys, zipfile
pkg, d, triple, here = sys.argv[1:]
sys.path.insert(0, here)
import hostile
with zipfile.ZipFile(pkg) as z:
    man = z.read("manifest.json")
    libs = [(e["name"], z.read(e["name"])) for e in json.loads(man)["entries"]]
open(os.path.join(d, "same.hodupkg"), "wb").write(hostile.package(libs=libs, man=man))
mine = [k for k, (n, _) in enumerate(libs) if n.startswith("lib/" + triple + ".")][0]
name, data = libs[mine]
data = bytearray(data)
data[len(data) // 2] ^= 0x01
libs[mine] = (name, bytes(data))
open(os.path.join(d, "bad.hodupkg"), "wb").write(hostile.package(libs=libs, man=man))
open(os.path.join(d, "bad.want"), "w").write(
    "hash mismatch: '%s' has SHA-256 %s" % (name, hashlib.sha256(bytes(data)).hexdigest()))
PY
    if "${runner[@]}" "$p/same.hodupkg" "$p/same_" "$work/digits_in.npy" >"$p/same.log" 2>&1 </dev/null; then
        ok "package: repacked unchanged, it opens under ${emulator[0]##*/}"
    else
        bad "package: repacked unchanged, it fails: $(tail -n 1 "$p/same.log")"
    fi
    rc=0
    "${runner[@]}" "$p/bad.hodupkg" "$p/bad_" "$work/digits_in.npy" >"$p/bad.log" 2>&1 </dev/null || rc=$?
    if [ $rc -ne 0 ] && grep -qF "$(cat "$p/bad.want")" "$p/bad.log" && [ ! -e "$p/bad_0.npy" ]; then
        ok "package: a changed byte in the $triple library is refused under ${emulator[0]##*/} ($(cut -c1-40 "$p/bad.want")...)"
    else
        bad "package: the tampered package: rc $rc, $(tail -n 1 "$p/bad.log")"
    fi
else
    bad "package: repacking with tests/package/hostile.py failed"
fi

# Signatures, checked by TRIPLE's runtime under emulation (libsodium on
# riscv64 and Windows, libcrypto on aarch64): package_key requires one
# under the key it is given.
keytool=$work/rt/package_key
if [ $triple = x86_64-w64-mingw32 ]; then
    keytool=$keytool.exe
    rt_link=("$work/rt/libhodu_rt.dll.a")
else
    mapfile -t rt_link <"$work/rt/libhodu_rt.link"
    rt_link=("$work/rt/libhodu_rt.a" "${rt_link[@]}")
fi
if ! $triple-gcc -std=gnu11 -Wall -Wextra -Werror -I"$repo/include" "$repo/tests/targets/package_key.c" \
    -o "$keytool" "${rt_link[@]}"; then
    bad "package: building tests/targets/package_key.c for $triple"
fi
key_run=("${emulator[@]}" "$keytool")
# key_case WHAT PACKAGE KEY RC EXPECTED...: package_key's exit status and
# output lines
key_case() {
    local what=$1 pkg=$2 key=$3 want_rc=$4 rc=0 line
    shift 4
    "${key_run[@]}" "$pkg" "$key" >"$p/key.out" 2>&1 </dev/null || rc=$?
    # a Windows program's text-mode stdout ends its lines in CR LF
    tr -d '\r' <"$p/key.out" >"$p/key.log"
    for line in "$@"; do
        if [ $rc -ne "$want_rc" ] || ! grep -qxF "$line" "$p/key.log"; then
            bad "package: $what under ${emulator[0]##*/}: rc $rc, $(head -n 2 "$p/key.log" | tr '\n' ' ')(want: $line)"
            return
        fi
    done
    ok "package: $what under ${emulator[0]##*/} ($(head -n 1 "$p/key.log" | cut -c1-60)...)"
}
key_case "signed, verified with its key, its $triple entry loads" "$p/digits.hodupkg" "$p/key.raw" 0 \
    "signature verified" "$(tr -d '\r' <"$p/run.log" | sed -n "s/^run_model: \(loaded .*\)/\1/p")"
key_case "another key is refused" "$p/digits.hodupkg" "$p/other.raw" 1 \
    "package '$p/digits.hodupkg': the signature of manifest.json does not verify with the given public key"
key_case "unsigned, a signature required, is refused" "$p/same.hodupkg" "$p/key.raw" 1 \
    "package '$p/same.hodupkg' is unsigned, but a signature is required"

# Every hostile package of tests/package/hostile.py is refused by TRIPLE's
# runtime with the message the host's gives: through the runner (no key)
# or, for those needing one, package_key with the public key.
start=$SECONDS
if "$python" - "$p" "$repo/tests/package" "$p/key.pem" "$p/key.raw" "${runner[@]}" -- "${key_run[@]}" \
    >"$p/hostile.log" 2>&1 <<'PY'; then
import os, subprocess, sys
d, here, key, raw = sys.argv[1:5]
cut = sys.argv.index("--")
runner, key_run = sys.argv[5:cut], sys.argv[cut + 1:]
sys.path.insert(0, here)
import hostile
n = keyed = fails = 0
for name, data, error, with_key in hostile.cases(hostile.openssl_signer(key, d)):
    path = os.path.join(d, "hostile_" + name + ".hodupkg")
    open(path, "wb").write(data)
    if with_key:
        r = subprocess.run(key_run + [path, raw], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        want, got = "package '%s'%s" % (path, error), r.stdout
        keyed += 1
    else:
        r = subprocess.run(runner + [path, path + "_out", "in.npy"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        want, got = "run_model: %s: package '%s'%s" % (path, path, error), r.stderr
    n += 1
    if r.returncode != 1 or want not in got.splitlines() or os.path.exists(path + "_out0.npy"):
        print("FAIL %s: rc %d\n  got:  %s\n  want: %s" % (name, r.returncode, got.strip(), want))
        fails += 1
print("%d hostile packages refused (%d given the key), %d failures" % (n - fails, keyed, fails))
sys.exit(1 if fails or n < 28 or keyed < 3 else 0)
PY
    ok "package: $(tail -n 1 "$p/hostile.log") under ${emulator[0]##*/} ($((SECONDS - start)) s)"
else
    bad "package: hostile packages under ${emulator[0]##*/}:"
    tail -n 12 "$p/hostile.log"
fi
# MobileNetV2, one 224x224 image (about 20 s under qemu-aarch64).
if "$python" "$repo/tools/export_models.py" --out "$work/models" mobilenet_v2 >"$work/export.log" 2>&1; then
    "$python" -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))' "$work/mnv2_in.npy"
    model mobilenet_v2 "$(ls "$work"/models/*mobilenet_v2*.onnx | head -n 1)" "$work/mnv2_in.npy"
else
    bad "mobilenet_v2: tools/export_models.py failed (needs torch and torchvision: tools/setup.sh --models)"
    tail -n 5 "$work/export.log"
fi

# The node-test sample: every test expected to pass on x86-64 must pass
# here, but ImageDecoder's: the cross-built runtime has no image decoding.
# The runner reads stdin from /dev/null (Wine's helpers must not hold the
# harness's pipes).
grep -v '^test_image_decoder' "$repo/tests/conformance/expected_pass.txt" >"$work/expected_pass.txt"
start=$SECONDS
if "$python" "$repo/tests/conformance/run_node_tests.py" --hodu "$hodu" --sample 8 -j 2 --no-ort \
    --target $triple --runner "${runner[*]}" --expect-pass "$work/expected_pass.txt" \
    --min-pass 200 >"$work/node.log" 2>&1 </dev/null; then
    ok "node tests on $triple: $(tail -n 1 "$work/node.log") (in $((SECONDS - start)) s)"
else
    bad "node tests on $triple: $(tail -n 1 "$work/node.log")"
    grep -E '^(FAIL|REGRESS|  )' "$work/node.log" | head -n 30 || true
    tail -n 15 "$work/node.log"
fi

if [ $fails -gt 0 ]; then
    echo "$name: $fails failed"
    exit 1
fi
echo "$name: all passed"
