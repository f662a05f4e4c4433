/*
 * ops/reduce.h - the reduce family's public semantic face for backends:
 * the plans of reductions, scans, softmax, normalizations and losses.
 *
 * Each plan is what code generation needs to know about one node, worked
 * out from the node's shapes and attributes by the family (src/ops/reduce.c)
 * once; a backend reads it and never recomputes geometry.  Host-side folding
 * walks the same plan, so folded values equal run-time values.
 *
 * Every getter takes a node whose inference succeeded, fills *p and returns
 * true; false means the node cannot be planned (a value that should be a
 * build-time constant is not), which inference has already reported.
 */
#ifndef HODU_OPS_REDUCE_H
#define HODU_OPS_REDUCE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* ------------------------------------------------------------------------ */
/* Canonical views                                                          */
/* ------------------------------------------------------------------------ */

/* A nest of loops: loop k counts to size[k]; stride[k] is its step through
 * the input and ostride[k] through the output, in elements. */
typedef struct reduce_loops {
    int n;
    int64_t size[HODU_MAX_RANK];
    int64_t stride[HODU_MAX_RANK];
    int64_t ostride[HODU_MAX_RANK];
} reduce_loops;

/* Canonical view of a reduction over a row-major tensor: size-1 dims are
 * dropped and neighbouring dims that play the same role (reduced or kept)
 * are merged.  `outer` enumerates the kept dims (its ostrides are the
 * output's), `red` the reduced ones.  `inner` is the size of the trailing
 * contiguous block of kept dims when the view was built with want_inner
 * (then `outer` leaves it out), else 1.  out_numel and red_numel count the
 * kept and the reduced elements, size-1 and empty dims included. */
typedef struct reduce_view {
    reduce_loops outer, red;
    int64_t inner;
    int64_t out_numel, red_numel;
} reduce_view;

/* Builds the view of a reduction of `dims` (rank `rank`) over the axes set
 * in `mask`. */
void reduce_view_build(const int64_t *dims, int rank, const bool *mask, bool want_inner, reduce_view *v);

/* The [outer][len][inner] view of a tensor around one axis. */
typedef struct reduce_axis_view {
    int axis;      /* normalised (>= 0) */
    int64_t outer; /* product of the dims before the axis */
    int64_t len;   /* the axis' size */
    int64_t inner; /* product of the dims after it */
} reduce_axis_view;

/* ------------------------------------------------------------------------ */
/* Reduce{Sum,Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare}          */
/* ------------------------------------------------------------------------ */

typedef enum reduce_kind {
    RED_SUM,
    RED_MEAN,
    RED_MAX,
    RED_MIN,
    RED_PROD,
    RED_L1,
    RED_L2,
    RED_LOG_SUM,
    RED_LOG_SUM_EXP,
    RED_SUM_SQUARE
} reduce_kind;

typedef struct reduce_plan {
    reduce_kind kind;
    /* Empty axes with noop_with_empty_axes: the output is the input. */
    bool identity;
    bool mask[HODU_MAX_RANK]; /* the reduced axes of the input */
    /* The view of the input.  It keeps an inner block except for
     * ReduceLogSumExp, whose two passes (max, then sum of exp) run over one
     * output element at a time. */
    reduce_view view;
} reduce_plan;

/* The plan; when the axes come at run time, the one for the first of
 * reduce_runtime_axes' choices (every choice gives the same output). */
bool reduce_plan_of(const ir_graph *g, int node, reduce_plan *p);

/* A Reduce whose axes come at run time (a non-empty int64 vector) builds
 * for the output shape the model declares (op_value_declared_shape).  Each
 * set of as many distinct axes as the vector holds that gives that shape is
 * allowed; sets that lead to the same view (they differ only in dims of
 * size 1) share one loop nest.  The lowering reads the axes when the model
 * runs, runs the nest of their set, and stops the run on any other set. */
#define REDUCE_MAX_CHOICES 8
typedef struct reduce_axes_choice {
    int n;                                        /* loop nests, 1..REDUCE_MAX_CHOICES */
    bool mask[REDUCE_MAX_CHOICES][HODU_MAX_RANK]; /* one axis set per nest */
    signed char nest_of[1u << HODU_MAX_RANK];     /* axis set (bit i: axis i) -> nest, or -1 */
} reduce_axes_choice;

/* False when the axes are not a run-time vector, or the declared shape
 * fits no axis set or more nests than REDUCE_MAX_CHOICES. */
bool reduce_runtime_axes(const ir_graph *g, int node, reduce_axes_choice *ch);

/* ------------------------------------------------------------------------ */
/* ArgMax, ArgMin, CumSum, CumProd, TopK                                    */
/* ------------------------------------------------------------------------ */

typedef struct reduce_arg_plan {
    reduce_axis_view v;
    bool is_max;      /* ArgMax (else ArgMin) */
    bool select_last; /* ties (and NaNs) go to the last index */
} reduce_arg_plan;

bool reduce_arg_plan_of(const ir_graph *g, int node, reduce_arg_plan *p);

