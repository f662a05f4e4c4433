/*
 * backend/targets.h - the machines `hodu --build --target TRIPLE` builds
 * for: each triple's C compiler, its default -march, and the Debian package
 * that provides the compiler (named when it is missing).
 *
 * The generated code and the kernel header are compiled by the target's
 * compiler, so every ISA choice in them (hodu_kernels.h's vector width,
 * NEON or AVX paths) follows that compiler's predefined macros, never the
 * build machine's CPU.
 */
#ifndef HODU_BACKEND_TARGETS_H
#define HODU_BACKEND_TARGETS_H

#include <stdbool.h>

#include "util/util.h"

typedef struct hd_target {
    const char *triple;  /* "aarch64-linux-gnu" */
    const char *cc;      /* its C compiler when cross-compiling */
    const char *march;   /* -march when cross-compiling and none is given */
    const char *package; /* the Debian package that provides cc */
    const char *machine; /* what `readelf -h` calls the machine, for docs and tests */
} hd_target;

/* The build machine's own triple (the default target). */
const char *hd_target_host(void);

/* The table entry of triple (NULL or "": the host's); NULL after reporting
 * an error that lists the known triples. */
const hd_target *hd_target_find(const char *triple, hd_diag *d);

/* True when t is not the build machine's architecture. */
bool hd_target_is_cross(const hd_target *t);

/* "x86_64-linux-gnu, aarch64-linux-gnu, ...": the known triples (static). */
const char *hd_target_list(void);

/* t's C compiler command (malloc'd): t->cc, except that a zig one not on
 * $PATH becomes PyPI ziglang's zig binary when a virtual environment on
 * $PATH (or $VIRTUAL_ENV) has it installed. */
char *hd_target_cc(const hd_target *t);

/* True for a bare-metal target (no OS, no malloc): its build is a
 * relocatable object for the caller's firmware, not a shared library, and
 * hd_target_cpu_flags gives its CPU flags (see docs/targets.md). */
bool hd_target_is_bare(const hd_target *t);

/* A bare-metal target's compiler flags for CPU `cpu` (NULL or "native":
 * the table's default), space separated, static; NULL after reporting an
 * error that lists the CPUs the target knows. */
const char *hd_target_cpu_flags(const hd_target *t, const char *cpu, hd_diag *d);

/* True when the command's first word names an executable (a path, or a
 * name found on $PATH). */
bool hd_command_exists(const char *command);

#endif
