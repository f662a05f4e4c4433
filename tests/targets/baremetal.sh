#!/usr/bin/env bash
# hodu --build --target for bare metal, run under qemu-system with
# semihosting (ctest target_baremetal; docs/targets.md, "Bare metal").
#
#   tests/targets/baremetal.sh HODU PYTHON
#
# For each of Cortex-M4F (arm-none-eabi, qemu's mps2-an386), Cortex-M7
# (--march cortex-m7, mps2-an500), rv64gc (riscv64-unknown-elf, virt) and
# rv32imafc (riscv32-unknown-elf, virt):
#   1. builds examples/digits/digits.onnx into a relocatable object with
#      its --emit-header header; checks the object is that machine's (float
#      ABI, float instructions), references no allocator and keeps the
#      weights in .rodata
#      and a small MLP made here with onnx.helper the same way; checks that
#      each object's one global symbol is its PREFIX_model_get_desc
#   2. links both into one firmware with a small semihosting main
#      (picolibc's crt0, its linker script placed on the machine's flash
#      and RAM), the inputs compiled into the firmware from .npy files, a
#      static arena of each header's workspace size
#   3. runs it under qemu-system with a timeout; it prints every output's
#      bits, which must match the x86-64 build: the same class for every
#      image, logits within 1e-5 relative to the largest magnitude; the
#      MLP within 1e-5 of the x86-64 build and of onnxruntime
# Also: an unknown CPU for a bare-metal target, a run-time dim in a
# bare-metal header and a bare-metal target in a package are refused by
# name.
#
# A missing tool is a failure naming its Debian package, never a skip.
# About 20 s on two cores.
set -euo pipefail

hodu=${1:?usage: baremetal.sh HODU PYTHON}
python=${2:?usage: baremetal.sh HODU PYTHON}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh"
suite=target_baremetal

