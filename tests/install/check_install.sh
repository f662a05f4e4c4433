#!/usr/bin/env bash
# The installation, end to end, against the installed tree only:
#
#   check_install.sh BUILD_DIR PYTHON
#
# 1. `cmake --install BUILD_DIR` into a fresh temporary prefix; checks the
#    files, libhodu_rt's SONAME, no build or source path in the .pc and
#    CMake files or in a RUNPATH, and that the man page renders without
#    warnings, names the version `hodu --version` prints and every long
#    option of `hodu --help`; that libhodu.a needs nothing of libhodu_rt
#    that libhodu_rt.so hides (hodu.pc links the two).
# 2. Moves the prefix elsewhere (the files must be relocatable) and from
#    then on uses only the moved one.
# 3. Copies examples/consumer out of the source tree and builds it twice:
#    with CMake (find_package(hodu), which also compiles the test's model
#    with the installed hodu) and with its Makefile (pkg-config); links
#    all of libhodu.a into a shared object.
# 4. Compiles a small ONNX model with the installed hodu, with the
#    consumer's build_model (hodu.h) and through CMake, runs each with the
#    consumers (shared and static libhodu_rt) and through the typed header
#    of --emit-header, and compares the outputs with onnxruntime's (PYTHON
#    needs onnx, onnxruntime and numpy).
# 5. Compiles examples/mlp.hodu (import "std/nn") with the installed hodu
#    from outside the source tree and checks the consumer's output against
#    `hodu --run`'s.
# A missing tool is a failure, never a skip.
set -euo pipefail

