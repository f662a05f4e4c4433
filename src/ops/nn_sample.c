/*
 * ops/nn_sample.c - the sampling ops: GridSample, AffineGrid, RoiAlign,
 * Col2Im, CenterCropPad and DeformConv (family NN_SAMPLE): inference and
 * the plans sample.h exports to backends.
 *
 * GridSample (16: 2-D only, modes bilinear / nearest / bicubic; 20: any
 * number of spatial dims, modes linear / nearest / cubic): X [N, C, D1..Dr]
 * and grid [N, O1..Or, r] -> Y [N, C, O1..Or].  A grid value g in [-1, 1]
 * maps to the pixel coordinate ((g + 1) * L - 1) / 2, or (g + 1) / 2 *
 * (L - 1) with align_corners; nearest rounds half to even; padding_mode
 * zeros / border / reflection decides what lies outside, as onnxruntime
 * and the ONNX reference define it (the coordinate is clamped or reflected
 * first, then each tap once more).  Cubic uses Keys' kernel, a = -0.75.
 * AffineGrid (20): theta [N, 2, 3] or [N, 3, 4] and size [N, C, (D,) H,
 * W] (constant, or run-time where the grid is declared) -> grid [N, (D,)
 * H, W, 2 or 3].
 * RoiAlign (10; 16 adds coordinate_transformation_mode): X [N, C, H, W],
 * rois [R, 4], batch_indices [R] -> Y [R, C, output_height, output_width],
 * average or (onnxruntime's) max of bilinear samples per bin.
 * Col2Im (18): [N, C*prod(block), L] -> [N, C, image...], image_shape and
 * block_shape constants, or run-time values where the image is declared.  CenterCropPad (18): crops or
 * zero-pads the named axes to the build-time constant shape, centred
 * (the odd element goes to the end).  DeformConv (19; 22 adds bfloat16):
 * a 2-D convolution whose taps read X bilinearly at positions moved by
 * per-output offsets, optionally scaled by a mask.
 *
 * Run-time data never leaves its operand: the lowerings treat grid
 * coordinates, boxes, batch indices and offsets as untrusted values.
 *   - GridSample: finite coordinates give the defined result, however
 *     far outside (with zeros padding they are first clamped to a few
 *     pixels outside the image, where every tap is outside anyway).  A
 *     NaN coordinate counts as outside on the low side: zeros padding
 *     reads 0, border the first index, reflection the low edge; an
 *     infinite one reads 0 (zeros), the nearest edge (border) or the low
 *     edge (reflection, which has no answer for it).  Every tap index is
 *     then bounds-checked (zeros) or clamped / reflected into the image,
 *     so rounding can never step outside.
 *   - RoiAlign: a box whose batch index is outside [0, N) yields zeros.
 *     Samples outside [-1, H] x [-1, W] (NaN included) count as 0, as in
 *     onnxruntime.  The adaptive number of samples per bin (sampling_ratio
 *     0: ceil(bin size)) is clamped to what a box twice the map's size
 *     needs, ceil(2 (H + 1) / output_height) by ceil(2 (W + 1) /
 *     output_width) (NaN: none): only larger boxes get fewer samples than
 *     onnxruntime takes, and the work and sample tables stay bounded.
 *   - DeformConv: taps are bilinear with zero padding, any offset value
 *     (NaN included) reading 0 where it leaves the image.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_impl.h"
#include "sample.h"

/* Largest spatial size an operand value may give (output dims, image
 * shapes): far beyond any tensor the limits allow, far below overflow. */
#define SAMPLE_MAX_DIM ((int64_t)1 << 40)

/* Index of `s` in names[0..n), or -1. */
static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static bool bool_attr(op_ctx *c, const char *name, bool *out)
{
    int64_t v = ir_attr_int(op_node(c), name, 0);
    if (v != 0 && v != 1)
        return op_fail(c, "attribute '%s' value %" PRId64 " must be 0 or 1", name, v);
    *out = v == 1;
    return true;
}

/* --- GridSample ------------------------------------------------------------ */

