/*
 * control.h - the control-flow family's public semantic face
 * (src/ops/control.c): If, Loop and Scan, the nodes that own subgraphs
 * (ir.h, "Subgraphs").
 *
 * Shapes stay static: If's branches give equal shapes (unless the condition
 * is a build-time constant: then the taken branch decides), a Loop's or a
 * Scan's carried values keep their shape from one iteration to the next,
 * and scan outputs have a length known at build time.  A Loop whose length
 * is decided when the model runs (trip count or condition an input) gets
 * that length from the scan outputs' declared shape; its lowering then
 * checks, after the loop, that it ran exactly that many iterations.
 * Run-time dims (--dim) of a Loop's or Scan's operands are the body's too
 * (cf_share_symbol): a carried value or state keeps them, a Scan's length
 * may be one, and the node runs whole with the sizes of the run.
 *
 * The getters expect a node that inference accepted.
 */
#ifndef HODU_OPS_CONTROL_H
#define HODU_OPS_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Loop: operands M (trip count), cond, carried values..., captures;
 * results: carried values..., scan outputs...; the body takes iteration,
 * condition, carried values..., captures and gives condition, carried
 * values..., scan elements... */
typedef struct cf_loop {
    bool has_trip, has_cond; /* M and cond given (a missing one never stops the loop) */
    size_t n_carried, n_scan;
    int64_t scan_len; /* rows of every scan output (n_scan > 0) */
} cf_loop;
bool cf_loop_of(const ir_graph *g, int node, cf_loop *p);
/* False when the condition cannot stop the loop: omitted, or true at the
 * start and kept true by the body (a constant true, or the body's
 * condition input passed through). */
bool cf_loop_cond_may_end(const ir_graph *g, int node);

/* Scan: operands (opset 8: sequence_lens first, omitted) states...,
 * scan inputs..., captures; results: states..., scan outputs...; the body
 * takes states..., scan elements..., captures and gives states..., scan
 * elements....  Opset 8 puts a batch axis first on every operand and result
 * and runs the scan once per batch entry. */
typedef struct cf_scan {
    bool v8;
    size_t first; /* node input of the first state */
    size_t n_state, n_in, n_out;
    int64_t batch;  /* opset 8: the batch size; 1 otherwise */
    int64_t len;    /* iterations (the top of the range when len_dim.rt) */
    ir_dim len_dim; /* the scan inputs' length: a run-time dim, or static */
} cf_scan;
bool cf_scan_of(const ir_graph *g, int node, cf_scan *p);
/* The axis scan input k (output false) or scan output k runs along,
 * normalised, counted without opset 8's batch axis, and whether it runs
 * backwards. */
void cf_scan_axis(const ir_graph *g, int node, bool output, size_t k, int *axis, bool *reverse);

/* Makes run-time dim `sym` of g one of subgraph `sub` too, with the same
 * range (the subgraph's code reads its size from the caller's), and
 * returns sub's copy of the name; NULL when g gives it no range. */
const char *cf_share_symbol(ir_graph *sub, const ir_graph *g, const char *sym);

/* If's condition as a build-time constant: 1 true, 0 false, -1 unknown. */
int cf_if_const_cond(const ir_graph *g, int node);

#endif /* HODU_OPS_CONTROL_H */
