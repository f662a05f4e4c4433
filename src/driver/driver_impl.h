/*
 * driver/driver_impl.h - what the driver's files share (its public face is
 * include/hodu.h).
 */
#ifndef HODU_DRIVER_IMPL_H
#define HODU_DRIVER_IMPL_H

#include <stdint.h>

#include "hodu.h"
#include "ir/ir.h"
#include "util/util.h"

/* `hodu --build --emit-header`: a C header that types a compiled model's
 * inputs and outputs (header.c). */
typedef struct header_spec {
    const char *path;   /* the header to write: its name makes the guard and the default prefix */
    const char *prefix; /* the prefix of every name it declares; NULL: from the file name */
    const char *model;  /* the model file, named (without its folders) in the header's comment */
    /* A bare-metal target's triple (backend/targets.h), NULL otherwise: the
     * header then calls the model's own entry point, without libhodu_rt,
     * with a caller's workspace of workspace_bytes. */
    const char *bare_target;
    uint64_t workspace_bytes;
} header_spec;

/* The prefix of the header's names: h->prefix when it is a C identifier
 * (NULL after reporting an error otherwise), else one made from the file
 * name.  A bare-metal object's entry point is PREFIX_model_get_desc.  The
 * caller frees it. */
char *driver_header_prefix(const header_spec *h, hd_diag *d);

/* The header's text for the final graph `g` (after the passes); NULL after
 * reporting an error (a prefix that is no C identifier, an input whose
 * shape is not known).  The caller frees it. */
char *driver_header_text(const ir_graph *g, const header_spec *h, hd_diag *d);

/* hodu_build, for o->input_path (given NULL) or for a graph already in
 * memory (`given`, consumed: the builder's, src/builder).  0 or 1, after
 * sending the diagnostics where o says. */
int driver_build(const hodu_build_options *o, ir_graph *given);

#endif /* HODU_DRIVER_IMPL_H */