static bool gs_get(op_ctx *c, grid_sample_plan *p)
{
    const ir_value *x = op_need_static(c, 0), *gr = op_need_static(c, 1);
    if (!x || !gr)
        return false;
    const ir_node *n = op_node(c);
    bool v16 = n->op == OP_GRID_SAMPLE_16;
    memset(p, 0, sizeof(*p));
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "X has type %s; a float type is required", ir_dtype_name(x->dtype));
    if (!ir_dtype_is_float(gr->dtype))
        return op_fail(c, "grid has type %s; a float type is required", ir_dtype_name(gr->dtype));
    if (v16 ? x->rank != 4 : x->rank < 3)
        return op_fail(c, "X must have rank %s (N, C, spatial dims), got %d", v16 ? "4 in opset 16-19" : "3 or more",
                       x->rank);
    if (gr->rank != x->rank)
        return op_fail(c, "grid has rank %d; X has rank %d", gr->rank, x->rank);
    int nd = x->rank - 2;
    p->nd = nd;
    p->N = x->dims[0].size;
    p->C = x->dims[1].size;
    if (gr->dims[0].size != p->N)
        return op_fail(c, "grid has batch %" PRId64 "; X has %" PRId64, gr->dims[0].size, p->N);
    if (gr->dims[gr->rank - 1].size != nd)
        return op_fail(c, "grid's last dim is %" PRId64 "; X has %d spatial dims", gr->dims[gr->rank - 1].size, nd);
    p->IP = p->OP = 1;
    for (int i = 0; i < nd; i++) {
        p->in[i] = x->dims[i + 2].size;
        p->out[i] = gr->dims[i + 1].size;
        p->IP = op_sat_mul(p->IP, p->in[i]);
        p->OP = op_sat_mul(p->OP, p->out[i]);
    }
    static const char *const modes16[] = {"nearest", "bilinear", "bicubic"};
    static const char *const modes20[] = {"nearest", "linear", "cubic"};
    const char *mode = ir_attr_string(n, "mode", v16 ? "bilinear" : "linear");
    int mi = name_index(mode, v16 ? modes16 : modes20, 3);
    if (mi < 0)
        return op_fail(c, "attribute 'mode' value '%s' is not supported", mode);
    p->mode = (sample_mode)mi; /* both lists are in enum order */
    static const char *const pads[] = {"zeros", "border", "reflection"};
    const char *pm = ir_attr_string(n, "padding_mode", "zeros");
    int pi = name_index(pm, pads, 3);
    if (pi < 0)
        return op_fail(c, "attribute 'padding_mode' value '%s' is not supported", pm);
    p->pad = (sample_pad)pi;
    if (!bool_attr(c, "align_corners", &p->align_corners))
        return false;
    if (p->IP == 0 && op_sat_mul(op_sat_mul(p->N, p->C), p->OP) != 0)
        return op_fail(c, "cannot sample from X with an empty spatial dim");
    return true;
}

static bool infer_grid_sample(op_ctx *c)
{
    grid_sample_plan p;
    if (!gs_get(c, &p))
        return false;
    int64_t dims[HODU_MAX_RANK] = {p.N, p.C};
    for (int i = 0; i < p.nd; i++)
        dims[i + 2] = p.out[i];
    op_set_out(c, 0, op_in(c, 0)->dtype, p.nd + 2, dims);
    return true;
}

static int64_t flops_grid_sample(const ir_graph *g, int node)
{
    grid_sample_plan p;
    if (!grid_sample_plan_of(g, node, &p))
        return 0;
    int64_t taps = 1;
    for (int i = 0; i < p.nd; i++)
        taps = op_sat_mul(taps, p.mode == SAMPLE_CUBIC ? 4 : p.mode == SAMPLE_LINEAR ? 2 : 1);
    return op_sat_mul(op_sat_mul(op_sat_mul(p.N, p.C), p.OP), op_sat_mul(2, taps));
}

bool grid_sample_plan_of(const ir_graph *g, int node, grid_sample_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return gs_get(&c, p);
}

/* --- AffineGrid ------------------------------------------------------------ */