build=$(cd "${1:?usage: check_install.sh BUILD_DIR PYTHON}" && pwd)
py=${2:?usage: check_install.sh BUILD_DIR PYTHON}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case "$py" in */*) py=$(cd "$(dirname "$py")" && pwd)/$(basename "$py") ;; esac   # the test changes folder

fail() {
    echo "check_install: FAIL: $*" >&2
    exit 1
}
for tool in cmake make pkg-config cc man readelf nm ldd; do
    command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed (tools/setup.sh installs it)"
done
"$py" -c 'import onnx, onnxruntime, numpy' 2>/dev/null || fail "$py lacks onnx, onnxruntime or numpy (tools/setup.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/hodu-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/log
# run WHAT COMMAND...: its output goes to the log, shown when it fails.
run() {
    local what=$1; shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        fail "$what: $*"
    fi
}

# Nothing from the environment may point the consumers elsewhere.
unset CPATH C_INCLUDE_PATH LIBRARY_PATH LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH HODU_EXE CC CFLAGS

# --- 1. install -------------------------------------------------------------------
run "cmake --install" cmake --install "$build" --prefix "$work/first"
pc=$(cd "$work/first" && find . -name hodu_rt.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no hodu_rt.pc installed"
libdir=$(dirname "$(dirname "${pc#./}")")   # lib, or lib/<multiarch>
for f in bin/hodu include/hodu.h include/hodu_rt.h include/hodu_abi.h share/man/man1/hodu.1 \
    "$libdir"/libhodu_rt.so "$libdir"/libhodu_rt.a "$libdir"/libhodu.a \
    "$libdir"/pkgconfig/hodu_rt.pc "$libdir"/pkgconfig/hodu.pc \
    "$libdir"/cmake/hodu/hoduConfig.cmake "$libdir"/cmake/hodu/hoduConfigVersion.cmake \
    "$libdir"/cmake/hodu/hoduTargets.cmake; do
    [ -e "$work/first/$f" ] || fail "not installed: $f"
done
soname=$(readelf -d "$work/first/$libdir/libhodu_rt.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case "$soname" in
    libhodu_rt.so.[0-9]*) [ -e "$work/first/$libdir/$soname" ] || fail "SONAME $soname is not installed" ;;
    *) fail "libhodu_rt.so has no versioned SONAME (got '$soname')" ;;
esac
# Relocatable: no absolute path of the build, the source or the prefix.
if grep -rlF -e "$build" -e "$src" -e "$work" "$work/first/$libdir/pkgconfig" "$work/first/$libdir/cmake" \
    "$work/first/include"; then
    fail "the files above hold an absolute path"
fi
for f in "$work/first/bin/hodu" "$work/first/$libdir"/libhodu_rt.so.*.*; do
    if readelf -d "$f" | grep -E 'R(UN)?PATH'; then
        fail "$f keeps an RPATH/RUNPATH"
    fi
done
warnings=$(MANWIDTH=80 man --warnings -l "$work/first/share/man/man1/hodu.1" 2>&1 >/dev/null)
[ -z "$warnings" ] || fail "man hodu.1 warns: $warnings"
version=$("$work/first/bin/hodu" --version | awk '{print $2}')
grep -q "^\.TH HODU 1 .*\"hodu $version\"" "$work/first/share/man/man1/hodu.1" ||
    fail "hodu.1's .TH line does not name version $version (man/hodu.1)"
# Every long option of `hodu --help` is in the man page (roff writes - as \-).
long_opts() { grep -oE -- '--[a-z][a-z-]*' | sort -u; }
missing=$(comm -23 <("$work/first/bin/hodu" --help | long_opts) \
    <(sed 's/\\-/-/g' "$work/first/share/man/man1/hodu.1" | long_opts))
[ -z "$missing" ] || fail "hodu.1 does not mention" "${missing//$'\n'/ }" "(man/hodu.1)"
grep -q "^Version: $version\$" "$work/first/$libdir/pkgconfig/hodu_rt.pc" || fail "hodu_rt.pc does not say version $version"

# The build tree's own modules (build/pkgconfig, uninstalled) point into it.
got=$(PKG_CONFIG_PATH=$build/pkgconfig pkg-config --variable=libdir hodu_rt)
[ "$got" = "$build" ] || fail "$build/pkgconfig/hodu_rt.pc gives libdir '$got', not $build"

# hodu.pc links libhodu.a with the shared libhodu_rt: so libhodu may use
# only what libhodu_rt.so exports, not the runtime's hidden helpers.
ilib=$work/first/$libdir
syms() { sort -u; }
hidden=$(comm -12 <(nm -u "$ilib/libhodu.a" | awk '{print $2}' | syms) \
    <(nm -g --defined-only "$ilib/libhodu_rt.a" 2>/dev/null | awk 'NF == 3 {print $3}' | syms) |
    comm -23 - <(nm -g --defined-only "$ilib/libhodu.a" 2>/dev/null | awk 'NF == 3 {print $3}' | syms) |
    comm -23 - <(nm -D --defined-only "$ilib/libhodu_rt.so" | awk '{print $3}' | syms))
[ -z "$hidden" ] || fail "libhodu.a needs libhodu_rt symbols that libhodu_rt.so does not export:" "${hidden//$'\n'/ }"

# --- 2. move the prefix ---------------------------------------------------------
mv "$work/first" "$work/moved"
prefix=$work/moved
export PATH="$prefix/bin:$PATH"
[ "$(command -v hodu)" = "$prefix/bin/hodu" ] || fail "hodu on PATH is not the installed one"

# --- 3. build the consumer both ways ---------------------------------------------
cp -r "$src/examples/consumer" "$work/consumer"
run "make_model.py" "$py" "$src/tests/install/make_model.py" "$work"
cd "$work"

run "cmake configure (consumer)" cmake -S consumer -B cbuild -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" -DHODU_MODEL="$work/mlp.onnx"
grep -q "hodu $version from $prefix/$libdir/cmake/hodu" "$log" || fail "find_package(hodu) did not find $prefix"
run "cmake build (consumer)" cmake --build cbuild

export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
for m in hodu_rt hodu; do
    got=$(cd / && pkg-config --variable=prefix $m)
    [ "$(realpath "$got")" = "$prefix" ] || fail "pkg-config $m says prefix '$got', not $prefix"
done
mkdir mbuild
run "make (consumer)" make -C consumer O="$work/mbuild" CFLAGS="-O2 -Wall -Wextra -Werror"

# libhodu.a, every member of it, links into a shared object (it is PIC).
# shellcheck disable=SC2046  # pkg-config's words are separate arguments
run "libhodu.a into a shared object" cc -shared -o libwhole.so -Wl,--whole-archive "$prefix/$libdir/libhodu.a" \
    -Wl,--no-whole-archive $(pkg-config --libs hodu)

# The shared consumers load the moved prefix's libhodu_rt, the static ones none.
for exe in cbuild/run_model mbuild/run_model; do
    lib=$(ldd "$exe" | awk '/libhodu_rt/ {print $3}')
    if [ -z "$lib" ] || [ "$(realpath "$lib")" != "$(realpath "$prefix/$libdir/$soname")" ]; then
        fail "$exe loads '$lib', not $prefix/$libdir/$soname"
    fi
done
for exe in cbuild/run_model_static mbuild/run_model_static; do
    if grep -q 'NEEDED.*libhodu_rt' <<<"$(readelf -d "$exe")"; then
        fail "$exe needs libhodu_rt.so"
    fi
done

# --- 4. models, consumers and the oracle --------------------------------------------
run "hodu --build" hodu --build mlp.onnx -o mlp_cli.so --march generic
run "build_model (CMake)" cbuild/build_model mlp.onnx mlp_lib_cmake.so
run "build_model (pkg-config)" mbuild/build_model mlp.onnx mlp_lib_make.so
n=0
for model in mlp_cli.so mlp_lib_cmake.so mlp_lib_make.so cbuild/model.so; do
    for exe in cbuild/run_model cbuild/run_model_static mbuild/run_model mbuild/run_model_static; do
        n=$((n + 1))
        run "$exe $model" "$exe" "$model" "out$n-" x.npy
    done
done
# The typed header of --emit-header, against the installed hodu_rt.h.
run "hodu --emit-header" hodu --build mlp.onnx -o typed.so --emit-header mlp.h --march generic
cat >typed.c <<'C'
#include <stdio.h>
#include <string.h>

#include "mlp.h"

int main(void) {
    hodu_error err;
    hodu_model *m;
    hodu_instance *inst;
    hodu_tensor x;
    static float y[2][3];
    if (hodu_model_open("typed.so", &m, &err) || hodu_instance_create(m, &inst, &err) ||
        hodu_npy_read("x.npy", &x, &err))
        return fprintf(stderr, "%s\n", err.message), 1;
    float xs[2][4];
    memcpy(xs, x.data, sizeof xs);
    if (mlp_run(inst, &xs, &y, &err))
        return fprintf(stderr, "%s\n", err.message), 1;
    hodu_tensor out = {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {2, 3}, .data = y, .nbytes = sizeof y};
    if (hodu_npy_write("out0-0.npy", &out, &err))
        return fprintf(stderr, "%s\n", err.message), 1;
    hodu_tensor_free(&x);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
    return 0;
}
C
# shellcheck disable=SC2046
run "typed.c" cc -std=c11 -Wall -Wextra -Werror -Werror=incompatible-pointer-types $(pkg-config --cflags hodu_rt) \
    -o typed typed.c $(pkg-config --libs hodu_rt) -Wl,-rpath,"$prefix/$libdir"
run "typed" ./typed

run "comparison with onnxruntime" "$py" - "$n" <<'PY'
import sys
import numpy as np
want = np.load("expected.npy")
for i in range(0, int(sys.argv[1]) + 1):  # 0: typed.c
    got = np.load(f"out{i}-0.npy")
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
        sys.exit(f"out{i}-0.npy differs from onnxruntime: {got} vs {want}")
PY

# --- 5. HoduScript with the embedded std/ -----------------------------------------------
cp "$src/examples/mlp.hodu" .
run "hodu --build mlp.hodu" hodu --build mlp.hodu -o script.so --dim B=3 --march generic
run "random input" "$py" -c 'import numpy as np; np.save("img.npy", np.random.default_rng(1).random((3, 784), dtype=np.float32))'
run "hodu --run" hodu --run script.so --input x=img.npy --output-dir ref
run "run_model script.so" mbuild/run_model script.so script- img.npy
run "script outputs" "$py" -c '
import glob, sys
import numpy as np
ref = [np.load(p) for p in glob.glob("ref/*.npy")]
got = np.load("script-0.npy")
if len(ref) != 1 or not np.array_equal(ref[0], got):
    sys.exit("run_model and hodu --run disagree on script.so")
if got.shape != (3, 10) or not np.allclose(got.sum(axis=1), 1, atol=1e-5):
    sys.exit("mlp.hodu rows are not softmax rows: %s" % got)'

echo "check_install: ok ($((n + 1)) model runs against onnxruntime, prefix moved, CMake and pkg-config consumers)"
