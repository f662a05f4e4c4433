/*
 * ops/nn_sample_grad.c - gradient rules of the sampling ops (ops.h,
 * "gradient rules"): AffineGrid, GridSample, RoiAlign, Col2Im and
 * CenterCropPad.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ops_impl.h"
#include "sample.h"

/* True when v's dims are all known at build time (the rules below build
 * constants and reshapes from them). */
static bool fixed_dims(const op_grad_ctx *c, int v)
{
    const ir_value *iv = ir_val(c->g, v);
    for (int i = 0; i < iv->rank; i++)
        if (iv->dims[i].rt || iv->dims[i].data_dep)
            return false;
    return true;
}

/* A constant of value `like`'s float type with dims[0..rank) and the
 * values v[0..n) (n = the product of dims). */
static int float_const(op_grad_ctx *c, int like, const int64_t *dims, int rank, const double *v, int64_t n)
{
    hodu_dtype t = ir_val(c->g, like)->dtype;
    size_t es = ir_dtype_size(t);
    unsigned char *data = ir_graph_keep(c->g, hd_xcalloc((size_t)n, es));
    for (int64_t i = 0; i < n; i++) {
        if (t == HODU_DTYPE_F64)
            ((double *)data)[i] = v[i];
        else
            ((float *)data)[i] = (float)v[i];
    }
    return ir_const_new(c->g, NULL, t, rank, dims, data, (size_t)n * es);
}

/* AffineGrid: grid[n, p] = theta[n] (base[p], 1), linear in theta, so
 * dtheta[n] = sum over p of dgrid[n, p] (base[p], 1)^T.  The base
 * coordinates are AffineGrid itself of an identity theta (batch 1, the
 * same size and align_corners). */
bool affine_grid_grad(op_grad_ctx *c)
{
    if (!fixed_dims(c, og_x(c, 0)))
        return og_none(c, "its dims are not all known when the model is built");
    affine_grid_plan p;
    if (!affine_grid_plan_of(c->g, c->node, &p))
        return og_none(c, "its theta or size do not fit");
    const ir_node *n = ir_nd(c->g, c->node);
    int theta = og_x(c, 0), nd = p.nd;
    double id[12] = {0};
    for (int i = 0; i < nd; i++)
        id[i * (nd + 1) + i] = 1.0;
    int64_t tdims[3] = {1, nd, nd + 1};
    int one_size_ins[2] = {
        og_i64s(c, (int64_t[]){1}, 1),
        og_op(c, "Slice", (int[]){og_x(c, 1), og_i64s(c, (int64_t[]){1}, 1), og_i64s(c, (int64_t[]){INT64_MAX}, 1)},
              3)};
    int size1 = og_op(c, "Concat", one_size_ins, 2);
    og_attr_int(c, "axis", 0);
    int base = og_op2(c, "AffineGrid", float_const(c, theta, tdims, 3, id, (int64_t)nd * (nd + 1)), size1);
    og_attr_int(c, "align_corners", ir_attr_int(n, "align_corners", 0) != 0);
    /* (base, 1): a pad of one 1 at the end of the last dim */
    int64_t pads[2 * 5] = {0};
    pads[2 * (nd + 2) - 1] = 1;
    int pad_ins[3] = {base, og_i64s(c, pads, 2 * ((size_t)nd + 2)), og_scalar(c, 1, theta)};
    int homog = og_op2(c, "Reshape", og_op(c, "Pad", pad_ins, 3), og_i64s(c, (int64_t[]){1, -1, nd + 1}, 3));
    int dgrid = og_op2(c, "Reshape", og_dy(c, 0), og_i64s(c, (int64_t[]){p.N, -1, nd}, 3));
    int dgrid_t = og_op1(c, "Transpose", dgrid);
    og_attr_ints(c, "perm", (int64_t[]){0, 2, 1}, 3);
    c->dx[0] = og_op2(c, "MatMul", dgrid_t, homog);
    return true;
}

/* Col2Im sums the columns into the (padded) image: its transpose reads
 * them back, column (ch k, position l) from padded-image element
 * at(k, l), by one Gather of a constant index from dimg padded with zeros
 * and flattened per channel. */
