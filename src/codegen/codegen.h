/*
 * codegen.h - the native backend: C source generation and the system C
 * compiler.
 *
 * codegen_emit turns a planned graph into one C translation unit (model.c)
 * plus the weight blob.  Every node becomes a static function whose shapes
 * are literals; the run function calls them in schedule order with pointers
 * into the caller's buffers, the arena and the blob.  The blob is linked in
 * through an assembler `.incbin`, never as C array literals.
 *
 * codegen_compile writes the sources (model.c, weights.bin, weights.S, and
 * the kernel layer and ABI headers the hodu binary carries) into a folder and
 * runs the system compiler, producing the shared library through a temporary
 * file that is renamed into place only on success.
 */
#ifndef HODU_CODEGEN_H
#define HODU_CODEGEN_H

#include <stdbool.h>

#include "ir/ir.h"
#include "passes/passes.h"

typedef struct codegen_output {
    hd_buf source;     /* model.c */
    uint8_t *weights;  /* weight blob, plan->weights_bytes long */
    uint64_t weights_bytes;
} codegen_output;

bool codegen_emit(const ir_graph *g, const mem_plan *plan, codegen_output *out, hd_diag *d);
void codegen_output_free(codegen_output *out);

typedef struct codegen_cc_options {
    const char *cc;       /* compiler command; NULL: $CC, else "cc" */
    const char *cflags;   /* extra flags, space separated; may be NULL */
    int opt_level;        /* -O level */
    const char *march;    /* -march value; NULL or "generic": none */
    const char *src_dir;  /* keep sources here (--emit-c); NULL: temp dir */
    const char *output;   /* the shared library to produce; NULL: none */
    bool verbose;         /* print the compiler command */
} codegen_cc_options;

bool codegen_compile(const codegen_output *gen, const codegen_cc_options *opts, hd_diag *d);

#endif /* HODU_CODEGEN_H */
