#!/usr/bin/env bash
# Cross-builds libhodu_rt and examples/consumer/run_model.c (a runner over
# hodu_rt.h: .npy inputs in, .npy outputs out) for another target, so that a
# library built with `hodu --build --target TRIPLE` can run under emulation.
#
#   tools/cross_runtime.sh TRIPLE DIR
#
# Writes DIR/libhodu_rt.a and DIR/run_model (and, for ELF targets,
# DIR/libhodu_rt.link: the libraries a program linking DIR/libhodu_rt.a
# needs after it, one argument a line).  For x86_64-w64-mingw32 (the
# runtime then uses src/runtime/platform_win32.c) also DIR/libhodu_rt.dll
# and its import library DIR/libhodu_rt.dll.a; DIR/run_model.exe, which
# wine64 runs, uses that DLL (8 MiB main stack, as Linux gives).  The runtime is built without
# image decoding (-DHODU_RT_NO_IMAGE: its libraries are the build machine's
# only; those calls then fail saying so).  Packages (.hodupkg) and
# safetensors need cJSON, packages also SHA-256 and Ed25519:
#   aarch64-linux-gnu: Debian's arm64 libcjson and libcrypto (multiarch
#     libcjson-dev:arm64, libssl-dev:arm64), linked with an rpath to
#     /usr/lib/aarch64-linux-gnu, where qemu-aarch64 finds them
#   riscv64-linux-gnu, x86_64-w64-mingw32 (Debian 12 builds neither
#     library for them): cJSON.c from Debian's cjson source package, which
#     tools/setup.sh puts in $HODU_DEPS/cjson (default /usr/local/src/hodu),
#     compiled into the runtime, and SHA-256 and Ed25519 from libsodium,
#     which tools/setup.sh cross-builds from Debian's source package into
#     $HODU_LIBS/libsodium/TRIPLE (default /usr/local/lib/hodu): a static
#     library linked into libhodu_rt.dll (exporting nothing of it) and,
#     on riscv64, into run_model (DIR/libhodu_rt.link names it)
# Run the result with e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu
# DIR/run_model ...` or `wine64 DIR/run_model.exe ...`.
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
flags=(-std=gnu11 -O2 -fPIC -Wall -Wextra -Werror -fvisibility=hidden -DHODU_RT_NO_IMAGE
       -I"$repo/include" -I"$repo/src")
exe=run_model
link=(-rdynamic -ldl -lm -lpthread)
sources=("$repo"/src/runtime/*.c)
sodium=${HODU_LIBS:-/usr/local/lib/hodu}/libsodium/$triple
cjson=${HODU_DEPS:-/usr/local/src/hodu}/cjson
# inc/ holds only the headers named below, so that the cross compiler does
# not see the rest of the build machine's /usr/include.
rm -rf "$out/inc"
mkdir -p "$out/inc"
case $triple in
aarch64-linux-gnu)
    libdir=/usr/lib/$triple
    for f in "$libdir/libcjson.so" "$libdir/libcrypto.so" /usr/include/cjson/cJSON.h "/usr/include/$triple/openssl/configuration.h"; do
        if [ ! -e "$f" ]; then
            echo "cross_runtime.sh: $f is missing (Debian packages libcjson-dev:arm64 libssl-dev:arm64; tools/setup.sh installs them)" >&2
            exit 1
        fi
    done
    ln -s /usr/include/cjson "$out/inc/cjson"
    ln -s /usr/include/openssl "$out/inc/openssl"
    flags+=(-I"/usr/include/$triple" -I"$out/inc")
    link+=(-L"$libdir" -Wl,-rpath,"$libdir" -lcjson -lcrypto)
    ;;
riscv64-linux-gnu | x86_64-w64-mingw32)
    if [ $triple = x86_64-w64-mingw32 ]; then
        # printf's %zu and %lld as C99 says (msvcrt's own printf lacks them).
        flags+=(-D__USE_MINGW_ANSI_STDIO=1)
        exe=run_model.exe
    fi
    if [ ! -f "$cjson/cJSON.c" ] || [ ! -f "$cjson/cJSON.h" ]; then
        echo "cross_runtime.sh: $cjson/cJSON.c is missing (Debian's cjson source; tools/setup.sh fetches it)" >&2
        exit 1
    fi
    if [ ! -f "$sodium/lib/libsodium.a" ] || [ ! -f "$sodium/include/sodium.h" ]; then
        echo "cross_runtime.sh: $sodium/lib/libsodium.a is missing (Debian's libsodium source, cross-built by tools/setup.sh)" >&2
        exit 1
    fi
    mkdir -p "$out/inc/cjson"
    cp "$cjson/cJSON.h" "$out/inc/cjson/"
    # cJSON goes inside the runtime, exporting nothing (its header's
    # CJSON_HIDE_SYMBOLS, for the runtime's sources and cJSON.c alike);
    # SODIUM_STATIC: libsodium's header then declares no exports either.
    flags+=(-I"$out/inc" -isystem "$sodium/include" -DCJSON_HIDE_SYMBOLS -DHODU_RT_SODIUM -DSODIUM_STATIC)
    link+=("$sodium/lib/libsodium.a")
    ;;
*)
    flags+=(-DHODU_RT_NO_JSON)
    ;;
esac
objs=()
for src in "${sources[@]}"; do
    obj=$out/obj/$(basename "$src" .c).o
    "$cc" "${flags[@]}" -DHODU_RT_BUILDING -c "$src" -o "$obj"
    objs+=("$obj")
done
if [ -f "$out/inc/cjson/cJSON.h" ] && [ ! -L "$out/inc/cjson" ]; then
    # Debian's cJSON.c as it is (not held to this project's warning flags)
    "$cc" -std=gnu11 -O2 -fPIC -DCJSON_HIDE_SYMBOLS -c "$cjson/cJSON.c" -o "$out/obj/cJSON.o"
    objs+=("$out/obj/cJSON.o")
fi
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
    "$cc" -shared -o "$out/libhodu_rt.dll" "${dllobjs[@]}" "$out/obj/cJSON.o" "$sodium/lib/libsodium.a" \
        -Wl,--out-implib,"$out/libhodu_rt.dll.a" -static -lm
    "$cc" "${flags[@]}" "$repo/examples/consumer/run_model.c" -o "$out/$exe" "$out/libhodu_rt.dll.a" \
        -static-libgcc -Wl,--stack,8388608 -lm
    exit 0
fi
# -rdynamic (ELF): the model library's calls into the runtime resolve
# against the runner's copy.  DIR/libhodu_rt.link: what a program linking
# DIR/libhodu_rt.a adds after it, one argument a line.
printf '%s\n' "${link[@]}" >"$out/libhodu_rt.link"
"$cc" "${flags[@]}" "$repo/examples/consumer/run_model.c" -o "$out/$exe" "$out/libhodu_rt.a" "${link[@]}"