bool col2im_grad(op_grad_ctx *c)
{
    if (!fixed_dims(c, og_x(c, 0)))
        return og_none(c, "its dims are not all known when the model is built");
    col2im_plan p;
    if (!col2im_plan_of(c->g, c->node, &p))
        return og_none(c, "its geometry does not fit");
    if (p.image_at_run_time || p.blocks_at_run_time)
        return og_none(c, "image_shape and block_shape must be constants");
    const nn_window *w = &p.w;
    int64_t padded[NN_MAX_SPATIAL], L = 1, P = 1;
    for (int i = 0; i < w->nd; i++) {
        padded[i] = w->in[i] + w->pb[i] + w->pe[i];
        L *= w->out[i];
        P *= padded[i];
    }
    /* index[k][l]: the flat padded position of tap k of block l */
    int64_t *index = hd_xcalloc((size_t)(p.KP * L), sizeof *index);
    for (int64_t k = 0; k < p.KP; k++)
        for (int64_t l = 0; l < L; l++) {
            int64_t kr = k, lr = l, at = 0, stride = 1;
            for (int i = w->nd - 1; i >= 0; i--) {
                int64_t ki = kr % w->k[i], li = lr % w->out[i];
                kr /= w->k[i];
                lr /= w->out[i];
                at += (li * w->s[i] + ki * w->d[i]) * stride;
                stride *= padded[i];
            }
            index[k * L + l] = at;
        }
    int idx = og_op2(c, "Reshape", og_i64s(c, index, (size_t)(p.KP * L)), og_i64s(c, (int64_t[]){p.KP, L}, 2));
    free(index);
    int64_t pads[2 * (NN_MAX_SPATIAL + 2)] = {0};
    int r = w->nd + 2;
    for (int i = 0; i < w->nd; i++) {
        pads[2 + i] = w->pb[i];
        pads[r + 2 + i] = w->pe[i];
    }
    int pad_ins[2] = {og_dy(c, 0), og_i64s(c, pads, 2 * (size_t)r)};
    int flat = og_op2(c, "Reshape", og_op(c, "Pad", pad_ins, 2), og_i64s(c, (int64_t[]){p.N, p.C, P}, 3));
    int cols = og_op2(c, "Gather", flat, idx); /* [N, C, KP, L] */
    og_attr_int(c, "axis", 2);
    c->dx[0] = og_op2(c, "Reshape", cols, og_i64s(c, (int64_t[]){p.N, p.C * p.KP, L}, 3));
    return true;
}

/* CenterCropPad moves a centred window: a crop from a to b starts at
 * (a - b) / 2, as does a pad from b to a, so the gradient is the same op
 * taking dy back to the input's extents on the same axes. */
bool center_crop_pad_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int x = og_x(c, 0);
    size_t na = 0;
    const int64_t *axes = ir_attr_ints(n, "axes", &na);
    int extents = og_shape(c, x);
    if (axes)
        extents = og_op2(c, "Gather", extents, og_i64s(c, axes, na));
    c->dx[0] = og_op2(c, "CenterCropPad", og_dy(c, 0), extents);
    if (axes)
        og_attr_ints(c, "axes", axes, na);
    return true;
}

/* GridSample's per-axis sampling geometry, as [N, 1, OP] values. */
typedef struct gs_axis {
    int at[2];    /* the lower and upper tap's index (float) */
    int w[2];     /* their weights */
    int in_range; /* border: 1 where the clamp let the coordinate through */
} gs_axis;

/* The helpers' constants take X's type: the values they read are new,
 * untyped until inference. */
static int f_less_eq(op_grad_ctx *c, int a, int b)
{
    int ins[3] = {og_op2(c, "LessOrEqual", a, b), og_scalar(c, 1, og_x(c, 0)), og_scalar(c, 0, og_x(c, 0))};
    return og_op(c, "Where", ins, 3);
}

/* 1 where lo <= v <= hi, else 0. */
static int f_within(op_grad_ctx *c, int v, double lo, double hi)
{
    int x = og_x(c, 0);
    return og_op2(c, "Mul", f_less_eq(c, og_scalar(c, lo, x), v), f_less_eq(c, v, og_scalar(c, hi, x)));
}

