#!/usr/bin/env bash
# hodu --build --target x86_64-apple-darwin / aarch64-apple-darwin (ctest
# target_macos; docs/targets.md).  No macOS runs here, so the libraries
# are checked for structure only (tests/targets/macho_check.py, Debian's
# llvm tools): a 64-bit Mach-O MH_DYLIB of the right cputype, exporting
# hodu_model_get_desc alone, every undefined symbol bound to libSystem.
#
#   tests/targets/macos.sh HODU PYTHON
#
#   1. `arm64-apple-darwin` is accepted as Apple's spelling
#   2. for both architectures: libhodu_rt.dylib (tools/cross_runtime.sh),
#      which must export exactly what the Linux libhodu_rt.so exports, and
#      the digits example and a MobileNetV2 (random weights, batch 1)
#   3. without zig (a $PATH with no ziglang), the build fails naming the
#      PyPI package
#
# zig comes from PyPI's ziglang in PYTHON's environment (or zig on $PATH);
# a missing tool is a failure, never a skip.  About 1 minute on two cores
# once zig's cache is warm (its first macOS link builds libSystem stubs).
set -euo pipefail

hodu=${1:?usage: macos.sh HODU PYTHON}
python=${2:?usage: macos.sh HODU PYTHON}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$repo/tests/lib.sh"
suite=target_macos pass=0 fail=0
# hodu finds ziglang next to the environment's bin/ on $PATH.
export PATH=$(dirname "$python"):$PATH PYTHON=$python
if ! command -v zig >/dev/null 2>&1 && ! "$python" -c 'import ziglang' 2>/dev/null; then
    echo "target_macos: FAIL: zig is missing (PyPI package ziglang, tools/requirements-test.txt)"
    exit 1
fi
for t in llvm-objdump llvm-nm; do
    if ! command -v $t >/dev/null 2>&1; then
        echo "target_macos: FAIL: $t is missing (Debian package llvm)"
        exit 1
    fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check=("$python" "$repo/tests/targets/macho_check.py")
rt_linux=$(dirname "$hodu")/libhodu_rt.so

start=$SECONDS
if "$python" "$repo/tools/export_models.py" --out "$work/models" mobilenet_v2 >"$work/export.log" 2>&1; then
    mnv2=$(ls "$work"/models/*mobilenet_v2*.onnx | head -n 1)
else
    bad "mobilenet_v2: tools/export_models.py failed (needs torch and torchvision: tools/setup.sh --models)"
    tail -n 5 "$work/export.log"
    mnv2=
fi
echo "(MobileNetV2 exported in $((SECONDS - start)) s)"

for case in x86_64-apple-darwin:x86_64 arm64-apple-darwin:arm64; do
    triple=${case%%:*} arch=${case##*:}
    if "$repo/tools/cross_runtime.sh" "$triple" "$work/rt_$arch" >"$work/rt.log" 2>&1 &&
        "${check[@]}" "$work/rt_$arch/libhodu_rt.dylib" $arch --like "$rt_linux" >"$work/check.log"; then
        ok "libhodu_rt.dylib for $triple: $(cat "$work/check.log")"
    else
        bad "libhodu_rt.dylib for $triple"; cat "$work/rt.log" "$work/check.log" 2>/dev/null || true
    fi
    for model in "digits:$repo/examples/digits/digits.onnx" ${mnv2:+"mobilenet_v2:$mnv2"}; do
        m=${model%%:*} onnx=${model#*:}
        lib=$work/${m}_$arch.dylib
        if ! "$hodu" --build "$onnx" --target $triple -o "$lib" 2>"$work/err"; then
            bad "$m for $triple: build failed"; cat "$work/err"; continue
        fi
        if "${check[@]}" "$lib" $arch --only _hodu_model_get_desc >"$work/check.log"; then
            ok "$m for $triple: $(cat "$work/check.log") [${SECONDS} s]"
        else
            bad "$m for $triple"; cat "$work/check.log"
        fi
    done
done

# Without zig anywhere: a clear error naming the package, no output file.
if PATH=/usr/bin:/bin "$hodu" --build "$repo/examples/digits/digits.onnx" --target aarch64-apple-darwin \
    -o "$work/none.dylib" 2>"$work/err"; then
    bad "a build without zig succeeded"
elif grep -q "PyPI package ziglang" "$work/err" && [ ! -e "$work/none.dylib" ]; then
    ok "without zig: $(cat "$work/err")"
else
    bad "without zig: $(cat "$work/err")"
fi
suite_end
