/*
 * ops/nn_sample_grad.c - gradient rules of the sampling ops (ops.h,
 * "gradient rules"): AffineGrid, Col2Im and CenterCropPad.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ops_impl.h"
#include "sample.h"

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