static bool ag_get(op_ctx *c, affine_grid_plan *p)
{
    const ir_value *th = op_need_static(c, 0);
    if (!th)
        return false;
    memset(p, 0, sizeof(*p));
    if (!ir_dtype_is_float(th->dtype))
        return op_fail(c, "theta has type %s; a float type is required", ir_dtype_name(th->dtype));
    if (th->rank != 3)
        return op_fail(c, "theta must have rank 3 (N, 2, 3) or (N, 3, 4), got %d", th->rank);
    int64_t size[5], declared[HODU_MAX_RANK];
    long k = -1;
    const ir_value *sv = op_in(c, 1);
    if (sv && sv->kind != IR_VALUE_CONST && sv->dtype == HODU_DTYPE_I64 && sv->rank == 1 &&
        (sv->dims[0].size == 4 || sv->dims[0].size == 5) &&
        op_declared_shape(c, 0, declared) == (int)sv->dims[0].size) {
        /* size comes at run time: build for the declared grid [N, size...,
         * nd]; the lowering checks the values (the channel count is free) */
        k = (long)sv->dims[0].size;
        size[0] = declared[0];
        size[1] = 0;
        for (long i = 2; i < k; i++)
            size[i] = declared[i - 1];
        if (declared[k - 1] != k - 2)
            return op_fail(c, "the declared grid's last dim is %" PRId64 "; a %ld-value size gives %ld",
                           declared[k - 1], k, k - 2);
        p->size_at_run_time = true;
    } else
        k = op_need_const_i64(c, 1, size, 5, "size");
    if (k < 0)
        return false;
    if (k != 4 && k != 5)
        return op_fail(c, "size has %ld values; expected 4 (N, C, H, W) or 5 (N, C, D, H, W)", k);
    int nd = (int)k - 2;
    p->nd = nd;
    p->N = th->dims[0].size;
    if (th->dims[1].size != nd || th->dims[2].size != nd + 1)
        return op_fail(c, "theta is [%" PRId64 ", %" PRId64 ", %" PRId64 "]; a %d-D size needs [N, %d, %d]",
                       th->dims[0].size, th->dims[1].size, th->dims[2].size, nd, nd, nd + 1);
    if (size[0] != p->N)
        return op_fail(c, "size gives batch %" PRId64 "; theta has %" PRId64, size[0], p->N);
    if (size[1] < 0)
        return op_fail(c, "size gives %" PRId64 " channels", size[1]);
    int64_t total = p->N;
    for (int i = 0; i < nd; i++) {
        if (size[i + 2] < 0 || size[i + 2] > SAMPLE_MAX_DIM)
            return op_fail(c, "size value %" PRId64 " is out of range", size[i + 2]);
        p->size[i] = size[i + 2];
        if (!op_ck_mul(c, total, p->size[i], &total, "the grid"))
            return false;
    }
    return bool_attr(c, "align_corners", &p->align_corners);
}

static bool infer_affine_grid(op_ctx *c)
{
    affine_grid_plan p;
    if (!ag_get(c, &p))
        return false;
    int64_t dims[5] = {p.N};
    for (int i = 0; i < p.nd; i++)
        dims[i + 1] = p.size[i];
    dims[p.nd + 1] = p.nd;
    op_set_out(c, 0, op_in(c, 0)->dtype, p.nd + 2, dims);
    return true;
}

bool affine_grid_plan_of(const ir_graph *g, int node, affine_grid_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return ag_get(&c, p);
}

/* --- RoiAlign -------------------------------------------------------------- */

/* Most samples per bin and axis sampling_ratio may ask for. */
#define ROI_MAX_SAMPLING 1024

