/*
 * backend/targets.c - the target table (see targets.h).
 */
#include "backend/targets.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const hd_target targets[] = {
    {"x86_64-linux-gnu", "x86_64-linux-gnu-gcc", "x86-64", "gcc-x86-64-linux-gnu", "Advanced Micro Devices X86-64"},
    {"aarch64-linux-gnu", "aarch64-linux-gnu-gcc", "armv8-a", "gcc-aarch64-linux-gnu", "AArch64"},
    /* rv64gc: no vector extension assumed (see docs/targets.md). */
    {"riscv64-linux-gnu", "riscv64-linux-gnu-gcc", "rv64gc", "gcc-riscv64-linux-gnu", "RISC-V"},
    /* A Windows DLL (PE32+), built by mingw-w64. */
    {"x86_64-w64-mingw32", "x86_64-w64-mingw32-gcc", "x86-64", "gcc-mingw-w64-x86-64", "x86-64 PE32+ DLL"},
    /* macOS .dylib (Mach-O), linked by zig cc against zig's libSystem
     * stubs; hd_target_cc finds PyPI's ziglang when zig is not on $PATH. */
    {"x86_64-apple-darwin", "zig cc -target x86_64-macos", "x86_64", "PyPI ziglang", "Mach-O x86_64 dylib"},
    {"aarch64-apple-darwin", "zig cc -target aarch64-macos", "apple_m1", "PyPI ziglang", "Mach-O arm64 dylib"},
    /* Bare metal (bare_cpus below): a relocatable object. */
    {"arm-none-eabi", "arm-none-eabi-gcc", "cortex-m4", "gcc-arm-none-eabi", "ARM"},
    {"riscv64-unknown-elf", "riscv64-unknown-elf-gcc", "rv64gc", "gcc-riscv64-unknown-elf", "RISC-V"},
    /* Debian's riscv64-unknown-elf-gcc builds rv32 code too. */
    {"riscv32-unknown-elf", "riscv64-unknown-elf-gcc", "rv32imafc", "gcc-riscv64-unknown-elf", "RISC-V"},
};

/* The CPUs a bare-metal target knows, each with the flags that pick its
 * instruction set, FPU and float ABI (one multilib of the toolchain and of
 * picolibc, whose headers the build uses).  Hard-float throughout: the
 * generated code is float arithmetic.  medany: code and data may sit
 * anywhere, as on qemu's virt machine at 0x80000000. */
static const struct {
    const char *triple, *cpu, *flags;
} bare_cpus[] = {
    {"arm-none-eabi", "cortex-m4", "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb"},
    {"arm-none-eabi", "cortex-m7", "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -mthumb"},
    {"riscv64-unknown-elf", "rv64gc", "-march=rv64gc -mabi=lp64d -mcmodel=medany"},
    {"riscv32-unknown-elf", "rv32imafc", "-march=rv32imafc -mabi=ilp32f -mcmodel=medany"},
};

const char *hd_target_host(void)
{
#if defined(__x86_64__)
    return "x86_64-linux-gnu";
#elif defined(__aarch64__)
    return "aarch64-linux-gnu";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64-linux-gnu";
#else
    return "";
#endif
}

const char *hd_target_list(void)
{
    return "x86_64-linux-gnu, aarch64-linux-gnu, riscv64-linux-gnu, x86_64-w64-mingw32, x86_64-apple-darwin, "
           "aarch64-apple-darwin, arm-none-eabi, riscv64-unknown-elf, riscv32-unknown-elf";
}

/* PyPI's ziglang keeps its zig binary in site-packages/ziglang: look next
 * to each $PATH entry (a virtual environment's bin/) and in $VIRTUAL_ENV. */
static char *find_pypi_zig(void)
{
    const char *path = getenv("PATH");
    const char *venv = getenv("VIRTUAL_ENV");
    char *dirs = hd_xasprintf("%s%s%s", venv && *venv ? venv : "", venv && *venv ? "/bin:" : "", path ? path : "");
    char *found = NULL;
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *pattern = hd_xasprintf("%s/../lib/python3*/site-packages/ziglang/zig", dir);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc && !found; i++)
                if (access(g.gl_pathv[i], X_OK) == 0)
                    found = hd_xstrdup(g.gl_pathv[i]);
            globfree(&g);
        }
        free(pattern);
    }
    free(dirs);
    return found;
}

char *hd_target_cc(const hd_target *t)
{
    if (strncmp(t->cc, "zig ", 4) != 0 || hd_command_exists(t->cc))
        return hd_xstrdup(t->cc);
    char *zig = find_pypi_zig();
    if (!zig)
        return hd_xstrdup(t->cc);
    char *cc = hd_xasprintf("%s%s", zig, t->cc + 3);
    free(zig);
    return cc;
}

const hd_target *hd_target_find(const char *triple, hd_diag *d)
{
    if (!triple || !*triple)
        triple = hd_target_host();
    if (strcmp(triple, "arm64-apple-darwin") == 0) /* Apple's spelling */
        triple = "aarch64-apple-darwin";
    for (size_t i = 0; i < HD_ARRAY_LEN(targets); i++)
        if (strcmp(targets[i].triple, triple) == 0)
            return &targets[i];
    if (*triple)
        hd_error(d, "unknown target '%s'; the known targets are: %s", triple, hd_target_list());
    else
        hd_error(d, "the build machine is none of the known targets (%s): name one with --target", hd_target_list());
    return NULL;
}

bool hd_target_is_cross(const hd_target *t) { return strcmp(t->triple, hd_target_host()) != 0; }

bool hd_target_is_bare(const hd_target *t)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(bare_cpus); i++)
        if (strcmp(bare_cpus[i].triple, t->triple) == 0)
            return true;
    return false;
}

const char *hd_target_cpu_flags(const hd_target *t, const char *cpu, hd_diag *d)
{
    if (!cpu || !*cpu || strcmp(cpu, "native") == 0)
        cpu = t->march;
    for (size_t i = 0; i < HD_ARRAY_LEN(bare_cpus); i++)
        if (strcmp(bare_cpus[i].triple, t->triple) == 0 && strcmp(bare_cpus[i].cpu, cpu) == 0)
            return bare_cpus[i].flags;
    hd_buf known;
    hd_buf_init(&known);
    for (size_t i = 0; i < HD_ARRAY_LEN(bare_cpus); i++)
        if (strcmp(bare_cpus[i].triple, t->triple) == 0)
            hd_buf_printf(&known, "%s%s", known.len ? ", " : "", bare_cpus[i].cpu);
    hd_error(d, "--march '%s' is no CPU target %s knows (known: %s)", cpu, t->triple, known.data ? known.data : "none");
    hd_buf_free(&known);
    return NULL;
}

bool hd_command_exists(const char *command)
{
    size_t n = strcspn(command, " \t");
    if (n == 0)
        return false;
    char *name = hd_xasprintf("%.*s", (int)n, command);
    bool found = false;
    if (strchr(name, '/')) {
        found = access(name, X_OK) == 0;
    } else {
        const char *path = getenv("PATH");
        if (!path || !*path)
            path = "/usr/local/bin:/usr/bin:/bin";
        while (!found && *path) {
            size_t len = strcspn(path, ":");
            char *full = hd_xasprintf("%.*s/%s", (int)(len ? len : 1), len ? path : ".", name);
            found = access(full, X_OK) == 0;
            free(full);
            path += len + (path[len] == ':');
        }
    }
    free(name);
    return found;
}