static int f_clip(op_grad_ctx *c, int v, double lo, double hi)
{
    int ins[3] = {v, og_scalar(c, lo, og_x(c, 0)), og_scalar(c, hi, og_x(c, 0))};
    return og_op(c, "Clip", ins, 3);
}

/* GridSample, linear mode, zeros or border padding, any rank.  Each
 * output reads 2^nd taps with weights that are products of per-axis
 * weights w0 = 1 - f, w1 = f (f the coordinate's fraction).  dX adds
 * dy * weight into each tap (one ScatterElements with reduction add per
 * tap pattern; taps outside X weigh 0); dgrid's component along an axis
 * is sum over channels and taps of dy * X[tap] * d weight / d coordinate,
 * times the coordinate's scale (and 0 where border padding clamped it). */
bool grid_sample_grad(op_grad_ctx *c)
{
    if (!fixed_dims(c, og_x(c, 0)) || !fixed_dims(c, og_x(c, 1)))
        return og_none(c, "its dims are not all known when the model is built");
    grid_sample_plan p;
    if (!grid_sample_plan_of(c->g, c->node, &p))
        return og_none(c, "its geometry does not fit");
    if (p.mode != SAMPLE_LINEAR)
        return og_none(c, "only the linear (bilinear) mode has a gradient rule");
    if (p.pad == SAMPLE_PAD_REFLECTION)
        return og_none(c, "reflection padding has no gradient rule");
    int x = og_x(c, 0), grid = og_x(c, 1), dy = og_dy(c, 0), nd = p.nd;
    if (ir_val(c->g, x)->dtype != ir_val(c->g, grid)->dtype)
        return og_none(c, "X and grid have different types");
    int64_t flat_dims[3] = {p.N, 1, p.OP};
    gs_axis ax[NN_MAX_SPATIAL];
    double scale[NN_MAX_SPATIAL];
    for (int i = 0; i < nd; i++) { /* spatial dim i is grid component nd - 1 - i */
        double in = (double)p.in[i];
        int64_t comp = nd - 1 - i;
        int g = og_op2(c, "Gather", grid, og_i64s(c, &comp, 1));
        og_attr_int(c, "axis", -1);
        g = og_op2(c, "Reshape", g, og_i64s(c, flat_dims, 3));
        /* align_corners: (g + 1) (in - 1) / 2, else ((g + 1) in - 1) / 2 */
        scale[i] = p.align_corners ? (in - 1) / 2 : in / 2;
        int at = og_op2(c, "Add", og_op2(c, "Mul", g, og_scalar(c, scale[i], x)), og_scalar(c, (in - 1) / 2, x));
        ax[i].in_range = -1;
        if (p.pad == SAMPLE_PAD_BORDER) {
            ax[i].in_range = f_within(c, at, 0, in - 1);
            at = f_clip(c, at, 0, in - 1);
        }
        int lo = og_op1(c, "Floor", at);
        ax[i].at[0] = lo;
        ax[i].at[1] = og_op2(c, "Add", lo, og_scalar(c, 1, x));
        ax[i].w[1] = og_op2(c, "Sub", at, lo);
        ax[i].w[0] = og_op2(c, "Sub", og_scalar(c, 1, x), ax[i].w[1]);
    }
    int64_t xflat[3] = {p.N, p.C, p.IP}, full[3] = {p.N, p.C, p.OP};
    int dyf = og_op2(c, "Reshape", dy, og_i64s(c, full, 3));
    int xf = c->want[1] ? og_op2(c, "Reshape", x, og_i64s(c, xflat, 3)) : -1;
    int acc = c->want[0] ? og_op2(c, "Expand", og_scalar(c, 0, x), og_i64s(c, xflat, 3)) : -1;
    int dcoord[NN_MAX_SPATIAL];
    for (int i = 0; i < nd; i++)
        dcoord[i] = -1;
    for (int tap = 0; tap < (1 << nd); tap++) {
        int weight = -1, valid = -1, flat = -1;
        int64_t stride = 1;
        for (int i = nd - 1; i >= 0; i--) {
            int b = (tap >> i) & 1, at = ax[i].at[b];
            weight = weight < 0 ? ax[i].w[b] : og_op2(c, "Mul", weight, ax[i].w[b]);
            int ok = f_within(c, at, 0, (double)p.in[i] - 1);
            valid = valid < 0 ? ok : og_op2(c, "Mul", valid, ok);
            int term = og_op2(c, "Mul", f_clip(c, at, 0, (double)p.in[i] - 1), og_scalar(c, (double)stride, x));
            flat = flat < 0 ? term : og_op2(c, "Add", flat, term);
            stride *= p.in[i];
        }
        int index = og_op1(c, "Cast", flat);
        og_attr_int(c, "to", 7); /* int64 */
        index = og_op2(c, "Expand", index, og_i64s(c, full, 3));
        if (acc >= 0) {
            int ins[3] = {acc, index, og_op2(c, "Mul", dyf, og_op2(c, "Mul", weight, valid))};
            acc = og_op(c, "ScatterElements", ins, 3);
            og_attr_int(c, "axis", 2);
            ir_node_add_attr(c->g, c->last, "reduction", IR_ATTR_STRING)->s = hd_xstrdup("add");
        }
        if (xf < 0)
            continue;
        int read = og_op2(c, "GatherElements", xf, index);
        og_attr_int(c, "axis", 2);
        int64_t chan = 1;
        int s = og_axes_op(c, "ReduceSum", og_op2(c, "Mul", og_op2(c, "Mul", read, dyf), valid), &chan, 1);
        og_attr_int(c, "keepdims", 1); /* [N, 1, OP] */
        for (int i = 0; i < nd; i++) { /* d weight / d coordinate i: the other axes' weights, signed */
            int dw = -1;
            for (int j = 0; j < nd; j++)
                if (j != i)
                    dw = dw < 0 ? ax[j].w[(tap >> j) & 1] : og_op2(c, "Mul", dw, ax[j].w[(tap >> j) & 1]);
            int t = dw < 0 ? s : og_op2(c, "Mul", s, dw);
            if (dcoord[i] < 0)
                dcoord[i] = ((tap >> i) & 1) ? t : og_op1(c, "Neg", t);
            else
                dcoord[i] = og_op2(c, ((tap >> i) & 1) ? "Add" : "Sub", dcoord[i], t);
        }
    }
    if (acc >= 0)
        c->dx[0] = og_op2(c, "Reshape", acc, og_shape(c, x));
    if (xf >= 0) {
        int64_t gdims[HODU_MAX_RANK];
        gdims[0] = p.N;
        for (int i = 0; i < nd; i++)
            gdims[i + 1] = p.out[i];
        gdims[nd + 1] = 1;
        int comps[NN_MAX_SPATIAL];
        for (int i = 0; i < nd; i++) {
            int d = og_op2(c, "Mul", dcoord[i], og_scalar(c, scale[i], x));
            if (ax[i].in_range >= 0)
                d = og_op2(c, "Mul", d, ax[i].in_range);
            comps[nd - 1 - i] = og_op2(c, "Reshape", d, og_i64s(c, gdims, (size_t)nd + 2));
        }
        c->dx[1] = nd == 1 ? comps[0] : og_op(c, "Concat", comps, (size_t)nd);
        if (nd > 1)
            og_attr_int(c, "axis", -1);
    }
    return true;
}

