/*
 * script/lower.h - emitting IR for the checker (lower.c).
 *
 * The checker decides every type and shape; these calls only build nodes,
 * constants and inputs.  With no graph (hodu --check) they build nothing
 * and return -1, so checking and lowering are the same walk.
 */
#ifndef HODU_SCRIPT_LOWER_H
#define HODU_SCRIPT_LOWER_H

#include "ir/ir.h"
#include "script/ast.h"

typedef struct hs_lower {
    ir_graph *g;      /* NULL: check only */
    const char *file; /* interned per source, see lw_loc */
    const char **files;
    size_t n_nodes;
} hs_lower;

/* A node with one output; returns the output value. */
int lw_node(hs_lower *L, const char *op, const int *ins, size_t n, hs_span at, const char *name);
void lw_attr_int(hs_lower *L, int value, const char *name, int64_t v);
void lw_attr_float(hs_lower *L, int value, const char *name, double v);
void lw_attr_ints(hs_lower *L, int value, const char *name, const int64_t *v, size_t n);
/* A scalar constant of `dtype` holding v. */
int lw_scalar(hs_lower *L, hodu_dtype dtype, double v, hs_span at);
/* A 1-D int64 constant. */
int lw_i64s(hs_lower *L, const int64_t *v, size_t n, hs_span at);
/* Sets the location of a value (inputs, constants). */
void lw_set_loc(hs_lower *L, int value, hs_span at);

#endif /* HODU_SCRIPT_LOWER_H */
