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

/* --- run-time `if` ------------------------------------------------------
 * A branch is built in the graph like any other code, then moved into a
 * subgraph of its own: take a mark before the branch, and after it
 * lw_branch moves every value and node made since the mark.  Values from
 * before the mark that the branch reads become captures (ir.h,
 * "Subgraphs"): the If node's operands after the condition, in the order
 * of `caps`, and the inputs of each branch in the same order.  The checker
 * never holds an index into a moved region afterwards. */
typedef struct lw_mark {
    size_t values, nodes;
} lw_mark;
typedef struct lw_caps { /* values of the graph the branches read, in order */
    int *v;
    size_t n, cap;
    size_t formal; /* the subgraph's inputs before its captures (Loop: 2 + carried) */
} lw_caps;
lw_mark lw_mark_now(const hs_lower *L);
/* Moves what was made since `m` into a new subgraph named `name` (NULL
 * with no graph).  keep[i], values of the graph, become the subgraph's
 * values standing for them (an outer one captured). */
ir_graph *lw_branch(hs_lower *L, lw_mark m, const char *name, lw_caps *caps, int *keep, size_t n_keep);
/* A value with no producer, for a loop body's formal inputs (-1 with no
 * graph). */
int lw_value(hs_lower *L, const char *name, hs_span at);
/* lw_branch for a Loop body: formal[i], values made since `m`, become its
 * first inputs, before any capture (`caps` starts empty). */
ir_graph *lw_body(hs_lower *L, lw_mark m, lw_caps *caps, const int *formal, size_t n_formal, int *keep, size_t n_keep);
/* The subgraph's value for outer value `v`, captured when new. */
int lw_capture(hs_lower *L, ir_graph *sub, lw_caps *caps, int v);
/* Appends subgraph value `v` to the subgraph's results. */
void lw_result(hs_lower *L, ir_graph *sub, int v, hs_span at);
/* The If node reading `cond` with the two branches (owned by it from here
 * on, each with n_out results in matching order) and the captures; its
 * n_out results go to outs (-1 with no graph). */
void lw_if(hs_lower *L, int cond, ir_graph *then_g, ir_graph *else_g, lw_caps *caps, size_t n_out, hs_span at,
           int *outs);

/* The Loop node: trip count `trip` (one int64), no condition, carried
 * values init[0..n) and the captures; `body` gives the condition and n
 * carried values.  The final carried values go to outs (-1 with no
 * graph). */
void lw_loop(hs_lower *L, int trip, const int *init, size_t n, ir_graph *body, lw_caps *caps, hs_span at, int *outs);

#endif /* HODU_SCRIPT_LOWER_H */
