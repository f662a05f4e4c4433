/*
 * sample.h - the nn_sample family's public semantic face
 * (src/ops/nn_sample.c): GridSample, AffineGrid, RoiAlign, Col2Im,
 * CenterCropPad and DeformConv, the ops that read their input at
 * positions other operands give (or that rearrange it by blocks).
 *
 * Every plan is computed from the node's static shapes, attributes and
 * build-time constant operands by the code inference runs, so a backend
 * never re-derives geometry.  Positions that come from run-time data
 * (grids, boxes, batch indices, offsets) are not in any plan: each
 * lowering maps them itself and must keep every read inside its operand
 * whatever the values (NaN and infinities included); the rules are in
 * nn_sample.c's header comment.
 *
 * The getters expect a node that inference accepted; on any other node
 * they return false (reporting nothing) and leave the plan unspecified.
 */
#ifndef HODU_OPS_SAMPLE_H
#define HODU_OPS_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "nn.h"

/* GridSample's interpolation (opset 16 spells linear / cubic "bilinear" /
 * "bicubic") and padding_mode. */
typedef enum sample_mode { SAMPLE_NEAREST, SAMPLE_LINEAR, SAMPLE_CUBIC } sample_mode;
typedef enum sample_pad { SAMPLE_PAD_ZEROS, SAMPLE_PAD_BORDER, SAMPLE_PAD_REFLECTION } sample_pad;

/* GridSample: X [N, C, in...] read at grid [N, out..., nd] -> Y [N, C,
 * out...].  Grid component j is the normalised position along spatial dim
 * nd-1-j (x first). */
typedef struct grid_sample_plan {
    int nd;
    int64_t N, C;
    int64_t in[NN_MAX_SPATIAL], out[NN_MAX_SPATIAL];
    int64_t IP, OP; /* products of in and out */
    sample_mode mode;
    sample_pad pad;
    bool align_corners;
} grid_sample_plan;

bool grid_sample_plan_of(const ir_graph *g, int node, grid_sample_plan *p);

/* AffineGrid: theta [N, nd, nd+1] -> grid [N, size..., nd] (nd 2 or 3). */
typedef struct affine_grid_plan {
    int nd;
    int64_t N;
    int64_t size[3]; /* spatial sizes, slowest first (D,) H, W */
    bool align_corners;
    bool size_at_run_time; /* size is read and checked when the model runs */
} affine_grid_plan;

bool affine_grid_plan_of(const ir_graph *g, int node, affine_grid_plan *p);

/* RoiAlign: X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2), batch_indices
 * [R] -> Y [R, C, OH, OW]. */
typedef struct roi_align_plan {
    int64_t N, C, H, W, R, OH, OW;
    bool max;           /* mode "max" (else "avg") */
    bool half_pixel;    /* coordinate_transformation_mode half_pixel */
    int64_t sampling;   /* sampling_ratio; 0: adaptive (from the box) */
    double scale;       /* spatial_scale */
    int64_t grid_max_h; /* the adaptive sample count per bin is clamped */
    int64_t grid_max_w; /* to these: what a box twice the map needs */
} roi_align_plan;

bool roi_align_plan_of(const ir_graph *g, int node, roi_align_plan *p);

/* Col2Im: input [N, C*prod(k), L] -> image [N, C, in...]; the window's
 * `in` is the image, `out` the grid of L = prod(out) block positions, k
 * the block shape (conv geometry: image index o*s - pb + t*d). */
typedef struct col2im_plan {
    int64_t N, C, KP; /* KP: prod(k) */
    nn_window w;
    /* image_shape (then the declared image) and block_shape (then w.k and
     * w.out are placeholders) are read when the model runs */
    bool image_at_run_time, blocks_at_run_time;
} col2im_plan;

bool col2im_plan_of(const ir_graph *g, int node, col2im_plan *p);

/* CenterCropPad: Y is zero, except the box of len[] elements at out_at[]
 * along each dim, which is X's box at in_at[]. */
typedef struct center_crop_pad_plan {
    int rank;
    int64_t in[HODU_MAX_RANK], out[HODU_MAX_RANK];
    int64_t in_at[HODU_MAX_RANK], out_at[HODU_MAX_RANK], len[HODU_MAX_RANK];
    /* The shape input comes at run time: the plan is the declared output's,
     * and the lowering checks the values against it. */
    bool shape_at_run_time;
    int axes[HODU_MAX_RANK], n_axes;
} center_crop_pad_plan;

bool center_crop_pad_plan_of(const ir_graph *g, int node, center_crop_pad_plan *p);

/* DeformConv (2-D): X [N, C, H, W], W [M, C/G, kh, kw], offset [N,
 * OG*kh*kw*2, OH, OW] (per offset group and tap: dh, dw), optional B [M]
 * and mask [N, OG*kh*kw, OH, OW] -> Y [N, M, OH, OW].  The conv geometry
 * is g (its window's pads are the begin/end pads); OG offset groups. */
typedef struct deform_conv_plan {
    nn_conv_geom g;
    int64_t OG;
    bool bias, mask;
} deform_conv_plan;

bool deform_conv_plan_of(const ir_graph *g, int node, deform_conv_plan *p);

#endif /* HODU_OPS_SAMPLE_H */