static bool ra_get(op_ctx *c, roi_align_plan *p)
{
    const ir_value *x = op_need_static(c, 0), *rois = op_need_static(c, 1), *bi = op_need_static(c, 2);
    if (!x || !rois || !bi)
        return false;
    const ir_node *n = op_node(c);
    memset(p, 0, sizeof(*p));
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "X has type %s; a float type is required", ir_dtype_name(x->dtype));
    if (rois->dtype != x->dtype)
        return op_fail(c, "rois has type %s; X has %s", ir_dtype_name(rois->dtype), ir_dtype_name(x->dtype));
    if (bi->dtype != HODU_DTYPE_I64)
        return op_fail(c, "batch_indices has type %s; expected int64", ir_dtype_name(bi->dtype));
    if (x->rank != 4)
        return op_fail(c, "X must have rank 4 (N, C, H, W), got %d", x->rank);
    if (rois->rank != 2 || rois->dims[1].size != 4)
        return op_fail(c, "rois must be [num_rois, 4]");
    if (bi->rank != 1 || bi->dims[0].size != rois->dims[0].size)
        return op_fail(c, "batch_indices must be 1-D with one value per roi (%" PRId64 ")", rois->dims[0].size);
    p->N = x->dims[0].size;
    p->C = x->dims[1].size;
    p->H = x->dims[2].size;
    p->W = x->dims[3].size;
    p->R = rois->dims[0].size;
    p->OH = ir_attr_int(n, "output_height", 1);
    p->OW = ir_attr_int(n, "output_width", 1);
    if (p->OH < 1 || p->OW < 1 || p->OH > SAMPLE_MAX_DIM || p->OW > SAMPLE_MAX_DIM)
        return op_fail(c, "attributes 'output_height' and 'output_width' (%" PRId64 ", %" PRId64 ") must be positive",
                       p->OH, p->OW);
    p->sampling = ir_attr_int(n, "sampling_ratio", 0);
    if (p->sampling < 0 || p->sampling > ROI_MAX_SAMPLING)
        return op_fail(c, "attribute 'sampling_ratio' value %" PRId64 " must be in [0, %d]", p->sampling,
                       ROI_MAX_SAMPLING);
    p->scale = ir_attr_float(n, "spatial_scale", 1.0);
    if (!(p->scale > -1e30 && p->scale < 1e30))
        return op_fail(c, "attribute 'spatial_scale' value %g is not a finite number", p->scale);
    const char *mode = ir_attr_string(n, "mode", "avg");
    if (strcmp(mode, "avg") != 0 && strcmp(mode, "max") != 0)
        return op_fail(c, "attribute 'mode' value '%s' is not supported", mode);
    p->max = strcmp(mode, "max") == 0;
    if (n->op == OP_ROI_ALIGN) {
        const char *ct = ir_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        if (strcmp(ct, "half_pixel") != 0 && strcmp(ct, "output_half_pixel") != 0)
            return op_fail(c, "attribute 'coordinate_transformation_mode' value '%s' is not supported", ct);
        p->half_pixel = strcmp(ct, "half_pixel") == 0;
    }
    /* enough samples for any box up to twice the map's size */
    p->grid_max_h = (2 * (p->H + 1) + p->OH - 1) / p->OH;
    p->grid_max_w = (2 * (p->W + 1) + p->OW - 1) / p->OW;
    int64_t total;
    if (!op_ck_mul(c, p->R, p->C, &total, "the output") || !op_ck_mul(c, total, p->OH, &total, "the output") ||
        !op_ck_mul(c, total, p->OW, &total, "the output"))
        return false;
    if (total != 0 && (p->H == 0 || p->W == 0))
        return op_fail(c, "cannot sample from X with an empty spatial dim");
    return true;
}

static bool infer_roi_align(op_ctx *c)
{
    roi_align_plan p;
    if (!ra_get(c, &p))
        return false;
    const int64_t dims[4] = {p.R, p.C, p.OH, p.OW};
    op_set_out(c, 0, op_in(c, 0)->dtype, 4, dims);
    return true;
}

bool roi_align_plan_of(const ir_graph *g, int node, roi_align_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return ra_get(&c, p);
}

/* --- Col2Im ---------------------------------------------------------------- */

/* Input i as a run-time int64 vector: its length, or -1. */
static int ci_runtime_shape(op_ctx *c, size_t i)
{
    const ir_value *v = op_in(c, i);
    if (!v || v->kind == IR_VALUE_CONST || v->dtype != HODU_DTYPE_I64 || v->rank != 1 || v->dims[0].size < 1 ||
        v->dims[0].size > NN_MAX_SPATIAL)
        return -1;
    return (int)v->dims[0].size;
}