/* One RoiAlign axis: sample positions [R, bins, G] (G the most samples per
 * bin), as the forward lowering places them; per sample its two taps'
 * indices and weights, and whether it reads X at all. */
typedef struct ra_axis_taps {
    int lo, hi, wl, wh, ok;
    int g; /* samples per bin: a scalar, or [R, 1, 1] when adaptive */
} ra_axis_taps;

static ra_axis_taps ra_axis_grad(op_grad_ctx *c, int start, int end, int64_t bins, int64_t most, int64_t size,
                                 const roi_align_plan *p)
{
    int x = og_x(c, 0);
    int len = og_op2(c, "Sub", end, start);
    if (!p->half_pixel) /* boxes at least one pixel */
        len = og_op2(c, "Max", len, og_scalar(c, 1, x));
    int bin = og_op2(c, "Div", len, og_scalar(c, (double)bins, x));
    int g = p->sampling > 0 ? og_scalar(c, (double)p->sampling, x)
                            : f_clip(c, og_op1(c, "Ceil", bin), 0, (double)most); /* adaptive */
    double *seq = hd_xcalloc((size_t)(bins > most ? bins : most), sizeof *seq);
    for (int64_t i = 0; i < (bins > most ? bins : most); i++)
        seq[i] = (double)i;
    int b = float_const(c, x, (int64_t[]){1, bins, 1}, 3, seq, bins);
    int s = float_const(c, x, (int64_t[]){1, 1, most}, 3, seq, most);
    free(seq);
    /* start + b bin + (s + 0.5) bin / g */
    int v = og_op2(c, "Add", og_op2(c, "Add", start, og_op2(c, "Mul", b, bin)),
                   og_op2(c, "Div", og_op2(c, "Mul", og_op2(c, "Add", s, og_scalar(c, 0.5, x)), bin), g));
    int used = og_op2(c, "Less", s, g);
    int ins[3] = {used, og_scalar(c, 1, x), og_scalar(c, 0, x)};
    ra_axis_taps t;
    t.g = g;
    t.ok = og_op2(c, "Mul", og_op(c, "Where", ins, 3), f_within(c, v, -1, (double)size));
    v = og_op2(c, "Max", v, og_scalar(c, 0, x));
    int lo = og_op1(c, "Floor", v);
    int top = og_op2(c, "GreaterOrEqual", lo, og_scalar(c, (double)size - 1, x));
    int last = og_scalar(c, (double)size - 1, x);
    int pick[3] = {top, last, lo};
    t.lo = og_op(c, "Where", pick, 3);
    pick[2] = og_op2(c, "Add", lo, og_scalar(c, 1, x));
    t.hi = og_op(c, "Where", pick, 3);
    pick[2] = v;
    t.wl = og_op2(c, "Sub", og_op(c, "Where", pick, 3), t.lo);
    t.wh = og_op2(c, "Sub", og_scalar(c, 1, x), t.wl);
    return t;
}