# Each tool, or file, and the Debian package that has it.
while read -r tool package; do
    if [[ $tool == /* && -e $tool ]] || { [[ $tool != /* ]] && command -v "$tool" >/dev/null 2>&1; }; then
        continue
    fi
    echo "$suite: FAIL: $tool is missing (Debian package $package; tools/setup.sh installs it)"
    exit 1
done <<'TOOLS'
timeout coreutils
arm-none-eabi-gcc gcc-arm-none-eabi
arm-none-eabi-readelf binutils-arm-none-eabi
arm-none-eabi-objdump binutils-arm-none-eabi
arm-none-eabi-nm binutils-arm-none-eabi
riscv64-unknown-elf-gcc gcc-riscv64-unknown-elf
riscv64-unknown-elf-readelf binutils-riscv64-unknown-elf
riscv64-unknown-elf-objdump binutils-riscv64-unknown-elf
riscv64-unknown-elf-nm binutils-riscv64-unknown-elf
/usr/lib/picolibc/arm-none-eabi/picolibc.specs picolibc-arm-none-eabi
/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs picolibc-riscv64-unknown-elf
qemu-system-arm qemu-system-arm
qemu-system-riscv64 qemu-system-misc
qemu-system-riscv32 qemu-system-misc
TOOLS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# lib.sh's counts (suite_init would set them, with a case generator this
# suite does not have)
# shellcheck disable=SC2034
pass=0 fail=0

# Every bare-metal triple is listed; a CPU the target does not know is
# refused by name, and leaves no object behind.  (expect_error runs a
# command that must fail: not under set -e.)
set +e
expect_error "--target unknown-triple" "known targets are: .*arm-none-eabi, riscv64-unknown-elf, riscv32-unknown-elf" \
    "$hodu" --build "$work/none.onnx" --target unknown-triple -o "$work/out/none.o"
expect_error "--march cortex-a9 for arm-none-eabi" "'cortex-a9' is no CPU target arm-none-eabi knows (known: cortex-m4, cortex-m7)" \
    "$hodu" --build "$repo/examples/digits/digits.onnx" --target arm-none-eabi --march cortex-a9 -o "$work/out/cpu.o"
# The bare-metal header takes fixed shapes only: a run-time dim is refused
# by name (no libhodu_rt there to pass the run's dims).
"$python" - "$work/rtdim.onnx" <<'PY'
import sys
import onnx
from onnx import TensorProto, helper
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "rtdim",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 4])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
PY
expect_error "a run-time dim in a bare-metal header" "riscv64-unknown-elf: input 'x' has a size chosen when it runs" \
    "$hodu" --build "$work/rtdim.onnx" --target riscv64-unknown-elf --dim B=1..8 --emit-header "$work/out/rtdim.h" \
    -o "$work/out/rtdim.o"
expect_error "a bare-metal target in a package" "arm-none-eabi is bare metal: a package cannot hold its object" \
    "$hodu" --package "$repo/examples/digits/digits.onnx" --target x86_64-linux-gnu,arm-none-eabi \
    -o "$work/out/digits.hodupkg"
set -e
rm -f "$work/stderr" # lib.sh's bad shows it: it belongs to the cases above

# The reference: the x86-64 build of the same model on the same inputs.
digits=$repo/examples/digits/digits.onnx
"$hodu" --build "$digits" -o "$work/x86.so"
"$hodu" --run "$work/x86.so" --input "image=$repo/examples/digits/images.npy" --output-dir "$work/x86" >/dev/null

# The second model of the firmware: a small MLP (random weights, fixed
# seed), its input and onnxruntime's outputs as the oracle.
"$python" - "$work" <<'PY'
import os, sys
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
work = sys.argv[1]
rng = np.random.default_rng(12)
w1 = rng.standard_normal((16, 32)).astype(np.float32) * 0.5
b1 = rng.standard_normal(32).astype(np.float32) * 0.1
w2 = rng.standard_normal((32, 5)).astype(np.float32) * 0.5
b2 = rng.standard_normal(5).astype(np.float32) * 0.1
nodes = [helper.make_node("MatMul", ["x", "w1"], ["h0"]), helper.make_node("Add", ["h0", "b1"], ["h1"]),
         helper.make_node("Tanh", ["h1"], ["h"]), helper.make_node("Gemm", ["h", "w2", "b2"], ["z"]),
         helper.make_node("Softmax", ["z"], ["p"], axis=1)]
g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
                      [helper.make_tensor_value_info("p", TensorProto.FLOAT, [4, 5])],
                      [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
onnx.save(model, os.path.join(work, "mlp.onnx"))
x = rng.standard_normal((4, 16)).astype(np.float32)
np.save(os.path.join(work, "mlp_x.npy"), x)
sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
np.save(os.path.join(work, "mlp_ort.npy"), sess.run(None, {"x": x})[0])
PY
mlp=$work/mlp.onnx
"$hodu" --build "$mlp" -o "$work/mlp_x86.so"
"$hodu" --run "$work/mlp_x86.so" --input "x=$work/mlp_x.npy" --output-dir "$work/x86" >/dev/null

# The inputs as C, from the .npy files (exact: hex float literals).
"$python" - "$work/input.h" "image_in=$repo/examples/digits/images.npy" "mlp_in=$work/mlp_x.npy" <<'PY'
import sys
import numpy as np
with open(sys.argv[1], "w") as f:
    f.write("/* Generated by tests/targets/baremetal.sh from .npy files. */\n")
    def nested(a):
        if a.ndim == 0:
            return float(a).hex() + "f"
        return "{" + ",\n".join(nested(b) for b in a) + "}"
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        x = np.load(path).astype(np.float32)
        f.write("static float " + name + "".join(f"[{d}]" for d in x.shape) + " = " + nested(x) + ";\n")
PY

# The firmware's main: runs both models once, each from its own static
# arena, and prints each output's values as bits (no float printf needed).
cat >"$work/main.c" <<'C'
/* digits.h first: it must stand on its own */
#include "digits.h"
#include "mlp.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hodu_rt.h"
#include "input.h"

static uint8_t arena[DIGITS_WORKSPACE_BYTES] __attribute__((aligned(DIGITS_WORKSPACE_ALIGN)));
/* the bare libhodu_rt's instance: its record, the workspace and spare room */
static uint8_t rt_arena[DIGITS_WORKSPACE_BYTES + 4096] __attribute__((aligned(HODU_ABI_ALIGN)));
static float rt_logits[8][10];
static int64_t rt_label[8];
static uint8_t mlp_arena[MLP_WORKSPACE_BYTES] __attribute__((aligned(MLP_WORKSPACE_ALIGN)));
static float logits_out[8][10];
static int64_t label_out[8];
static float mlp_out[4][5];

/* One line "TAG BITS" a float, "TAG N" an integer. */
static void print_floats(const char *tag, const float *v, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        printf("%s %08lx\n", tag, (unsigned long)bits);
    }
}

static void print_ints(const char *tag, const int64_t *v, int n)
{
    for (int i = 0; i < n; i++)
        printf("%s %ld\n", tag, (long)v[i]);
}

static int check(const hodu_model_desc *m, size_t arena_bytes)
{
    if (m->abi_version != HODU_ABI_VERSION || m->workspace_bytes + m->worker_bytes > arena_bytes) {
        printf("bad descriptor: abi %u, workspace %lu + %lu > %lu\n", (unsigned)m->abi_version,
               (unsigned long)m->workspace_bytes, (unsigned long)m->worker_bytes, (unsigned long)arena_bytes);
        return 0;
    }
    return 1;
}

/* digits again, through libhodu_rt's bare flavour: the descriptor checked,
 * an instance in rt_arena, the tensors checked before the model runs. */
static int run_rt(void)
{
    hodu_error err;
    hodu_model *m;
    hodu_instance *inst;
    if (hodu_model_from_desc(digits_model_get_desc, &m, &err) != HODU_OK) {
        printf("rt: %s\n", err.message);
        return 0;
    }
    hodu_instance_options o = {.n_threads = 2, .arena = rt_arena, .arena_bytes = sizeof rt_arena};
    hodu_status st = hodu_instance_create_with(m, &o, &inst, &err);
    printf("rt-threads %d %s\n", (int)st, err.message);
    o.n_threads = 1;
    if (hodu_instance_create_with(m, &o, &inst, &err) != HODU_OK) {
        printf("rt: %s\n", err.message);
        return 0;
    }
    hodu_tensor in = {.dtype = HODU_DTYPE_F32, .rank = 4, .dims = {8, 1, 8, 8}, .data = image_in,
                      .nbytes = sizeof image_in};
    hodu_tensor out[2] = {
        {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {8, 10}, .data = rt_logits, .nbytes = sizeof rt_logits},
        {.dtype = HODU_DTYPE_I64, .rank = 1, .dims = {8}, .data = rt_label, .nbytes = sizeof rt_label}};
    hodu_tensor bad = in;
    bad.dims[0] = 7;
    st = hodu_instance_run(inst, &bad, 1, out, 2, &err);
    printf("rt-refused %d %s\n", (int)st, err.message);
    if (hodu_instance_run(inst, &in, 1, out, 2, &err) != HODU_OK) {
        printf("rt: %s\n", err.message);
        return 0;
    }
    print_floats("rt-logit", &rt_logits[0][0], 80);
    print_ints("rt-label", rt_label, 8);
    printf("rt-arena %lu\n", (unsigned long)hodu_model_arena_bytes(m));
    hodu_instance_destroy(inst);
    hodu_model_close(m);
    return 1;
}

int main(void)
{
    if (!check(digits_model_get_desc(), sizeof arena) || !check(mlp_model_get_desc(), sizeof mlp_arena))
        return 3;
    if (!run_rt())
        return 4;
    int rc = digits_run(arena, &image_in, &logits_out, &label_out);
    int mlp_rc = mlp_run(mlp_arena, &mlp_in, &mlp_out);
    if (rc != 0 || mlp_rc != 0) {
        printf("run returned %d, mlp %d\n", rc, mlp_rc);
        return 2;
    }
    print_floats("mlp", &mlp_out[0][0], 20);
    print_floats("logit", &logits_out[0][0], 80);
    print_ints("label", label_out, 8);
    printf("workspace %lu\n", (unsigned long)sizeof arena);
    return 0;
}
C

# board KIND TRIPLE MARCH CPU_FLAGS QEMU... : one bare-metal target.
board() {
    local kind=$1 triple=$2 march=$3 flags=$4
    shift 4
    local d=$work/$kind
    local tools=${triple/riscv32/riscv64}
    mkdir -p "$d"
    local march_args=()
    [ -n "$march" ] && march_args=(--march "$march")
    if ! "$hodu" --build "$digits" --target "$triple" "${march_args[@]}" -o "$d/digits.o" \
        --emit-header "$d/digits.h" 2>"$d/err"; then
        bad "$kind: build for $triple"
        cat "$d/err"
        return
    fi
    if ! "$hodu" --build "$mlp" --target "$triple" "${march_args[@]}" -o "$d/mlp.o" \
        --emit-header "$d/mlp.h" 2>"$d/err"; then
        bad "$kind: build of the MLP for $triple"
        cat "$d/err"
        return
    fi
    # one global symbol each, named after the header: two models link
    local globals
    globals=$("$tools-nm" -g --defined-only "$d/digits.o" "$d/mlp.o" | awk 'NF == 3 {print $3}' | sort | tr '\n' ' ')
    if [ "$globals" = "digits_model_get_desc mlp_model_get_desc " ]; then
        ok "$kind: each object's only global is its PREFIX_model_get_desc"
    else
        bad "$kind: the objects' globals are not just their entry points: $globals"
    fi

    # the object: relocatable, this machine's float ABI and instructions
    local desc attrs n
    desc=$("$tools-readelf" -h "$d/digits.o")
    "$tools-objdump" -d "$d/digits.o" >"$d/disasm"
    "$tools-objdump" -t "$d/digits.o" >"$d/symbols"
    case $kind in
    cortex-m4 | cortex-m7)
        attrs=$("$tools-readelf" -A "$d/digits.o")
        # readelf's names: fpv4-sp-d16 is VFPv4-D16 used single-precision
        # only; the M7's fpv5-d16 has doubles too (no HardFP_use tag then)
        local fpu="VFPv4-D16" sp_only=yes use="SP only"
        [ "$kind" = cortex-m7 ] && fpu="FPv5/FP-D16" sp_only=no use="SP and DP"
        local has_sp_only=no
        [[ $attrs == *"Tag_ABI_HardFP_use: SP only"* ]] && has_sp_only=yes
        if [[ $desc == *"REL (Relocatable file)"* && $desc == *"Machine:"*"ARM"* && $attrs == *"Tag_ABI_VFP_args: VFP registers"* &&
            $attrs == *"Tag_CPU_arch_profile: Microcontroller"* && $attrs == *"Tag_FP_arch: $fpu"* && $has_sp_only == "$sp_only" ]]; then
            ok "$kind: a relocatable Cortex-M object, hard float ($fpu, $use)"
        else
            bad "$kind: not a hard-float Cortex-M object ($fpu, $use expected): $(grep -E 'Type:|Machine:' <<<"$desc")"
            grep -E 'Tag_(CPU_arch_profile|FP_arch|ABI_VFP_args|ABI_HardFP_use)' <<<"$attrs" || true
        fi
        n=$(grep -cE '\sv(fma|mla|add|mul|max)\.f32\s' "$d/disasm" || true)
        if [ "$n" -gt 0 ]; then ok "$kind: $n FPU float instructions"; else bad "$kind: no FPU float instruction"; fi
        # flush-to-zero: run sets FPSCR's FZ and restores it
        if grep -qE 'vmsr\s+fpscr' "$d/disasm"; then
            ok "$kind: the run sets FPSCR (flush-to-zero)"
        else
            bad "$kind: no write of FPSCR (flush-to-zero)"
        fi
        ;;
    rv64 | rv32)
        local abi="double-float ABI" class=ELF64
        [ "$kind" = rv32 ] && abi="single-float ABI" class=ELF32
        if [[ $desc == *"REL (Relocatable file)"* && $desc == *"RISC-V"* && $desc == *"$abi"* && $desc == *"$class"* ]]; then
            ok "$kind: a relocatable RISC-V $class object ($abi)"
        else
            bad "$kind: not a $class RISC-V $abi object: $desc"
        fi
        n=$(grep -cE '\s(fmadd|fmul|fadd|fmax)\.s\s' "$d/disasm" || true)
        if [ "$n" -gt 0 ]; then ok "$kind: $n RISC-V float instructions"; else bad "$kind: no RISC-V float instruction"; fi
        ;;
    esac
    local undefined
    undefined=$("$tools-nm" -u "$d/digits.o" | awk '{print $2}' | tr '\n' ' ')
    if [[ " $undefined " =~ \ (malloc|calloc|realloc|free|aligned_alloc|posix_memalign|pthread_[a-z_]*)\  ]]; then
        bad "$kind: the object needs an allocator or threads: $undefined"
    else
        ok "$kind: no allocator, no threads (undefined: ${undefined:-none})"
    fi
    if grep -qE '\s\.rodata\S*\s.*\shodu_weights$' "$d/symbols"; then
        ok "$kind: the weights are in .rodata (flash)"
    else
        bad "$kind: hodu_weights is not in .rodata: $(grep hodu_weights "$d/symbols" || true)"
    fi
    if grep -qE "^#define DIGITS_WORKSPACE_BYTES [0-9]+u$" "$d/digits.h" && ! grep -q hodu_rt.h "$d/digits.h"; then
        ok "$kind: the header states the workspace and needs no libhodu_rt"
    else
        bad "$kind: the header has no workspace size or includes hodu_rt.h"
    fi

    # libhodu_rt's bare flavour for this CPU: no allocator, loader, threads
    # or stdio output among what it needs
    if ! "$repo/tools/bare_runtime.sh" "$triple" "$d/rt" "$march" >"$d/rt.log" 2>&1; then
        bad "$kind: tools/bare_runtime.sh $triple failed"
        cat "$d/rt.log"
        return
    fi
    undefined=$("$tools-nm" -u "$d/rt/libhodu_rt.a" | awk 'NF == 2 {print $2}' | sort -u | tr '\n' ' ')
    if [[ " $undefined " =~ \ (malloc|calloc|realloc|free|aligned_alloc|dlopen|dlsym|pthread_[a-z_]*|printf|puts|fopen|fwrite)\  ]]; then
        bad "$kind: the bare libhodu_rt.a needs ${BASH_REMATCH[1]}: $undefined"
    else
        ok "$kind: the bare libhodu_rt.a needs no heap, loader, threads or stdio output (undefined: $undefined)"
    fi

    # the firmware: picolibc's crt0 and semihosting, its linker script on
    # the machine's memory (flash for code and weights, RAM for the rest)
    local mem
    case $kind in
    cortex-m4 | cortex-m7) mem="--defsym=__flash=0x0 --defsym=__flash_size=0x400000 --defsym=__ram=0x20000000" ;;
    *) mem="--defsym=__flash=0x80000000 --defsym=__flash_size=0x400000 --defsym=__ram=0x80400000" ;;
    esac
    # shellcheck disable=SC2086
    if ! "$tools-gcc" $flags --specs=picolibc.specs --oslib=semihost --crt0=semihost -O2 -std=c11 -Wall -Wextra -Werror \
        -Werror=incompatible-pointer-types -I"$repo/include" -I"$work" -I"$d" "$work/main.c" "$d/digits.o" "$d/mlp.o" "$d/rt/libhodu_rt.a" \
        -Wl,${mem// /,},--defsym=__ram_size=0x400000,--defsym=__stack_size=0x10000 -lm -o "$d/fw.elf" \
        >"$d/link.log" 2>&1; then
        bad "$kind: the firmware does not link"
        cat "$d/link.log"
        return
    fi
    local start=$SECONDS
    if ! timeout 30 "$@" -nographic -monitor none -serial none -semihosting-config enable=on,target=native \
        -kernel "$d/fw.elf" >"$d/run.out" 2>&1 </dev/null; then
        bad "$kind: the firmware failed under ${1##*/} ($(tail -n 3 "$d/run.out"))"
        return
    fi
    local secs=$((SECONDS - start))
    if "$python" - "$d/run.out" "$work/x86" "$repo/tests/pylib" "$work/mlp_ort.npy" <<'PY'; then
import os, sys
import numpy as np
out, ref, pylib, mlp_ort = sys.argv[1:]
sys.path.insert(0, pylib)
from compare import relative_error
lines = open(out).read().split()
bits = [int(lines[i + 1], 16) for i in range(0, len(lines) - 1) if lines[i] == "logit"]
labels = [int(lines[i + 1]) for i in range(0, len(lines) - 1) if lines[i] == "label"]
logits = np.array(bits, dtype=np.uint32).view(np.float32).reshape(8, 10)
want_logits = np.load(os.path.join(ref, "logits.npy"))
want_label = np.load(os.path.join(ref, "label.npy"))
err = relative_error(logits, want_logits)
same = np.array_equal(np.array(labels), want_label)
mlp_bits = [int(lines[i + 1], 16) for i in range(0, len(lines) - 1) if lines[i] == "mlp"]
mlp = np.array(mlp_bits, dtype=np.uint32).view(np.float32).reshape(4, 5)
mlp_x86 = relative_error(mlp, np.load(os.path.join(ref, "p.npy")))
mlp_ort = relative_error(mlp, np.load(mlp_ort))
rt_bits = [int(lines[i + 1], 16) for i in range(0, len(lines) - 1) if lines[i] == "rt-logit"]
rt_labels = [int(lines[i + 1]) for i in range(0, len(lines) - 1) if lines[i] == "rt-label"]
rt_same = rt_bits == bits and rt_labels == labels and len(bits) == 80
said = {l.split(" ", 1)[0]: l for l in open(out).read().splitlines()}
# HODU_ERR_SHAPE (7) naming the shape; HODU_ERR_UNSUPPORTED (9) for threads
refused = said.get("rt-refused", "").startswith("rt-refused 7 ") and "shape [7,1,8,8]" in said.get("rt-refused", "")
threads = said.get("rt-threads", "").startswith("rt-threads 9 ")
print(f"  libhodu_rt: outputs {'bit-equal to the direct run' if rt_same else 'DIFFERENT from the direct run'}; "
      f"{said.get('rt-refused', 'no refusal')}; {said.get('rt-threads', 'no thread refusal')}; "
      f"{said.get('rt-arena', 'no arena size')} bytes")
print(f"  labels {labels} ({'the same' if same else 'x86-64: ' + str(want_label.tolist())}); "
      f"logits max error {err:.2e} relative to the largest magnitude; "
      f"MLP {mlp_x86:.2e} from x86-64, {mlp_ort:.2e} from onnxruntime")
sys.exit(0 if same and err <= 1e-5 and mlp_x86 <= 1e-5 and mlp_ort <= 1e-5 and rt_same and refused and threads else 1)
PY
        ok "$kind: under qemu ($secs s, $(grep -o 'workspace [0-9]*' "$d/run.out") bytes) both models' outputs match"
    else
        bad "$kind: the outputs differ from x86-64 or onnxruntime"
        head -n 5 "$d/run.out"
    fi
}

m4="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb"
m7="-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -mthumb"
board cortex-m4 arm-none-eabi "" "$m4" qemu-system-arm -M mps2-an386 -cpu cortex-m4
board cortex-m7 arm-none-eabi cortex-m7 "$m7" qemu-system-arm -M mps2-an500 -cpu cortex-m7
board rv64 riscv64-unknown-elf "" "-march=rv64gc -mabi=lp64d -mcmodel=medany" qemu-system-riscv64 -M virt -bios none
board rv32 riscv32-unknown-elf "" "-march=rv32imafc -mabi=ilp32f -mcmodel=medany" qemu-system-riscv32 -M virt -bios none

suite_end