static bool ci_get(op_ctx *c, col2im_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    memset(p, 0, sizeof(*p));
    if (x->dtype != HODU_DTYPE_F32)
        return op_fail(c, "type %s is not supported (float32 only)", ir_dtype_name(x->dtype));
    if (x->rank != 3)
        return op_fail(c, "input must have rank 3 (N, C * prod(block_shape), L), got %d", x->rank);
    int64_t img[NN_MAX_SPATIAL + 1], blk[NN_MAX_SPATIAL + 1], declared[HODU_MAX_RANK];
    /* image_shape and block_shape may come at run time where the model
     * declares the output [N, C, image...]: the image is then the declared
     * one, the block shape is read when the model runs (the lowering
     * checks both), and C fixes the block's size. */
    int rt_img = ci_runtime_shape(c, 1), rt_blk = ci_runtime_shape(c, 2);
    int dr = (rt_img >= 0 || rt_blk >= 0) ? op_declared_shape(c, 0, declared) : -1;
    long ni = -1, nb = -1;
    if (rt_img >= 0 && dr == rt_img + 2) {
        ni = rt_img;
        for (long i = 0; i < ni; i++)
            img[i] = declared[i + 2];
        p->image_at_run_time = true;
    } else
        ni = op_need_const_i64(c, 1, img, NN_MAX_SPATIAL + 1, "image_shape");
    if (rt_blk >= 0 && dr == rt_blk + 2 && declared[1] >= 1) {
        nb = rt_blk;
        for (long i = 0; i < nb; i++)
            blk[i] = 1; /* read when the model runs */
        p->blocks_at_run_time = true;
    } else
        nb = op_need_const_i64(c, 2, blk, NN_MAX_SPATIAL + 1, "block_shape");
    if (ni < 0 || nb < 0)
        return false;
    if (ni < 1 || ni > NN_MAX_SPATIAL)
        return op_fail(c, "image_shape has %ld values; expected 1 to %d", ni, NN_MAX_SPATIAL);
    if (nb != ni)
        return op_fail(c, "block_shape has %ld values; image_shape has %ld", nb, ni);
    nn_window *w = &p->w;
    w->nd = (int)ni;
    int64_t kp = 1;
    for (int i = 0; i < w->nd; i++) {
        if (img[i] < 1 || img[i] > SAMPLE_MAX_DIM)
            return op_fail(c, "image_shape value %" PRId64 " is out of range", img[i]);
        if (blk[i] < 1 || blk[i] > ((int64_t)1 << 31))
            return op_fail(c, "block_shape value %" PRId64 " is out of range", blk[i]);
        w->in[i] = img[i];
        w->k[i] = blk[i];
        if (!op_ck_mul(c, kp, blk[i], &kp, "block_shape"))
            return false;
    }
    if (!nn_window_attrs(c, w, false))
        return false;
    int64_t L = 1;
    for (int i = 0; i < w->nd; i++)
        if (!op_ck_mul(c, L, w->out[i], &L, "the block grid"))
            return false;
    p->N = x->dims[0].size;
    if (p->blocks_at_run_time) {
        if (x->dims[1].size % declared[1] != 0 || x->dims[1].size == 0)
            return op_fail(c,
                           "input dim 1 (%" PRId64 ") is not a positive multiple of the declared %" PRId64 " channels",
                           x->dims[1].size, declared[1]);
        kp = x->dims[1].size / declared[1];
    }
    if (x->dims[1].size % kp != 0)
        return op_fail(c, "input dim 1 (%" PRId64 ") is not a multiple of the block size (%" PRId64 ")",
                       x->dims[1].size, kp);
    p->C = x->dims[1].size / kp;
    p->KP = kp;
    if (p->blocks_at_run_time)
        L = x->dims[2].size; /* the block grid follows the run-time block shape */
    if (dr >= 0 && (declared[0] != p->N || declared[1] != p->C))
        return op_fail(c,
                       "the declared output [%" PRId64 ", %" PRId64 ", ...] does not match the input's batch %" PRId64
                       " and %" PRId64 " channels",
                       declared[0], declared[1], p->N, p->C);
    if (x->dims[2].size != L)
        return op_fail(c, "input dim 2 (%" PRId64 ") must be the number of blocks (%" PRId64 ")", x->dims[2].size, L);
    int64_t total = op_sat_mul(p->N, p->C);
    for (int i = 0; i < w->nd; i++)
        if (!op_ck_mul(c, total, w->in[i], &total, "the image"))
            return false;
    return true;
}

