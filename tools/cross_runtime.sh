#!/usr/bin/env bash
# Cross-builds libhodu_rt and examples/consumer/run_model.c (a runner over
# hodu_rt.h: .npy inputs in, .npy outputs out) for another target, so that a
# library built with `hodu --build --target TRIPLE` can run under emulation.
#
#   tools/cross_runtime.sh TRIPLE DIR
#
# Writes DIR/libhodu_rt.a and DIR/run_model.  For x86_64-w64-mingw32 (the
# runtime then uses src/runtime/platform_win32.c) also DIR/libhodu_rt.dll
# and its import library DIR/libhodu_rt.dll.a; DIR/run_model.exe, which
# wine64 runs, uses that DLL (8 MiB main stack, as Linux gives).  The runtime is built without
# image decoding and without safetensors parsing (-DHODU_RT_NO_IMAGE,
# -DHODU_RT_NO_JSON): their libraries are installed for the build machine
# only, and those calls then fail with a message saying so.  Run the result
# with e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu DIR/run_model ...` or
# `wine64 DIR/run_model.exe ...`.
#
# x86_64-apple-darwin, aarch64-apple-darwin: DIR/libhodu_rt.dylib alone
# (platform_posix.c, dlopen), linked by zig cc: `zig` on $PATH, else PyPI's
# ziglang through `$PYTHON -m ziglang` (python3 when $PYTHON is unset).
# Nothing here runs a Mach-O file; tests/targets/macho_check.py checks it.
set -euo pipefail

triple=${1:?usage: tools/cross_runtime.sh TRIPLE DIR}
out=${2:?usage: tools/cross_runtime.sh TRIPLE DIR}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $triple == *-apple-darwin ]]; then
    if command -v zig >/dev/null 2>&1; then
        zig=(zig)
    elif "${PYTHON:-python3}" -c 'import ziglang' >/dev/null 2>&1; then
        zig=("${PYTHON:-python3}" -m ziglang)
    else
        echo "cross_runtime.sh: zig not found (PyPI package ziglang: pip install ziglang)" >&2
        exit 1
    fi
    arch=${triple%%-*}
    [ "$arch" = arm64 ] && arch=aarch64 # Apple's name for it
    mkdir -p "$out"
    "${zig[@]}" cc -target "$arch-macos" -std=gnu11 -O2 -fPIC -Wall -Wextra -Werror -fvisibility=hidden \
        -DHODU_RT_NO_IMAGE -DHODU_RT_NO_JSON -DHODU_RT_BUILDING -I"$repo/include" -I"$repo/src" -shared \
        -Wl,-install_name,@rpath/libhodu_rt.dylib "$repo"/src/runtime/*.c -o "$out/libhodu_rt.dylib" -lm
    exit 0
fi
cc=${triple}-gcc
if ! command -v "$cc" >/dev/null 2>&1; then
    case $triple in
    x86_64-w64-mingw32) package=gcc-mingw-w64-x86-64 ;;
    *) package=gcc-${triple//_/-} ;;
    esac
    echo "cross_runtime.sh: $cc not found (Debian package $package)" >&2
    exit 1
fi
mkdir -p "$out/obj"
flags=(-std=gnu11 -O2 -fPIC -Wall -Wextra -Werror -fvisibility=hidden -DHODU_RT_NO_IMAGE -DHODU_RT_NO_JSON
       -I"$repo/include" -I"$repo/src")
exe=run_model
link=(-rdynamic -ldl -lm -lpthread)
if [[ $triple == *-mingw32 ]]; then
    # printf's %zu and %lld as C99 says (msvcrt's own printf lacks them).
    flags+=(-D__USE_MINGW_ANSI_STDIO=1)
    exe=run_model.exe
fi
objs=()
for src in "$repo"/src/runtime/*.c; do
    obj=$out/obj/$(basename "$src" .c).o
    "$cc" "${flags[@]}" -DHODU_RT_BUILDING -c "$src" -o "$obj"
    objs+=("$obj")
done
rm -f "$out/libhodu_rt.a"
"${triple}-ar" rcs "$out/libhodu_rt.a" "${objs[@]}"
if [[ $triple == *-mingw32 ]]; then
    # libhodu_rt.dll exporting the hodu_rt.h functions (HODU_RT_DLL:
    # dllexport on them alone), its import library libhodu_rt.dll.a, and a
    # runner that uses the DLL (Windows finds it next to the .exe).
    # -static: libgcc and the rest go into the DLL, which then needs only
    # system DLLs.
    mkdir -p "$out/dllobj"
    dllobjs=()
    for src in "$repo"/src/runtime/*.c; do
        obj=$out/dllobj/$(basename "$src" .c).o
        "$cc" "${flags[@]}" -DHODU_RT_BUILDING -DHODU_RT_DLL -c "$src" -o "$obj"
        dllobjs+=("$obj")
    done
    "$cc" -shared -o "$out/libhodu_rt.dll" "${dllobjs[@]}" -Wl,--out-implib,"$out/libhodu_rt.dll.a" -static -lm
    "$cc" "${flags[@]}" "$repo/examples/consumer/run_model.c" -o "$out/$exe" "$out/libhodu_rt.dll.a" \
        -static-libgcc -Wl,--stack,8388608 -lm
    exit 0
fi
# -rdynamic (ELF): the model library's calls into the runtime resolve
# against the runner's copy.
"$cc" "${flags[@]}" "$repo/examples/consumer/run_model.c" -o "$out/$exe" "$out/libhodu_rt.a" "${link[@]}"
