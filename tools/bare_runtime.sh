#!/usr/bin/env bash
# Builds the bare-metal flavour of libhodu_rt: a static, no-malloc archive
# for a firmware (docs/targets.md, "libhodu_rt on bare metal").
#
#   tools/bare_runtime.sh TRIPLE DIR [CPU]
#
# TRIPLE is arm-none-eabi, riscv64-unknown-elf or riscv32-unknown-elf; CPU
# one of the CPUs `hodu --build --target TRIPLE --march CPU` knows (default:
# the target's, cortex-m4 / rv64gc / rv32imafc), with the same compiler
# flags, so the archive links with that object.  Writes DIR/libhodu_rt.a:
# src/runtime/common.c and model.c compiled with -DHODU_RT_BARE against
# picolibc's headers (no heap, files, loader, clock or threads: models come
# from hodu_model_from_desc, instances live in hodu_instance_options.arena).
# Then checks that the archive needs no allocator, loader, threads or
# stdio output (nm -u), and fails naming the symbol otherwise.
set -euo pipefail

usage="usage: tools/bare_runtime.sh TRIPLE DIR [CPU]"
triple=${1:?$usage}
out=${2:?$usage}
cpu=${3:-}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The CPU flags, as src/backend/targets.c gives them to the model's object.
case $triple:${cpu} in
arm-none-eabi: | arm-none-eabi:cortex-m4) flags="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb" ;;
arm-none-eabi:cortex-m7) flags="-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -mthumb" ;;
riscv64-unknown-elf: | riscv64-unknown-elf:rv64gc) flags="-march=rv64gc -mabi=lp64d -mcmodel=medany" ;;
riscv32-unknown-elf: | riscv32-unknown-elf:rv32imafc) flags="-march=rv32imafc -mabi=ilp32f -mcmodel=medany" ;;
*)
    echo "bare_runtime.sh: unknown bare-metal target '$triple' with CPU '${cpu:-default}' (known: arm-none-eabi" \
        "cortex-m4/cortex-m7, riscv64-unknown-elf rv64gc, riscv32-unknown-elf rv32imafc)" >&2
    exit 1
    ;;
esac
tools=${triple/riscv32/riscv64} # one RISC-V toolchain for both widths
for tool in gcc ar nm; do
    if ! command -v "$tools-$tool" >/dev/null 2>&1; then
        package=binutils-$tools
        [ "$tool" = gcc ] && package=gcc-$tools
        echo "bare_runtime.sh: $tools-$tool not found (Debian package $package)" >&2
        exit 1
    fi
done

mkdir -p "$out/obj"
rm -f "$out/libhodu_rt.a" "$out"/obj/*.o
for src in common model; do
    # shellcheck disable=SC2086
    "$tools-gcc" $flags --specs=picolibc.specs -std=gnu11 -O2 -Wall -Wextra -Werror -fvisibility=hidden \
        -ffunction-sections -fdata-sections -DHODU_RT_BARE -DHODU_RT_NO_IMAGE -DHODU_RT_NO_JSON \
        -I"$repo/include" -I"$repo/src" -c "$repo/src/runtime/$src.c" -o "$out/obj/$src.o"
done
"$tools-ar" rcs "$out/libhodu_rt.a" "$out"/obj/common.o "$out"/obj/model.o

# What the archive needs from the firmware: string and formatting
# functions, never memory, files, a loader or threads.
undefined=$("$tools-nm" -u "$out/libhodu_rt.a" | awk 'NF == 2 {print $2}' | sort -u)
banned=$(grep -E '^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|dl[a-z]*|pthread_.*|[a-z]*printf|puts|putchar|f[a-z]+|open|read|write|close|stat|getenv|clock_gettime|abort)$' \
    <<<"$undefined" | grep -vE '^(snprintf|vsnprintf)$' || true)
if [ -n "$banned" ]; then
    echo "bare_runtime.sh: $out/libhodu_rt.a needs $(tr '\n' ' ' <<<"$banned")" >&2
    exit 1
fi
