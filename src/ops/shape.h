/*
 * ops/shape.h - the shape family's semantic face for backends (ops/shape.c).
 *
 * The shape ops move data without arithmetic.  Their geometry (which element
 * goes where) is decided here, once, from the node's shapes and attributes;
 * the host-side folding in shape.c and every backend's lowering read the
 * same structs, so a folded constant always equals what the generated code
 * would compute.  Getters expect a node that shape inference accepted; the
 * ones taking an hd_diag re-read build-time operands and report on it (as
 * inference would) when they cannot.
 *
 * All strides and offsets are in elements, row-major, of static shapes.
 */
#ifndef HODU_OPS_SHAPE_H
#define HODU_OPS_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "util/util.h"

/* --- strided copies -------------------------------------------------------
 * "For every index i of the box `dims`, copy src[src_base + sum i*src] to
 * dst[dst_base + sum i*dst]."  Transpose, Slice, Expand, Concat (one plan per
 * input), Split (one per output), DepthToSpace and SpaceToDepth are all one
 * such copy. */
typedef struct shape_copy_plan {
    int rank;
    int64_t dims[HODU_MAX_RANK];
    int64_t src[HODU_MAX_RANK]; /* source stride of each dim (0: broadcast) */
    int64_t dst[HODU_MAX_RANK]; /* destination stride of each dim */
    int64_t src_base, dst_base;
} shape_copy_plan;

/* Elements the plan copies. */
int64_t shape_copy_plan_numel(const shape_copy_plan *p);
/* Drops unit dims and merges neighbours contiguous in both source and
 * destination; the plan still describes the same copy. */
void shape_copy_plan_coalesce(shape_copy_plan *p);
/* Performs the copy on the host (elements of `elem` bytes). */
void shape_copy_plan_run(const shape_copy_plan *p, void *dst, const void *src, size_t elem);

/* Transpose: input 0 -> output 0. */
bool shape_transpose_plan(const ir_graph *g, int node, hd_diag *d, shape_copy_plan *p);
/* Slice: input 0 -> output 0 (starts/ends/axes/steps resolved and clamped). */
/* True when a Slice takes starts, ends, axes or steps at run time (int64
 * vectors of one length) and the model declares its output shape: it is
 * built for that shape, and the lowering slices by the values it gets and
 * checks they give it. */
bool shape_slice_at_run_time(const ir_graph *g, int node);
bool shape_slice_plan(const ir_graph *g, int node, hd_diag *d, shape_copy_plan *p);
/* Expand: input 0 broadcast into output 0. */
void shape_expand_plan(const ir_graph *g, int node, shape_copy_plan *p);
/* Concat: present input `k` -> its slab of output 0. */
void shape_concat_plan(const ir_graph *g, int node, size_t k, shape_copy_plan *p);
/* Split: input 0 -> present output `out`. */
bool shape_split_plan(const ir_graph *g, int node, hd_diag *d, size_t out, shape_copy_plan *p);
/* Split's axis and the size of each output along it (at most 64 outputs);
 * the general path's lowering cuts rows of run-time size with them. */
bool shape_split_sizes(const ir_graph *g, int node, hd_diag *d, int *axis, int64_t *sizes);
/* DepthToSpace / SpaceToDepth: input 0 -> output 0 (a 6-D transpose). */
void shape_d2s_plan(const ir_graph *g, int node, shape_copy_plan *p);

/* --- Gather ---------------------------------------------------------------
 * data viewed as [outer, d, inner], output as [outer, n_idx, inner]:
 * out[o, j, :] = data[o, clamp(indices[j]), :], a negative index counting
 * from the end and the result clamped into [0, d). */
typedef struct shape_gather_view {
    int axis; /* normalised */
    int64_t outer, n_idx, d, inner;
} shape_gather_view;

void shape_gather_view_of(const ir_graph *g, int node, shape_gather_view *v);

/* --- GatherElements / ScatterElements -------------------------------------
 * One step per element i of indices (rank `rank`, box idx_dims): k =
 * clamp(indices[i]) along `axis` of size d; the element is data offset
 * sum(i*data_strides) + k*axis_stride, where data_strides has 0 on `axis`.
 * The offset into indices (and updates, and GatherElements' output) is
 * sum(i*idx_strides). */
typedef struct shape_elements_view {
    int rank, axis;
    int64_t idx_dims[HODU_MAX_RANK], idx_strides[HODU_MAX_RANK];
    int64_t data_strides[HODU_MAX_RANK];
    int64_t d, axis_stride;
} shape_elements_view;

void shape_elements_view_of(const ir_graph *g, int node, shape_elements_view *v);

