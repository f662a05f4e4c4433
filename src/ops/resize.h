/*
 * resize.h - Resize and Upsample's public semantic face
 * (src/ops/nn_resize.c): the plan a backend reads to lower them.
 *
 * Resizing is separable: each resized axis maps an output index to a few
 * input indices (edge-clamped) with weights, and an output element is the
 * sum, over the product of its axes' taps, of weight product times input.
 * resize_axis_taps computes one axis's taps on the host, in double,
 * following the ONNX definition, so a backend only gathers and multiplies
 * and never maps coordinates itself.
 *
 * The getters expect a node that inference accepted; resize_plan_get
 * returns false (reporting nothing) for one it would refuse.
 */
#ifndef HODU_OPS_RESIZE_H
#define HODU_OPS_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Interpolation (attribute mode). */
typedef enum resize_mode { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } resize_mode;

/* coordinate_transformation_mode; Resize-10 and Upsample use ASYMMETRIC. */
typedef enum resize_coord {
    RESIZE_HALF_PIXEL,
    RESIZE_PYTORCH_HALF_PIXEL,
    RESIZE_ALIGN_CORNERS,
    RESIZE_ASYMMETRIC,
    RESIZE_TF_CROP_AND_RESIZE,
    RESIZE_HALF_PIXEL_SYMMETRIC
} resize_coord;

/* nearest_mode; SIMPLE is Resize-10 / Upsample's rule (round down when
 * upsampling, up when downsampling). */
typedef enum resize_nearest {
    RESIZE_ROUND_PREFER_FLOOR,
    RESIZE_ROUND_PREFER_CEIL,
    RESIZE_FLOOR,
    RESIZE_CEIL,
    RESIZE_SIMPLE
} resize_nearest;

/* One Resize / Upsample node, every dim of X [in] -> Y [out] described
 * (axes not named by the `axes` attribute keep scale 1 and are not
 * resized). */
typedef struct resize_plan {
    int rank;
    int64_t in[HODU_MAX_RANK], out[HODU_MAX_RANK];
    double scale[HODU_MAX_RANK];                         /* out / in as the op defines it */
    double roi_lo[HODU_MAX_RANK], roi_hi[HODU_MAX_RANK]; /* tf_crop_and_resize only; else 0 and 1 */
    bool resized[HODU_MAX_RANK];                         /* false: Y's index is X's along this dim */
    resize_mode mode;
    resize_coord coord;
    resize_nearest nearest;
    double cubic_a; /* cubic_coeff_a */
    double extrap;  /* extrapolation_value: Y where tf_crop_and_resize maps outside X */
    bool exclude;   /* exclude_outside */
    bool antialias;
    /* Scales, sizes (with a keep_aspect_ratio_policy) or roi come at run
     * time: out[] is the output the model declares, resized[] marks every
     * axis they describe, and the lowering computes each such axis's taps
     * when the model runs (the same mapping, resize_axis_taps in C), after
     * checking that the values give the declared output; other values stop
     * the run.  scale[], roi_lo[] and roi_hi[] are then unknown. */
    bool at_run_time;
    int n_axes, axes[HODU_MAX_RANK];          /* the axes scales, sizes and roi describe, in their order */
    int scales_input, sizes_input, roi_input; /* the inputs to read (-1: absent; roi only for tf_crop_and_resize) */
    bool keep_aspect, not_larger;             /* sizes' keep_aspect_ratio_policy (not stretch), and which */
    int max_taps[HODU_MAX_RANK];              /* taps per output index any accepted value needs (nearest: 1) */
    /* Over run-time dims (ir_node.rt_general; also at_run_time): X's and
     * Y's sizes are read when the model runs, in[] and out[] are the tops
     * of their ranges, resized[] marks the described axes whose output
     * dim is not the input's.  Scales are then build-time constants
     * (scale[]) or the run's out / in (sizes, checked against Y's dims). */
    bool rt_dims;
} resize_plan;

/* Run-time values are refused below these: scales under 2^-24 (or
 * 1/4096 with antialias), sizes over 2^40, roi that is not finite. */
#define RESIZE_MIN_SCALE    0x1p-24
#define RESIZE_MIN_AA_SCALE (1.0 / 4096)

bool resize_plan_get(const ir_graph *g, int node, resize_plan *p);

/* The taps of one resized axis: output index y reads input indices
 * idx[y*n .. y*n+n) with weights w[y*n .. y*n+n), unless ext[y] is set (the
 * output takes extrapolation_value).  Nearest mode has n == 1 and weight 1. */
typedef struct resize_taps {
    int n;
    int64_t count;      /* output indices: the plan's out[axis] */
    int64_t *idx;       /* count * n, in [0, in[axis]) */
    double *w;          /* count * n */
    unsigned char *ext; /* count */
    bool any_ext;       /* some ext[y] is set */
} resize_taps;

/* Fills `t` for resized axis `axis` (allocating; free with resize_taps_free). */
void resize_axis_taps(const resize_plan *p, int axis, resize_taps *t);
void resize_taps_free(resize_taps *t);

#endif /* HODU_OPS_RESIZE_H */