static bool infer_col2im(op_ctx *c)
{
    col2im_plan p;
    if (!ci_get(c, &p))
        return false;
    int64_t dims[HODU_MAX_RANK] = {p.N, p.C};
    for (int i = 0; i < p.w.nd; i++)
        dims[i + 2] = p.w.in[i];
    op_set_out(c, 0, HODU_DTYPE_F32, p.w.nd + 2, dims);
    return true;
}

bool col2im_plan_of(const ir_graph *g, int node, col2im_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return ci_get(&c, p);
}

/* --- CenterCropPad --------------------------------------------------------- */

static bool cc_get(op_ctx *c, center_crop_pad_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    memset(p, 0, sizeof(*p));
    if (x->dtype == HODU_DTYPE_STRING)
        return op_fail(c, "type %s is not supported", ir_dtype_name(x->dtype));
    int r = x->rank;
    p->rank = r;
    int axes[HODU_MAX_RANK], na = r;
    if (!op_attr_axes(c, "axes", r, true, axes, &na))
        return false;
    int64_t shape[HODU_MAX_RANK], declared[HODU_MAX_RANK];
    const ir_value *sv = op_in(c, 1);
    long k;
    if (sv && sv->kind != IR_VALUE_CONST && sv->dtype == HODU_DTYPE_I64 && sv->rank == 1 && sv->dims[0].size == na &&
        op_declared_shape(c, 0, declared) == r) {
        /* the shape comes at run time: the declared output's on the axes,
         * which the lowering checks it against */
        for (int i = 0; i < na; i++)
            shape[i] = declared[axes[i]];
        k = na;
        p->shape_at_run_time = true;
        memcpy(p->axes, axes, sizeof axes);
        p->n_axes = na;
    } else {
        k = op_need_const_i64(c, 1, shape, HODU_MAX_RANK, "shape");
    }
    if (k < 0)
        return false;
    if (k != na)
        return op_fail(c, "shape has %ld values; expected %d", k, na);
    for (int i = 0; i < r; i++) {
        p->in[i] = p->out[i] = p->len[i] = x->dims[i].size;
        p->in_at[i] = p->out_at[i] = 0;
    }
    for (int i = 0; i < na; i++) {
        int a = axes[i];
        int64_t want = shape[i], have = p->in[a];
        if (want < 0 || want > SAMPLE_MAX_DIM)
            return op_fail(c, "shape value %" PRId64 " for axis %d is out of range", want, a);
        p->out[a] = want;
        if (want < have) {
            p->in_at[a] = (have - want) / 2;
            p->len[a] = want;
        } else {
            p->out_at[a] = (want - have) / 2;
            p->len[a] = have;
        }
    }
    int64_t total = 1;
    for (int i = 0; i < r; i++)
        if (!op_ck_mul(c, total, p->out[i], &total, "the output"))
            return false;
    return true;
}

static bool infer_center_crop_pad(op_ctx *c)
{
    center_crop_pad_plan p;
    if (!cc_get(c, &p))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, p.rank, p.out);
    return true;
}

static int64_t flops_none(const ir_graph *g, int node)
{
    (void)g;
    (void)node;
    return 0;
}

bool center_crop_pad_plan_of(const ir_graph *g, int node, center_crop_pad_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return cc_get(&c, p);
}

/* --- DeformConv ------------------------------------------------------------ */