/* How ScatterElements / ScatterND combine an update into the output. */
typedef enum shape_reduction {
    SHAPE_REDUCTION_NONE, /* overwrite */
    SHAPE_REDUCTION_ADD,
    SHAPE_REDUCTION_MUL,
    SHAPE_REDUCTION_MAX,
    SHAPE_REDUCTION_MIN
} shape_reduction;

/* The node's `reduction` attribute; false when it names none of the above. */
bool shape_reduction_of(const ir_node *n, shape_reduction *r);

/* --- GatherND / ScatterND -------------------------------------------------
 * Each of n_idx tuples of k indices addresses data[t0, ..., t(k-1), :], a
 * slab of `slab` contiguous elements at sum(clamp(tq)*strides[q]); an index
 * is clamped into [0, dims[q]) after adding dims[q] to a negative one. */
typedef struct shape_nd_view {
    int64_t k, n_idx, slab;
    /* GatherND's batch_dims: index tuple j reads batch j / per_batch, which
     * starts at element (j / per_batch) * batch_stride of data (ScatterND:
     * per_batch = n_idx, batch_stride = 0) */
    int64_t per_batch, batch_stride;
    int64_t dims[HODU_MAX_RANK], strides[HODU_MAX_RANK]; /* the k dims addressed, after the batch dims */
} shape_nd_view;

void shape_nd_view_of(const ir_graph *g, int node, shape_nd_view *v);

/* --- Tile -----------------------------------------------------------------
 * out[i] = in[sum (i_q mod in_dims[q]) * in_strides[q]], i over out_dims. */
typedef struct shape_tile_view {
    int rank;
    int64_t out_dims[HODU_MAX_RANK], in_dims[HODU_MAX_RANK], in_strides[HODU_MAX_RANK];
} shape_tile_view;

void shape_tile_view_of(const ir_graph *g, int node, shape_tile_view *v);

/* --- Pad ------------------------------------------------------------------
 * Output index i_q reads input index c_q = i_q - begin[q], mapped back into
 * [0, in_dims[q]) by the mode; in constant mode an out-of-range c_q fills
 * the fill_block[q] output elements under that index with the pad value. */
typedef enum shape_pad_mode { SHAPE_PAD_CONSTANT, SHAPE_PAD_REFLECT, SHAPE_PAD_EDGE, SHAPE_PAD_WRAP } shape_pad_mode;

typedef struct shape_pad_plan {
    int rank;
    shape_pad_mode mode;
    int64_t begin[HODU_MAX_RANK], end[HODU_MAX_RANK]; /* negative: crop */
    int64_t in_dims[HODU_MAX_RANK], out_dims[HODU_MAX_RANK], in_strides[HODU_MAX_RANK];
    int64_t fill_block[HODU_MAX_RANK]; /* product of out_dims after q */
    bool value_input;                  /* the pad value is input 2's element */
    double value;                      /* else this (the `value` attribute) */
    /* Pads given at run time (begin and end are then 0): input 1 holds the
     * begins, then the ends, of axes[0..n_axes); the output is the
     * declared one, which they must give. */
    bool pads_at_run_time;
    int axes[HODU_MAX_RANK], n_axes;
    /* The axes are input 3's n_axes values at run time (axes[] unset). */
    bool axes_at_run_time;
} shape_pad_plan;

bool shape_pad_plan_of(const ir_graph *g, int node, hd_diag *d, shape_pad_plan *p);

/* --- ConstantOfShape: the one-element fill tensor, NULL for zeros. -------- */
const ir_value *shape_constant_of_shape_value(const ir_graph *g, int node);

/* --- Trilu: batch matrices rows x cols; element (i, j) is kept when
 * j - i >= k (upper) or j - i <= k (lower), else 0. ----------------------- */
typedef struct shape_trilu_view {
    int64_t batch, rows, cols, k;
    bool upper;
    bool k_at_run_time; /* k is input 1's value at run time, not `k` */
} shape_trilu_view;

void shape_trilu_view_of(const ir_graph *g, int node, shape_trilu_view *v);

/* --- EyeLike: rows x cols zeros with ones at (i, i + k). ------------------ */
typedef struct shape_eyelike_view {
    int64_t rows, cols, k;
} shape_eyelike_view;

void shape_eyelike_view_of(const ir_graph *g, int node, shape_eyelike_view *v);

/* --- OneHot: output viewed as [outer, depth, inner], indices as [outer,
 * inner]; every element is values[0] except out[o, k, n] = values[1] for k =
 * indices[o, n] (plus depth when negative) inside [0, depth). ------------- */
typedef struct shape_onehot_view {
    int64_t outer, depth, inner;
} shape_onehot_view;

void shape_onehot_view_of(const ir_graph *g, int node, shape_onehot_view *v);

#endif /* HODU_OPS_SHAPE_H */