typedef struct reduce_cum_plan {
    reduce_axis_view v;
    bool prod;             /* CumProd (else CumSum) */
    bool exclusive;        /* leave the element itself out */
    bool reverse;          /* run from the end of the axis */
    bool axis_at_run_time; /* the axis is an input's value when the model runs */
} reduce_cum_plan;

/* The plan; when the axis comes at run time, the one for axis run_axis
 * (0 <= run_axis < rank).  False on an inconsistent node. */
bool reduce_cum_plan_of(const ir_graph *g, int node, int run_axis, reduce_cum_plan *p);

typedef struct reduce_topk_plan {
    reduce_axis_view v; /* of the input */
    int64_t k;          /* elements kept along the axis (with run_k: at most) */
    bool run_k;         /* K is read when the model runs and decides the size */
    bool largest;       /* the k largest (else the k smallest) */
} reduce_topk_plan;

bool reduce_topk_plan_of(const ir_graph *g, int node, reduce_topk_plan *p);

/* ------------------------------------------------------------------------ */
/* Softmax, LogSoftmax, Hardmax                                             */
/* ------------------------------------------------------------------------ */

typedef enum reduce_softmax_kind { RED_SOFTMAX, RED_LOG_SOFTMAX, RED_HARDMAX } reduce_softmax_kind;

/* The op runs over `len` elements `inner` apart, for each of `outer` rows.
 * Before opset 13 the input is viewed as 2-D [dims[:axis], dims[axis:]]
 * (inner 1); from 13 on the op runs along the single axis.  A scalar is one
 * row of one element. */
typedef struct reduce_softmax_plan {
    reduce_softmax_kind kind;
    int64_t outer, len, inner;
} reduce_softmax_plan;

bool reduce_softmax_plan_of(const ir_graph *g, int node, reduce_softmax_plan *p);

/* ------------------------------------------------------------------------ */
/* Normalizations                                                           */
/* ------------------------------------------------------------------------ */

/* LayerNormalization and RMSNormalization: `rows` rows of `len` elements
 * (the dims from `axis` on) normalised one by one.  Scale (input 1) and B
 * (input 2, LayerNormalization only) either span the row or hold one
 * value (*_one). */
typedef struct reduce_norm_plan {
    bool layer; /* LayerNormalization (else RMSNormalization) */
    int axis;
    int64_t rows, len;
    double epsilon;
    bool scale_one, bias_one;
} reduce_norm_plan;

bool reduce_norm_plan_of(const ir_graph *g, int node, reduce_norm_plan *p);

/* BatchNormalization over X [n, c, spatial...] (spatial: the product of the
 * dims after C).  Parameters are per channel, or per (channel, position)
 * when per_elem (spatial=0 before opset 9). */
typedef struct reduce_batchnorm_plan {
    int64_t n, c, spatial;
    double epsilon, momentum;
    bool training; /* normalise with batch statistics, update running ones */
    bool per_elem;
} reduce_batchnorm_plan;

bool reduce_batchnorm_plan_of(const ir_graph *g, int node, reduce_batchnorm_plan *p);

/* InstanceNormalization (groups == c) and GroupNormalization over X
 * [n, c, spatial...]: each (batch, group) normalises len = group_c * spatial
 * contiguous elements.  Scale and bias are per channel (*_per_channel) or
 * per group. */
typedef struct reduce_groupnorm_plan {
    int64_t n, c, spatial, groups, group_c, len;
    double epsilon;
    bool scale_per_channel, bias_per_channel;
} reduce_groupnorm_plan;

bool reduce_groupnorm_plan_of(const ir_graph *g, int node, reduce_groupnorm_plan *p);

typedef struct reduce_lpnorm_plan {
    reduce_axis_view v;
    bool l1; /* p = 1 (else p = 2) */
} reduce_lpnorm_plan;

bool reduce_lpnorm_plan_of(const ir_graph *g, int node, reduce_lpnorm_plan *p);

/* MeanVarianceNormalization: statistics over the `axes` (default 0, 2, 3),
 * in the view of that reduction (no inner block). */
typedef struct reduce_mvn_plan {
    reduce_view view;
} reduce_mvn_plan;

bool reduce_mvn_plan_of(const ir_graph *g, int node, reduce_mvn_plan *p);

/* ------------------------------------------------------------------------ */
/* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss                       */
/* ------------------------------------------------------------------------ */

typedef enum reduce_loss_reduction { RED_LOSS_NONE, RED_LOSS_SUM, RED_LOSS_MEAN } reduce_loss_reduction;

/* Input [n, classes, spatial...], target [n, spatial...]. */
typedef struct reduce_loss_plan {
    bool softmax; /* SoftmaxCrossEntropyLoss: log_prob = LogSoftmax(input, 1) */
    int64_t n, classes, spatial;
    reduce_loss_reduction reduction;
    bool has_ignore;
    int64_t ignore_index;
} reduce_loss_plan;

bool reduce_loss_plan_of(const ir_graph *g, int node, reduce_loss_plan *p);

#endif /* HODU_OPS_REDUCE_H */
