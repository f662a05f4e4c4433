/*
 * pool.h - the pooling ops' public semantic face (src/ops/nn_pool.c): the
 * plans a backend reads to lower MaxPool, AveragePool, LpPool, the global
 * pools and MaxUnpool.
 *
 * Every plan is computed from the node's static shapes and attributes by the
 * same code shape inference runs, so a backend never re-derives window
 * geometry.  The getters expect a node that inference accepted; they return
 * false (reporting nothing) for one it would refuse.
 */
#ifndef HODU_OPS_POOL_H
#define HODU_OPS_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "nn.h"

/* What a window (or a global pool) reduces to. */
typedef enum pool_kind {
    POOL_MAX, /* MaxPool, GlobalMaxPool: NaNs are skipped */
    POOL_AVG, /* AveragePool, GlobalAveragePool */
    POOL_LP   /* LpPool, GlobalLpPool: (sum |x|^p)^(1/p) */
} pool_kind;

/* The reduction of a pool op_id (OP_MAX_POOL, OP_GLOBAL_LP_POOL, ...). */
pool_kind pool_kind_of(int op);

/* A sliding-window pool over X [N, C, D1..Dnd] -> Y [N, C, O1..Ond], with
 * the window w (nn.h): output position o along spatial dim i reads input
 * indices o * s[i] - pb[i] + k * d[i] for k in [0, k[i]); indices outside
 * [0, in[i]) are padding.  pe[i] is the trailing padding (what ceil_mode
 * windows run past it is not padding: include_pad does not count it). */
typedef struct pool_plan {
    pool_kind kind;
    hodu_dtype dtype; /* of X and Y */
    nn_window w;
    int64_t nc;                  /* N * C: the planes pooled independently */
    int64_t in_plane, out_plane; /* elements of one input / output plane */
    bool indices;                /* MaxPool's Indices output is wanted */
    bool col_major;              /* storage_order 1: Indices count the spatial part column-major */
    bool include_pad;            /* AveragePool count_include_pad: padded positions count in the divisor */
    int64_t p;                   /* LpPool's p (2 when absent) */
} pool_plan;

bool pool_plan_get(const ir_graph *g, int node, pool_plan *p);

/* The output positions [*lo, *hi) along spatial dim `axis` whose kernel tap
 * `tap` reads inside the input (not padding); the tap reads input index
 * o * s[axis] + *off for output index o. */
void pool_tap_range(const pool_plan *p, int axis, int64_t tap, int64_t *lo, int64_t *hi, int64_t *off);

/* A global pool over X [N, C, D1..Dn] -> Y [N, C, 1, ..., 1]. */
typedef struct pool_global_plan {
    pool_kind kind;
    hodu_dtype dtype;
    int64_t nc;    /* N * C */
    int64_t plane; /* elements pooled per output: D1 * ... * Dn */
    int64_t p;     /* GlobalLpPool's p (2 when absent) */
} pool_global_plan;

bool pool_global_plan_get(const ir_graph *g, int node, pool_global_plan *p);

/* MaxUnpool (X, I, output_shape?) -> Y: zeros with Y.flat[I] = X.  Indices
 * count positions in the default output shape (the inverse of the pool's
 * window arithmetic); an explicit output_shape may differ from it, and then
 * every index is re-based coordinate by coordinate, dropping those that
 * fall outside Y. */
typedef struct pool_unpool_plan {
    int rank;
    int64_t count;                     /* elements of X (and I) */
    int64_t index_dims[HODU_MAX_RANK]; /* the default output shape indices count in */
    int64_t index_total;               /* product of index_dims */
    int64_t out_dims[HODU_MAX_RANK];   /* Y's shape */
    int64_t out_total;                 /* elements of Y */
    bool same;                         /* index_dims == out_dims: indices are Y's flat offsets */
    bool shape_at_run_time;            /* output_shape is checked against out_dims when the model runs */
} pool_unpool_plan;

bool pool_unpool_plan_get(const ir_graph *g, int node, pool_unpool_plan *p);

#endif /* HODU_OPS_POOL_H */