/* RoiAlign, avg mode, with respect to X: every sample adds dy / count
 * times its bilinear weights into its four taps of X[batch index].  The
 * samples are laid out [R, OH, OW, GY, GX] (G: the sampling ratio, or the
 * most an adaptive bin may take, the unused ones weighing 0) and scattered
 * into X viewed as [C, N H W], one ScatterElements per tap. */
bool roi_align_grad(op_grad_ctx *c)
{
    if (!fixed_dims(c, og_x(c, 0)) || !fixed_dims(c, og_x(c, 1)))
        return og_none(c, "its dims are not all known when the model is built");
    roi_align_plan p;
    if (!roi_align_plan_of(c->g, c->node, &p))
        return og_none(c, "its geometry does not fit");
    if (c->want[1])
        return og_none(c, "rois have no gradient rule");
    if (p.max)
        return og_none(c, "the max mode has no gradient rule");
    int x = og_x(c, 0), rois = og_x(c, 1);
    int64_t gy = p.sampling > 0 ? p.sampling : p.grid_max_h, gx = p.sampling > 0 ? p.sampling : p.grid_max_w;
    int box[4]; /* [R, 1, 1] each: x1, y1, x2, y2, scaled and shifted */
    for (int64_t i = 0; i < 4; i++) {
        int v = og_op2(c, "Gather", rois, og_i64s(c, &i, 1));
        og_attr_int(c, "axis", 1);
        v = og_op2(c, "Mul", og_op2(c, "Reshape", v, og_i64s(c, (int64_t[]){p.R, 1, 1}, 3)),
                   og_scalar(c, (double)(float)p.scale, x));
        box[i] = p.half_pixel ? og_op2(c, "Sub", v, og_scalar(c, 0.5, x)) : v;
    }
    ra_axis_taps ty = ra_axis_grad(c, box[1], box[3], p.OH, gy, p.H, &p);
    ra_axis_taps tx = ra_axis_grad(c, box[0], box[2], p.OW, gx, p.W, &p);
    int64_t ydims[5] = {p.R, p.OH, 1, gy, 1}, xdims[5] = {p.R, 1, p.OW, 1, gx};
#define AS_Y(v) og_op2(c, "Reshape", v, og_i64s(c, ydims, 5))
#define AS_X(v) og_op2(c, "Reshape", v, og_i64s(c, xdims, 5))
    /* per box: the batch entry (one outside [0, N) reads nothing) and
     * 1 / the sample count */
    int bi = og_op1(c, "Cast", og_x(c, 2));
    og_attr_int(c, "to", ir_val(c->g, x)->dtype == HODU_DTYPE_F64 ? 11 : 1);
    bi = og_op2(c, "Reshape", bi, og_i64s(c, (int64_t[]){p.R, 1, 1, 1, 1}, 5));
    int in_batch = f_within(c, bi, 0, (double)p.N - 1);
    bi = f_clip(c, bi, 0, (double)p.N - 1);
    int count = og_op2(c, "Max", og_op2(c, "Mul", ty.g, tx.g), og_scalar(c, 1, x));
    if (p.sampling == 0)
        count = og_op2(c, "Reshape", count, og_i64s(c, (int64_t[]){p.R, 1, 1, 1, 1}, 5));
    int scale = og_op2(c, "Div", in_batch, count); /* [R, 1, 1, 1, 1] */
    int64_t m = p.R * p.OH * p.OW * gy * gx, plane = p.H * p.W;
    int dy = og_op1(c, "Transpose", og_dy(c, 0)); /* [C, R, OH, OW] */
    og_attr_ints(c, "perm", (int64_t[]){1, 0, 2, 3}, 4);
    dy = og_op2(c, "Reshape", dy, og_i64s(c, (int64_t[]){p.C, p.R, p.OH, p.OW, 1, 1}, 6));
    int acc = og_op2(c, "Expand", og_scalar(c, 0, x), og_i64s(c, (int64_t[]){p.C, p.N * plane}, 2));
    int base = og_op2(c, "Mul", bi, og_scalar(c, (double)plane, x));
    for (int tap = 0; tap < 4; tap++) {
        bool yhi = tap >> 1, xhi = tap & 1;
        int wy = AS_Y(og_op2(c, "Mul", yhi ? ty.wl : ty.wh, ty.ok));
        int wx = AS_X(og_op2(c, "Mul", xhi ? tx.wl : tx.wh, tx.ok));
        int w = og_op2(c, "Mul", og_op2(c, "Mul", wy, wx), scale);
        int row = AS_Y(og_op2(c, "Mul", yhi ? ty.hi : ty.lo, og_scalar(c, (double)p.W, x)));
        int flat = og_op2(c, "Add", og_op2(c, "Add", base, row), AS_X(xhi ? tx.hi : tx.lo));
        int index = og_op1(c, "Cast", flat);
        og_attr_int(c, "to", 7); /* int64 */
        index = og_op2(c, "Expand", og_op2(c, "Reshape", index, og_i64s(c, (int64_t[]){1, m}, 2)),
                       og_i64s(c, (int64_t[]){p.C, m}, 2));
        int upd = og_op2(c, "Reshape", og_op2(c, "Mul", dy, w), og_i64s(c, (int64_t[]){p.C, m}, 2));
        int ins[3] = {acc, index, upd};
        acc = og_op(c, "ScatterElements", ins, 3);
        og_attr_int(c, "axis", 1);
        ir_node_add_attr(c->g, c->last, "reduction", IR_ATTR_STRING)->s = hd_xstrdup("add");
    }
#undef AS_Y
#undef AS_X
    acc = og_op2(c, "Reshape", acc, og_i64s(c, (int64_t[]){p.C, p.N, p.H, p.W}, 4));
    c->dx[0] = og_op1(c, "Transpose", acc);
    og_attr_ints(c, "perm", (int64_t[]){1, 0, 2, 3}, 4);
    return true;
}