static bool dc_get(op_ctx *c, deform_conv_plan *p)
{
    const ir_value *x = op_need_static(c, 0), *w = op_need_static(c, 1), *off = op_need_static(c, 2);
    if (!x || !w || !off)
        return false;
    const ir_value *b = op_in(c, 3), *m = op_in(c, 4);
    if ((b && !op_need_static(c, 3)) || (m && !op_need_static(c, 4)))
        return false;
    const ir_node *n = op_node(c);
    memset(p, 0, sizeof(*p));
    hodu_dtype t = x->dtype;
    if (!ir_dtype_is_float(t))
        return op_fail(c, "X has type %s; a float type is required", ir_dtype_name(t));
    if (x->rank != 4)
        return op_fail(c, "X must have rank 4 (N, C, H, W): only 2-D DeformConv is supported, got rank %d", x->rank);
    const ir_value *ops[] = {w, off, b, m};
    static const char *const names[] = {"W", "offset", "B", "mask"};
    for (int i = 0; i < 4; i++)
        if (ops[i] && ops[i]->dtype != t)
            return op_fail(c, "%s has type %s; X has %s", names[i], ir_dtype_name(ops[i]->dtype), ir_dtype_name(t));
    if (w->rank != 4)
        return op_fail(c, "W must have rank 4, got %d", w->rank);
    nn_conv_geom *g = &p->g;
    g->w.nd = 2;
    g->N = x->dims[0].size;
    g->C = x->dims[1].size;
    g->M = w->dims[0].size;
    g->G = ir_attr_int(n, "group", 1);
    p->OG = ir_attr_int(n, "offset_group", 1);
    if (g->G < 1 || g->G > ((int64_t)1 << 31))
        return op_fail(c, "attribute 'group' value %" PRId64 " must be at least 1", g->G);
    if (p->OG < 1 || p->OG > ((int64_t)1 << 31))
        return op_fail(c, "attribute 'offset_group' value %" PRId64 " must be at least 1", p->OG);
    if (g->C == 0)
        return op_fail(c, "X has no channels");
    if (g->C % g->G != 0 || g->M % g->G != 0)
        return op_fail(c, "channels (%" PRId64 " in, %" PRId64 " out) are not divisible by group (%" PRId64 ")", g->C,
                       g->M, g->G);
    if (g->C % p->OG != 0)
        return op_fail(c, "channels (%" PRId64 ") are not divisible by offset_group (%" PRId64 ")", g->C, p->OG);
    g->Cg = g->C / g->G;
    g->Mg = g->M / g->G;
    if (w->dims[1].size != g->Cg)
        return op_fail(c, "W has %" PRId64 " channels per group; X has %" PRId64 " / group %" PRId64, w->dims[1].size,
                       g->C, g->G);
    for (int i = 0; i < 2; i++) {
        g->w.in[i] = x->dims[i + 2].size;
        g->w.k[i] = w->dims[i + 2].size;
    }
    size_t nk = 0;
    const int64_t *ks = ir_attr_ints(n, "kernel_shape", &nk);
    if (ks && nk != 2)
        return op_fail(c, "attribute 'kernel_shape' has %zu values; expected 2", nk);
    for (int i = 0; ks && i < 2; i++)
        if (ks[i] != g->w.k[i])
            return op_fail(c, "attribute 'kernel_shape' (%" PRId64 " in dim %d) disagrees with W (%" PRId64 ")", ks[i],
                           i, g->w.k[i]);
    if (!nn_window_attrs(c, &g->w, false))
        return false;
    g->IP = op_sat_mul(g->w.in[0], g->w.in[1]);
    g->OP = op_sat_mul(g->w.out[0], g->w.out[1]);
    g->KP = op_sat_mul(g->w.k[0], g->w.k[1]);
    int64_t taps = op_sat_mul(p->OG, g->KP);
    if (off->rank != 4 || off->dims[0].size != g->N || off->dims[1].size != op_sat_mul(taps, 2) ||
        off->dims[2].size != g->w.out[0] || off->dims[3].size != g->w.out[1])
        return op_fail(c,
                       "offset must be [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                       "] (N, offset_group * kernel taps * 2, output dims)",
                       g->N, op_sat_mul(taps, 2), g->w.out[0], g->w.out[1]);
    if (b) {
        if (b->rank != 1 || b->dims[0].size != g->M)
            return op_fail(c, "bias B must be 1-D with %" PRId64 " elements", g->M);
        p->bias = true;
    }
    if (m) {
        if (m->rank != 4 || m->dims[0].size != g->N || m->dims[1].size != taps || m->dims[2].size != g->w.out[0] ||
            m->dims[3].size != g->w.out[1])
            return op_fail(c,
                           "mask must be [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                           "] (N, offset_group * kernel taps, output dims)",
                           g->N, taps, g->w.out[0], g->w.out[1]);
        p->mask = true;
    }
    return true;
}

