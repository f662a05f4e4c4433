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