static bool infer_deform_conv(op_ctx *c)
{
    deform_conv_plan p;
    if (!dc_get(c, &p))
        return false;
    const int64_t dims[4] = {p.g.N, p.g.M, p.g.w.out[0], p.g.w.out[1]};
    op_set_out(c, 0, op_in(c, 0)->dtype, 4, dims);
    return true;
}

static int64_t flops_deform_conv(const ir_graph *gr, int node)
{
    deform_conv_plan p;
    if (!deform_conv_plan_of(gr, node, &p))
        return 0;
    const nn_conv_geom *g = &p.g;
    /* the product, plus about 12 per sampled column entry */
    int64_t col = op_sat_mul(op_sat_mul(g->N, g->C), op_sat_mul(g->KP, g->OP));
    return op_sat_mul(op_sat_mul(2 * g->N, g->M), op_sat_mul(g->OP, op_sat_mul(g->Cg, g->KP))) + op_sat_mul(col, 12);
}

bool deform_conv_plan_of(const ir_graph *g, int node, deform_conv_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return dc_get(&c, p);
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec grid_sample_attrs[] = {
    {"align_corners", IR_ATTR_INT}, {"mode", IR_ATTR_STRING}, {"padding_mode", IR_ATTR_STRING}, {NULL, 0}};
static const op_attr_spec affine_grid_attrs[] = {{"align_corners", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec roi_align_10_attrs[] = {{"mode", IR_ATTR_STRING},         {"output_height", IR_ATTR_INT},
                                                  {"output_width", IR_ATTR_INT},    {"sampling_ratio", IR_ATTR_INT},
                                                  {"spatial_scale", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec roi_align_attrs[] = {{"coordinate_transformation_mode", IR_ATTR_STRING},
                                               {"mode", IR_ATTR_STRING},
                                               {"output_height", IR_ATTR_INT},
                                               {"output_width", IR_ATTR_INT},
                                               {"sampling_ratio", IR_ATTR_INT},
                                               {"spatial_scale", IR_ATTR_FLOAT},
                                               {NULL, 0}};
static const op_attr_spec col2im_attrs[] = {
    {"dilations", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS}, {"strides", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec center_crop_pad_attrs[] = {{"axes", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec deform_conv_attrs[] = {{"dilations", IR_ATTR_INTS},
                                                 {"group", IR_ATTR_INT},
                                                 {"kernel_shape", IR_ATTR_INTS},
                                                 {"offset_group", IR_ATTR_INT},
                                                 {"pads", IR_ATTR_INTS},
                                                 {"strides", IR_ATTR_INTS},
                                                 {NULL, 0}};

OP_DEF(GRID_SAMPLE_16, .attrs = grid_sample_attrs, .infer = infer_grid_sample, .flops = flops_grid_sample,
       .grad = grid_sample_grad);
OP_DEF(GRID_SAMPLE, .attrs = grid_sample_attrs, .infer = infer_grid_sample, .flops = flops_grid_sample,
       .grad = grid_sample_grad);
OP_DEF(AFFINE_GRID, .attrs = affine_grid_attrs, .infer = infer_affine_grid, .grad = affine_grid_grad);
OP_DEF(ROI_ALIGN_10, .attrs = roi_align_10_attrs, .infer = infer_roi_align, .grad = roi_align_grad);
OP_DEF(ROI_ALIGN, .attrs = roi_align_attrs, .infer = infer_roi_align, .grad = roi_align_grad);
OP_DEF(COL2IM, .attrs = col2im_attrs, .infer = infer_col2im, .grad = col2im_grad);
OP_DEF(CENTER_CROP_PAD, .attrs = center_crop_pad_attrs, .infer = infer_center_crop_pad, .flops = flops_none,
       .grad = center_crop_pad_grad);
OP_DEF(DEFORM_CONV, .attrs = deform_conv_attrs, .infer = infer_deform_conv, .flops = flops_deform_conv);
